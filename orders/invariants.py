"""The money invariants of SPEC §5, checked over the whole database.

Used by `manage.py check_ledger` and by the tests after every money operation.
Sums and rounding are done in Python with Decimal (SQLite would add in floating
point); the rest are joins the database answers from its indexes.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery

from orders.models import (
    FINAL_STATUSES,
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from orders.money import order_amount

CHUNK = 20_000
# How many offending rows a check names; it still counts them all.
NAMED = 20


@dataclass
class CheckResult:
    invariant: str
    title: str
    examined: int = 0
    offenders: list[str] = field(default_factory=list)
    violations: int = 0
    seconds: float = 0.0

    def offend(self, description: str) -> None:
        self.violations += 1
        if len(self.offenders) < NAMED:
            self.offenders.append(description)

    @property
    def ok(self) -> bool:
        return self.violations == 0


def _from_queryset(result: CheckResult, queryset, describe: Callable[[object], str]) -> CheckResult:
    for row in queryset.iterator(chunk_size=CHUNK):
        result.offend(describe(row))
    return result


def check_ledger_chain() -> CheckResult:
    """I1: each customer's ledger chains (balance_after = previous + amount) and sums to the balance."""
    result = CheckResult("I1", "balance equals the sum of the ledger; balance_after chains")
    running: dict[int, tuple] = {}
    rows = LedgerEntry.objects.order_by("customer_id", "id").values_list(
        "customer_id", "entry_no", "amount", "balance_after"
    )
    for customer_id, entry_no, amount, balance_after in rows.iterator(chunk_size=CHUNK):
        result.examined += 1
        previous = running.get(customer_id, 0)
        if previous + amount != balance_after:
            result.offend(
                f"ledger entry {entry_no} (customer {customer_id}): {previous} + {amount} "
                f"should be {previous + amount}, balance_after says {balance_after}"
            )
        running[customer_id] = balance_after
    customers = Customer.objects.order_by("id").values_list("id", "user__username", "balance")
    for customer_id, username, balance in customers.iterator(chunk_size=CHUNK):
        ledger = running.get(customer_id, 0)
        if balance != ledger:
            result.offend(f"customer {customer_id} ({username}): balance {balance}, ledger says {ledger}")
    return result


def check_balances_not_negative() -> CheckResult:
    """I2: no balance below zero."""
    result = CheckResult("I2", "balances are never negative")
    result.examined = Customer.objects.count()
    return _from_queryset(
        result,
        Customer.objects.filter(balance__lt=0).values_list("id", "balance"),
        lambda row: f"customer {row[0]}: balance {row[1]}",
    )


def _payment(kind: str, **extra):
    return Payment.objects.filter(order=OuterRef("pk"), kind=kind, **extra)


def _entry(kind: str, **extra):
    return LedgerEntry.objects.filter(order=OuterRef("pk"), kind=kind, **extra)


def check_charges_and_refunds() -> CheckResult:
    """I3: one charge and one refund at most; a refund equals the charge; only a charged order is refunded."""
    result = CheckResult("I3", "one charge, at most one refund equal to it, only for charged orders")
    charged = Exists(_payment(PaymentKind.CHARGE, status=PaymentStatus.SUCCEEDED))
    charge_amount = Subquery(
        _payment(PaymentKind.CHARGE, status=PaymentStatus.SUCCEEDED).values("amount")[:1]
    )
    refunded = Exists(_payment(PaymentKind.REFUND))
    orders = Order.objects.annotate(charged=charged, refunded=refunded, charge_amount=charge_amount)
    result.examined = Order.objects.count()
    problems = [
        (
            orders.filter(status__in=[OrderStatus.PENDING, OrderStatus.RUNNING, OrderStatus.COMPLETED])
            .filter(charged=False),
            "is {status} but was never charged",
        ),
        (orders.filter(charged=True).exclude(charge_amount=F("amount")), "charge differs from its amount"),
        (orders.filter(refunded=True, charged=False), "was refunded without a charge"),
        (
            orders.filter(refunded=True).exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.FAILED]),
            "is {status} but was refunded",
        ),
        (
            orders.filter(status__in=[OrderStatus.CANCELLED, OrderStatus.FAILED], charged=True, refunded=False),
            "is {status} and charged but was never refunded",
        ),
        (
            orders.filter(refunded=True).exclude(
                Exists(_payment(PaymentKind.REFUND, amount=OuterRef("charge_amount")))
            ),
            "refund differs from its charge",
        ),
        (
            orders.filter(
                Exists(_payment(PaymentKind.CHARGE, status=PaymentStatus.SUCCEEDED, method=PaymentMethod.BALANCE))
            ).exclude(Exists(_entry(LedgerKind.CHARGE, amount=-1 * OuterRef("charge_amount")))),
            "balance charge has no matching ledger entry",
        ),
        (
            orders.filter(refunded=True).exclude(
                Exists(_entry(LedgerKind.REFUND, amount=OuterRef("charge_amount")))
            ),
            "refund has no matching ledger entry",
        ),
    ]
    for queryset, problem in problems:
        for order_no, status in queryset.values_list("order_no", "status").iterator(chunk_size=CHUNK):
            result.offend(f"order {order_no} " + problem.format(status=status))
    duplicates = [
        (Payment.objects.values("order_id", "kind"), "payments"),
        (LedgerEntry.objects.filter(order__isnull=False).values("order_id", "kind"), "ledger entries"),
    ]
    for grouped, what in duplicates:
        for row in grouped.annotate(n=Count("id")).filter(n__gt=1).order_by().iterator(chunk_size=CHUNK):
            result.offend(f"order id {row['order_id']} has {row['n']} {row['kind']} {what}")
    return result


def check_ledger_append_only() -> CheckResult:
    """I4: the database refuses to update (and on PostgreSQL delete) ledger rows."""
    result = CheckResult("I4", "ledger rows are never updated or deleted (trigger installed)")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'orders_ledger_append_only' AND tgenabled <> 'D'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'orders_ledger_append_only'"
            )
        (installed,) = cursor.fetchone()
    result.examined = 1
    if not installed:
        result.offend("the append-only trigger on orders_ledgerentry is missing or disabled")
    return result


def check_final_orders() -> CheckResult:
    """I5: nothing moves out of a final status, and each order's timeline ends at its status."""
    result = CheckResult("I5", "final orders never change; the timeline ends at the order's status")
    result.examined = Order.objects.count()
    _from_queryset(
        result,
        OrderEvent.objects.filter(from_status__in=FINAL_STATUSES).values_list(
            "order__order_no", "from_status", "to_status"
        ),
        lambda row: f"order {row[0]} moved from final status {row[1]} to {row[2]}",
    )
    last_event = OrderEvent.objects.filter(order=OuterRef("pk")).order_by("-at", "-id").values("to_status")[:1]
    _from_queryset(
        result,
        Order.objects.annotate(last=Subquery(last_event))
        .filter(~Q(last=F("status")) | Q(last__isnull=True))
        .values_list("order_no", "status", "last"),
        lambda row: f"order {row[0]} is {row[1]} but its timeline ends at {row[2]}",
    )
    _from_queryset(
        result,
        Order.objects.filter(status__in=FINAL_STATUSES, finished_at__isnull=True).values_list(
            "order_no", "status"
        ),
        lambda row: f"order {row[0]} is {row[1]} without a finish time",
    )
    return result


def check_order_amounts() -> CheckResult:
    """I6: amount == round(unit_price × quantity × percent / 100); list_amount == unit_price × quantity."""
    result = CheckResult("I6", "each charge is unit price × quantity × level percent, rounded")
    rows = Order.objects.order_by("id").values_list(
        "order_no", "unit_price", "quantity", "percent", "list_amount", "amount"
    )
    for order_no, unit_price, quantity, percent, list_amount, amount in rows.iterator(chunk_size=CHUNK):
        result.examined += 1
        expected = order_amount(unit_price=unit_price, quantity=quantity, percent=percent)
        if amount != expected or list_amount != unit_price * quantity:
            result.offend(
                f"order {order_no}: {unit_price} × {quantity} × {percent}% should charge {expected}, "
                f"charged {amount} (list amount {list_amount})"
            )
    return result


CHECKS: list[Callable[[], CheckResult]] = [
    check_ledger_chain,
    check_balances_not_negative,
    check_charges_and_refunds,
    check_ledger_append_only,
    check_final_orders,
    check_order_amounts,
]


def run_checks() -> Iterator[CheckResult]:
    for check in CHECKS:
        started = time.monotonic()
        result = check()
        result.seconds = time.monotonic() - started
        yield result
