"""An admin's top-ups and deductions of a customer's balance.

Each is one ledger entry, written under the customer's lock with the compare-and-set
of `_move_balance`. The idempotency key is scoped to the customer and stored on the
entry (`balance:<customer id>:<key>`), so a repeat finds the first entry.
"""

from decimal import Decimal

from django.db import transaction

from dashboard.accounts.audit import AuditAction, audit_record
from orders.errors import IdempotencyConflict
from orders.models import Customer, LedgerEntry, LedgerKind
from orders.services.ledger import (
    Actor,
    _check_idempotency_key,
    _check_text,
    _lock_customer,
    _positive_money,
    _write_ledger,
)


def _balance_change(
    *,
    kind: str,
    customer: Customer,
    amount: Decimal,
    memo: str,
    idempotency_key: str,
    actor: Actor,
) -> LedgerEntry:
    amount = _positive_money(amount)
    _check_idempotency_key(idempotency_key)
    _check_text(memo, field="memo", max_length=LedgerEntry._meta.get_field("memo").max_length)
    signed = amount if kind == LedgerKind.TOP_UP else -amount
    # Keys are scoped to the customer: another customer's key never collides.
    key = f"balance:{customer.pk}:{idempotency_key}"
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        previous = LedgerEntry.objects.filter(idempotency_key=key).first()
        if previous is not None:
            if (previous.kind, previous.amount, previous.memo) != (kind, signed, memo):
                raise IdempotencyConflict
            return previous
        entry = _write_ledger(customer=locked, kind=kind, amount=signed, idempotency_key=key, actor=actor, memo=memo)
        audit_record(
            actor=actor,
            action=AuditAction.TOP_UP if kind == LedgerKind.TOP_UP else AuditAction.DEDUCTION,
            target=locked,
            changes={"balance": [str(entry.balance_after - signed), str(entry.balance_after)]},
            detail=f"{entry.entry_no}: {memo}" if memo else entry.entry_no,
        )
        return entry


def balance_top_up(
    *, customer: Customer, amount: Decimal, memo: str = "", idempotency_key: str, actor: Actor
) -> LedgerEntry:
    return _balance_change(
        kind=LedgerKind.TOP_UP,
        customer=customer,
        amount=amount,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
    )


def balance_deduct(
    *, customer: Customer, amount: Decimal, memo: str = "", idempotency_key: str, actor: Actor
) -> LedgerEntry:
    """Refused with InsufficientBalance, writing nothing, if the balance is short."""
    return _balance_change(
        kind=LedgerKind.DEDUCT,
        customer=customer,
        amount=amount,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
    )
