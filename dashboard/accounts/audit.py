"""The audit trail: who did what to which object, from where and when; one
append-only row each (`AuditEntry`), written by the service that does the thing,
inside its transaction, so an action and its entry commit or roll back together.

The client address is not an argument of every service: the request's is set for
the duration of each request by `AuditAddressMiddleware` (and by `client_address`
for work done later on a request's behalf, such as a bulk action's batches), and
every entry written meanwhile carries it.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from dashboard.accounts.models import AuditEntry

_client_address: ContextVar[str | None] = ContextVar("audit_client_address", default=None)


class AuditAction(models.TextChoices):
    """Every action the trail records: the one vocabulary of its Action filter."""

    SIGNED_IN = "sign_in.succeeded", "Signed in"
    SIGN_IN_FAILED = "sign_in.failed", "Sign-in failed"
    SIGNED_OUT_EVERYWHERE = "account.signed_out_everywhere", "Signed out everywhere"
    DEACTIVATED = "account.deactivated", "Account deactivated"
    ACTIVATED = "account.activated", "Account activated"
    SMS_UNLOCKED = "sms_sign_in.unlocked", "SMS sign-in unlocked"
    SECOND_FACTOR_RESET = "second_factor.reset", "Second factor reset"
    SECOND_FACTOR_DISABLED = "second_factor.disabled", "Second factor turned off"
    TOP_UP = "balance.top_up", "Balance topped up"
    DEDUCTION = "balance.deduct", "Balance deducted"
    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_EDITED = "customer.edited", "Customer edited"
    LEVEL_CREATED = "level.created", "Level created"
    LEVEL_EDITED = "level.edited", "Level edited"
    LEVEL_DELETED = "level.deleted", "Level deleted"
    PRODUCT_CREATED = "product.created", "Product created"
    PRODUCT_EDITED = "product.edited", "Product edited"
    PRODUCT_DELETED = "product.deleted", "Product deleted"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    ORDER_REFUNDED = "order.refunded", "Order refunded"
    ORDER_NOTED = "order.noted", "Note added"
    ORDER_REORDERED = "order.reordered", "Order placed again"
    BULK_STARTED = "bulk.started", "Bulk action started"
    SAVED_VIEW_SHARED = "saved_view.shared", "Saved view shared"
    SAVED_VIEW_UNSHARED = "saved_view.unshared", "Saved view no longer shared"


@contextmanager
def client_address(address: str | None) -> Iterator[None]:
    """Entries written inside carry `address` as their client address."""
    token = _client_address.set(address)
    try:
        yield
    finally:
        _client_address.reset(token)


def current_client_address() -> str | None:
    """The client address entries written now carry (work recorded to be done later keeps it)."""
    return _client_address.get()


def changes_between(before: Mapping, after: Mapping) -> dict[str, list[str]]:
    """`{field: [before, after]}` for each field of `after` whose value differs, as text."""
    return {
        field: [_text(before.get(field)), _text(value)]
        for field, value in after.items()
        if _text(before.get(field)) != _text(value)
    }


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model | None = None,
    target_repr: str | None = None,
    changes: Mapping[str, list[str]] | None = None,
    detail: str = "",
) -> AuditEntry:
    """Write one entry. `target` is the object acted on (any model instance); its name
    at the time is `target_repr`, by default the username of a user or `str(target)`."""
    is_user = isinstance(target, get_user_model())
    if target_repr is None:
        target_repr = "" if target is None else target.get_username() if is_user else str(target)
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=target._meta.model_name if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        target_user=target if is_user else None,
        target_repr=target_repr[:200],
        changes=dict(changes or {}),
        detail=detail,
        client_address=_client_address.get(),
    )
