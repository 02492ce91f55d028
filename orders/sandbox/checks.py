from django.core import checks


def sandbox_is_not_for_production(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """`check --deploy` warns for as long as the sandbox is installed: it settles card
    and ATM payments that no provider has seen, so its orders are paid with nothing."""
    return [
        checks.Warning(
            "The sandbox payment gateway is enabled (PAYMENT_GATEWAY=sandbox): card and ATM payments are "
            "simulated and approve orders without money.",
            hint="Unset PAYMENT_GATEWAY (balance payments only) or set it to a real provider.",
            id="orders.sandbox.W001",
        )
    ]
