"""Card and ATM payments through an external gateway (PAYMENT_GATEWAY).

A gateway creates a payment (a token, and a pay URL for cards or an account number
for ATM transfers), verifies the signed callback it sends when the payment settles,
and answers status queries. `base.Gateway` is the interface; the sandbox
(`orders.sandbox`, an app of its own) runs inside the app for demos.

No gateway is active unless PAYMENT_GATEWAY names one (with debug off it is empty by
default): then customers pay from their balance only.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from orders.models import PaymentMethod

ALIASES = {"sandbox": "orders.sandbox.gateway.SandboxGateway"}


def get_gateway():
    """The active gateway, or None when none is configured."""
    name = settings.PAYMENT_GATEWAY
    if not name:
        return None
    try:
        gateway_class = import_string(ALIASES.get(name, name))
    except ImportError as exc:
        raise ImproperlyConfigured(f"PAYMENT_GATEWAY={name!r} is not a gateway.") from exc
    return gateway_class()


def active_methods() -> list[PaymentMethod]:
    """The ways a customer can pay now: the balance, and what the active gateway takes."""
    gateway = get_gateway()
    return [PaymentMethod.BALANCE, *(gateway.methods if gateway else ())]
