"""The primitives the services share: none is a service of its own.

Each runs inside its caller's transaction. `_lock_customer` and `_transition` take
the row locks, in the order the package's docstring gives (order before customer);
`_move_balance` is the only place a balance changes, and `_write_ledger` the only
place it changes with its ledger entry.
"""

from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from orders.errors import ConcurrentUpdate, IllegalTransition, InsufficientBalance, InvalidAmount, InvalidRequest
from orders.models import (
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from orders.money import MAX_MONEY, round_money
from orders.references import new_entry_no, new_payment_no

Actor = AbstractBaseUser | None

# What the column holds; a longer key is refused here with a clear error rather than
# by the database (PostgreSQL raises, SQLite would store it).
IDEMPOTENCY_KEY_MAX = Order._meta.get_field("idempotency_key").max_length


def _check_text(value: str, *, field: str, max_length: int, required: bool = False) -> None:
    if required and not value.strip():
        raise InvalidRequest(f"The {field} is required.")
    if len(value) > max_length:
        raise InvalidRequest(f"The {field} is too long: at most {max_length} characters.")


def _check_idempotency_key(idempotency_key: str) -> None:
    _check_text(idempotency_key, field="idempotency key", max_length=IDEMPOTENCY_KEY_MAX, required=True)


def _positive_money(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount
    rounded = round_money(amount)
    if rounded != amount or not 0 < rounded <= MAX_MONEY:
        raise InvalidAmount(f"Enter an amount between 0.01 and {MAX_MONEY} with at most two decimal places.")
    return rounded


def _lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update(of=("self",)).select_related("level").get(pk=customer_id)


def _move_balance(customer: Customer, delta: Decimal) -> Decimal:
    """Adds `delta` (signed) to a locked customer's balance and returns the new balance.

    The sum is computed here, in Decimal, and written with a compare-and-set
    (`WHERE balance = <the balance read under the lock>`): SQLite would evaluate
    `balance + delta` in floating point, and the condition keeps the write correct
    even where the lock is a no-op. The CHECK constraint is the last line behind it.
    """
    new_balance = customer.balance + delta
    if new_balance < 0:
        raise InsufficientBalance
    if new_balance > MAX_MONEY:
        raise InvalidAmount(f"The balance cannot exceed {MAX_MONEY}.")
    swapped = Customer.objects.filter(pk=customer.pk, balance=customer.balance).update(balance=new_balance)
    if swapped != 1:
        raise ConcurrentUpdate
    customer.balance = new_balance
    return new_balance


def _write_ledger(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    actor: Actor,
    memo: str = "",
    order: Order | None = None,
) -> LedgerEntry:
    balance_after = _move_balance(customer, amount)
    return LedgerEntry.objects.create(
        entry_no=new_entry_no(),
        customer=customer,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        order=order,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
    )


def _transition(
    order: Order,
    *,
    expected: str,
    to: str,
    actor: Actor,
    note: str = "",
    worker_id: str | None = None,
    **changes,
) -> Order:
    """Moves a locked order from `expected` to `to` with a conditional update and an event.

    The status is read again under the lock: the caller's copy may be stale. With
    `worker_id`, only the agent that holds the order's claim may move it.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if (
        locked.status != expected
        or not locked.can_transition_to(to)
        or (worker_id is not None and locked.claimed_by != worker_id)
    ):
        raise IllegalTransition(
            f"Order {locked.order_no} is {locked.get_status_display().lower()}; it cannot become {to}."
        )
    guard = Order.objects.filter(pk=locked.pk, status=locked.status)
    if worker_id is not None:
        guard = guard.filter(claimed_by=worker_id)
    if guard.update(status=to, updated_at=timezone.now(), **changes) != 1:
        raise IllegalTransition(f"Order {locked.order_no} changed meanwhile; try again.")
    OrderEvent.objects.create(order=locked, from_status=locked.status, to_status=to, actor=actor, note=note[:500])
    locked.refresh_from_db()
    return locked


def _refund(order: Order, *, actor: Actor, memo: str) -> None:
    """Returns an order's charge to the customer's balance (store credit), once (I3)."""
    charge = Payment.objects.filter(order=order, kind=PaymentKind.CHARGE, status=PaymentStatus.SUCCEEDED).first()
    if charge is None:
        return
    customer = _lock_customer(order.customer_id)
    Payment.objects.create(
        payment_no=new_payment_no(),
        order=order,
        method=PaymentMethod.BALANCE,
        kind=PaymentKind.REFUND,
        status=PaymentStatus.SUCCEEDED,
        amount=charge.amount,
    )
    _write_ledger(
        customer=customer,
        kind=LedgerKind.REFUND,
        amount=charge.amount,
        idempotency_key=f"order:{order.order_no}:refund",
        actor=actor,
        memo=memo,
        order=order,
    )
