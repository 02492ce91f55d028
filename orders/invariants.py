"""The money invariants of docs/invariants.md, checked over the whole database.

Used by `manage.py check_ledger` and by the tests after every money operation.
Sums and rounding are done in Python with Decimal (SQLite would add in floating
point); the rest are joins the database answers from its indexes.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery

from orders.models import (
    FINAL_STATUSES,
    REFUNDED_STATUSES,
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


def _by_order(rows) -> Iterator[tuple[int, list[tuple]]]:
    """Groups a stream of (order_id, …) rows sorted by order_id."""
    for order_id, group in groupby(rows.iterator(chunk_size=CHUNK), key=itemgetter(0)):
        yield order_id, list(group)


def _order_money_problems(status, amount, payments, entries) -> Iterator[str]:
    charges = [p for p in payments if p[1] == PaymentKind.CHARGE]
    refunds = [p for p in payments if p[1] == PaymentKind.REFUND]
    paid = [p for p in charges if p[2] == PaymentStatus.SUCCEEDED]
    ledger_charges = [e for e in entries if e[1] == LedgerKind.CHARGE]
    ledger_refunds = [e for e in entries if e[1] == LedgerKind.REFUND]
    for rows, what in (
        (charges, "charge payments"),
        (refunds, "refund payments"),
        (ledger_charges, "charge ledger entries"),
        (ledger_refunds, "refund ledger entries"),
    ):
        if len(rows) > 1:
            yield f"has {len(rows)} {what}"
    if status in (OrderStatus.PENDING, OrderStatus.RUNNING, OrderStatus.COMPLETED, OrderStatus.REFUNDED) and not paid:
        yield f"is {status} but was never charged"
    if paid and paid[0][4] != amount:
        yield f"charge {paid[0][4]} differs from its amount {amount}"
    if refunds and not paid:
        yield "was refunded without a charge"
    if refunds and status not in REFUNDED_STATUSES:
        yield f"is {status} but was refunded"
    if status in REFUNDED_STATUSES and paid and not refunds:
        yield f"is {status} and charged but was never refunded"
    if refunds and paid and refunds[0][4] != paid[0][4]:
        yield f"refund {refunds[0][4]} differs from its charge {paid[0][4]}"
    balance_charge = paid and paid[0][3] == PaymentMethod.BALANCE
    if balance_charge and [e[2] for e in ledger_charges] != [-paid[0][4]]:
        yield "balance charge has no matching ledger entry"
    if ledger_charges and not balance_charge:
        yield "has a ledger charge without a balance charge payment"
    if [e[2] for e in ledger_refunds] != [r[4] for r in refunds[:1]]:
        yield "refund payment and refund ledger entry disagree"


def check_charges_and_refunds() -> CheckResult:
    """I3: one charge and one refund at most; a refund equals the charge; only a charged order is refunded.

    A merge join of three streams sorted by order id: on a million orders this takes
    seconds, where correlated subqueries took many minutes.
    """
    result = CheckResult("I3", "one charge, at most one refund equal to it, only for charged orders")
    orders = Order.objects.order_by("id").values_list("id", "order_no", "status", "amount")
    payments = _by_order(
        Payment.objects.order_by("order_id", "id").values_list("order_id", "kind", "status", "method", "amount")
    )
    entries = _by_order(
        LedgerEntry.objects.filter(order__isnull=False)
        .order_by("order_id", "id")
        .values_list("order_id", "kind", "amount")
    )
    next_payments, next_entries = next(payments, None), next(entries, None)
    for order_id, order_no, status, amount in orders.iterator(chunk_size=CHUNK):
        result.examined += 1
        order_payments = order_entries = []
        if next_payments and next_payments[0] == order_id:
            order_payments, next_payments = next_payments[1], next(payments, None)
        if next_entries and next_entries[0] == order_id:
            order_entries, next_entries = next_entries[1], next(entries, None)
        for problem in _order_money_problems(status, amount, order_payments, order_entries):
            result.offend(f"order {order_no} {problem}")
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
        Order.objects.filter(status__in=FINAL_STATUSES, finished_at__isnull=True).values_list("order_no", "status"),
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
