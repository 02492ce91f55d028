"""Card and ATM payments through an external gateway (PAYMENT_GATEWAY).

A gateway creates a payment (a token, and a pay URL for cards or an account number
for ATM transfers), verifies the signed callback it sends when the payment settles,
and answers status queries. `base.Gateway` is the interface; `sandbox` runs inside
the app for demos and tests.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

ALIASES = {"sandbox": "orders.gateways.sandbox.SandboxGateway"}


def get_gateway(provider: str | None = None):
    name = provider or settings.PAYMENT_GATEWAY
    try:
        gateway_class = import_string(ALIASES.get(name, name))
    except ImportError as exc:
        raise ImproperlyConfigured(f"PAYMENT_GATEWAY={name!r} is not a gateway.") from exc
    return gateway_class()
