"""Every read the sandbox's pages make."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404
from django.shortcuts import get_object_or_404

from orders import selectors
from orders.models import PaymentMethod
from orders.sandbox.models import SandboxCharge


def card_charge_of(user: AbstractBaseUser, token: str) -> SandboxCharge:
    """The card charge behind `token`, for the signed-in owner of its order only: anyone
    else, admins included, gets a 404."""
    owned = selectors.payments_visible_to(user).filter(provider_token=token, order__customer__user=user)
    if not owned.exists():
        raise Http404("No such card payment.")
    return get_object_or_404(SandboxCharge, token=token, method=PaymentMethod.CARD)


def atm_charge_pending(token: str) -> SandboxCharge:
    return get_object_or_404(SandboxCharge, token=token, method=PaymentMethod.ATM, status=SandboxCharge.PENDING)


def atm_charges_pending(count: int = 100) -> list[SandboxCharge]:
    """The ATM transfers awaiting payment, newest first."""
    pending = SandboxCharge.objects.filter(method=PaymentMethod.ATM, status=SandboxCharge.PENDING)
    return list(pending.order_by("-created_at")[:count])
