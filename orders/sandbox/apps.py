from django.apps import AppConfig
from django.core import checks


class SandboxConfig(AppConfig):
    name = "orders.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox payments"

    def ready(self) -> None:
        from orders.sandbox.checks import sandbox_is_not_for_production

        checks.register(sandbox_is_not_for_production, checks.Tags.security, deploy=True)
