from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        # Importing the module registers its deployment checks.
        from dashboard import checks  # noqa: F401
