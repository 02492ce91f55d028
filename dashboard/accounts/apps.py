from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dashboard.accounts"
    # The label this app had when accounts were modules of the project package: its
    # tables (dashboard_usersession, …), migration history and permissions keep it.
    label = "dashboard"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Importing the module registers its deployment checks.
        from dashboard.accounts import checks  # noqa: F401
