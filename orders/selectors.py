"""Every read a view makes starts here, from a queryset scoped to the user.

A customer's querysets are filtered to their own rows before anything else, so a
view cannot reach another customer's object by id (it gets a 404).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Case, CharField, Count, F, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from orders.models import (
    Agent,
    BulkAction,
    BulkKind,
    BulkOutcome,
    Customer,
    LedgerEntry,
    Level,
    Order,
    OrderNote,
    OrderStatus,
    Payment,
    Product,
)
from orders.money import round_money
from orders.references import reference


def sees_everything(user: AbstractBaseUser) -> bool:
    return user.has_perm("orders.view_all_orders")


# Who acted, as a customer is told: their own name, "Support" for any member of staff,
# "Fulfilment" for an agent. Staff usernames and agents' names (host names: a map of
# the operator's machines) are for admins.
SUPPORT = "Support"
FULFILMENT = "Fulfilment"
# Where orders/services/fulfilment.py names the agent in an order's notes and last error.
_AGENT_NAMED = re.compile(r"\b(Claimed by|Completed by|Released by|[Ff]ailed on|The lease of) [^\s:]+")


def _actor_name(viewer: AbstractBaseUser, field: str = "actor"):
    """An expression: the username in `field` as `viewer` may see it; None where the system acted."""
    if sees_everything(viewer):
        return F(f"{field}__username")
    return Case(
        When(**{field: viewer.pk}, then=F(f"{field}__username")),
        When(**{f"{field}__isnull": False}, then=Value(SUPPORT)),
        default=None,
        output_field=CharField(),
    )


def _agents_named_for(viewer: AbstractBaseUser, text: str) -> str:
    """`text` with every agent's name in it as `viewer` may see it."""
    if sees_everything(viewer):
        return text
    return _AGENT_NAMED.sub(rf"\1 {FULFILMENT}", text)


def customer_for(user: AbstractBaseUser) -> Customer | None:
    return Customer.objects.select_related("level").filter(user=user).first()


def orders_visible_to(user: AbstractBaseUser):
    orders = Order.objects.select_related("customer__user", "customer__level", "product")
    if sees_everything(user):
        return orders
    return orders.filter(customer__user=user)


def order_get_for(user: AbstractBaseUser, order_no: str) -> Order:
    return get_object_or_404(orders_visible_to(user), order_no=order_no)


def order_find_exact(user: AbstractBaseUser, q: str) -> Order | None:
    """The order whose number `q` is (as typed: any case, spaces around), if `user` sees it."""
    return orders_visible_to(user).filter(order_no=reference(q)).first()


def orders_numbered(user: AbstractBaseUser, numbers: list[str]) -> list[Order]:
    """The orders among `numbers` that `user` sees; the others are left out."""
    return list(orders_visible_to(user).filter(order_no__in=numbers))


def orders_recent_of(customer: Customer, viewer: AbstractBaseUser, *, count: int = 5) -> list[Order]:
    """The customer's last `count` orders, newest first, as `viewer` may see them."""
    return list(orders_visible_to(viewer).filter(customer=customer).order_by("-created_at", "-id")[:count])


def ledger_of(customer: Customer, viewer: AbstractBaseUser):
    """The customer's ledger entries, as `viewer` may see them."""
    return ledger_visible_to(viewer).filter(customer=customer)


def level_get(pk: int) -> Level:
    return get_object_or_404(Level, pk=pk)


def product_get(pk: int) -> Product:
    return get_object_or_404(Product, pk=pk)


def payments_visible_to(user: AbstractBaseUser):
    payments = Payment.objects.select_related("order__customer", "order__product")
    if sees_everything(user):
        return payments
    return payments.filter(order__customer__user=user)


def ledger_visible_to(user: AbstractBaseUser):
    entries = LedgerEntry.objects.select_related("customer", "order").annotate(actor_name=_actor_name(user))
    if sees_everything(user):
        return entries
    return entries.filter(customer__user=user)


# Orders whose charge the business keeps (or will keep): not cancelled, not failed.
KEPT_STATUSES = (OrderStatus.PENDING, OrderStatus.RUNNING, OrderStatus.COMPLETED)
# Finished days change only when an order of theirs is cancelled or fails, so their
# totals may be this many seconds old; today's are always counted afresh.
PAST_DAYS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class DayTotals:
    day: date
    orders: int = 0
    revenue: Decimal = Decimal("0.00")
    by_status: dict[str, int] = field(default_factory=dict)


def _day_totals(start: datetime, end: datetime) -> dict[date, DayTotals]:
    """Orders placed in [start, end), per local day: count, revenue (kept charges) and statuses."""
    rows = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "status")
        .annotate(orders=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    totals: dict[date, DayTotals] = {}
    for row in rows:
        previous = totals.get(row["day"], DayTotals(row["day"]))
        kept = round_money(row["amount"] or 0) if row["status"] in KEPT_STATUSES else Decimal("0.00")
        totals[row["day"]] = DayTotals(
            row["day"],
            previous.orders + row["orders"],
            previous.revenue + kept,
            {**previous.by_status, row["status"]: row["orders"]},
        )
    return totals


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def orders_per_day(days: int = 30) -> list[DayTotals]:
    """The last `days` days up to today, oldest first, every day present."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    key = f"orders-per-day:{first}:{today}:{timezone.get_current_timezone_name()}"
    past = cache.get(key)
    if past is None:
        past = _day_totals(_local_midnight(first), _local_midnight(today))
        cache.set(key, past, PAST_DAYS_CACHE_SECONDS)
    current = _day_totals(_local_midnight(today), _local_midnight(today + timedelta(days=1)))
    totals = past | current
    return [totals.get(first + timedelta(days=n), DayTotals(first + timedelta(days=n))) for n in range(days)]


def admin_dashboard() -> dict[str, object]:
    """The admin home page's figures: a constant handful of queries, whatever the table size."""
    days = orders_per_day(30)
    week = days[-7:]
    open_counts = dict(Order.objects.open().order_by().values_list("status").annotate(n=Count("id")))
    balances = Customer.objects.aggregate(total=Sum("balance"), customers=Count("id"))
    status_30_days: dict[str, int] = {}
    for day in days:
        for status, count in day.by_status.items():
            status_30_days[status] = status_30_days.get(status, 0) + count
    return {
        "days": days,
        "orders_today": days[-1].orders,
        "orders_week": sum(day.orders for day in week),
        "revenue_today": days[-1].revenue,
        "revenue_week": sum((day.revenue for day in week), Decimal("0.00")),
        "orders_month": sum(day.orders for day in days),
        "failed_week": sum(day.by_status.get(OrderStatus.FAILED, 0) for day in week),
        "pending": open_counts.get(OrderStatus.PENDING, 0),
        "running": open_counts.get(OrderStatus.RUNNING, 0),
        # SQLite sums decimals in floating point: round back to cents.
        "total_balance": round_money(balances["total"] or 0),
        "customers": balances["customers"],
        "status_30_days": [(status, status_30_days.get(status, 0)) for status in OrderStatus],
    }


def customer_dashboard(customer: Customer, *, recent: int = 5) -> dict[str, object]:
    return {
        "balance": customer.balance,
        "recent_orders": orders_recent_of(customer, customer.user, count=recent),
        "open_orders": Order.objects.filter(customer=customer).open().count(),
    }


def order_history(order: Order, viewer: AbstractBaseUser) -> dict[str, object]:
    """An order's payments, ledger entries, status moves (`events`) and `timeline` (the
    moves and the notes `viewer` may read, each with `actor_name`), and the agent running
    it and its last error, as `viewer` may see them: a customer reads only the notes
    written for them."""
    events = list(order.events.annotate(actor_name=_actor_name(viewer)).order_by("at", "id"))
    for event in events:
        # For display only: events are never saved again.
        event.note = _agents_named_for(viewer, event.note)
    notes = order.notes.annotate(actor_name=_actor_name(viewer, "author"))
    if not sees_everything(viewer):
        notes = notes.filter(for_customer=True)
    # One timeline: status moves and notes by time (a note sorts after a move of the same instant).
    timeline = sorted([*events, *notes.order_by("at", "id")], key=lambda step: (step.at, isinstance(step, OrderNote)))
    agent = ""
    if order.status == OrderStatus.RUNNING and order.claimed_by:
        agent = order.claimed_by if sees_everything(viewer) else FULFILMENT
    return {
        "payments": list(order.payments.order_by("created_at", "id")),
        "ledger_entries": list(order.ledger_entries.order_by("created_at", "id")),
        "events": events,
        "timeline": timeline,
        "agent": agent,
        "last_error": _agents_named_for(viewer, order.last_error),
    }


def customers_for_admin():
    return Customer.objects.select_related("user", "level")


def customer_get(pk: int) -> Customer:
    return get_object_or_404(customers_for_admin(), pk=pk)


def levels_with_counts():
    return Level.objects.annotate(customer_count=Count("customers"))


def products_with_tiers():
    return Product.objects.prefetch_related("tiers")


def agents_all() -> QuerySet[Agent]:
    """Every agent that has run, for the Agents page."""
    return Agent.objects.all()


def orders_running_on(worker_ids: list[str]) -> dict[str, list[str]]:
    """The order numbers each of `worker_ids` holds right now: one query."""
    held: dict[str, list[str]] = {}
    running = Order.objects.filter(status=OrderStatus.RUNNING, claimed_by__in=worker_ids)
    for worker_id, order_no in running.values_list("claimed_by", "order_no"):
        held.setdefault(worker_id, []).append(order_no)
    return held


def orders_left_to_run() -> bool:
    """Whether any order is pending (a retry's wait included) or running."""
    return Order.objects.filter(status__in=[OrderStatus.PENDING, OrderStatus.RUNNING]).exists()


def bulk_get(pk: int) -> BulkAction:
    return get_object_or_404(BulkAction.objects.select_related("actor"), pk=pk)


def bulk_result(bulk: BulkAction, *, limit: int = 1000) -> dict[str, list]:
    """A finished bulk action's `reasons` (each outcome and reason that was not done,
    with how many) and `left`: its first `limit` objects not done, each with the name
    and page of what it acted on."""
    not_done = bulk.items.exclude(outcome=BulkOutcome.DONE)
    reasons = list(not_done.values("outcome", "reason").annotate(n=Count("id")).order_by("-n")[:20])
    items = list(not_done.order_by("id")[:limit])
    ids = [item.object_id for item in items]
    if bulk.kind == BulkKind.ORDERS_CANCEL:
        names = dict(Order.objects.filter(pk__in=ids).values_list("pk", "order_no"))
        page = {pk: reverse("order_detail", args=[number]) for pk, number in names.items()}
    else:
        names = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
        page = {pk: reverse("customer_detail", args=[pk]) for pk in names}
    left = [(item, names.get(item.object_id, item.object_id), page.get(item.object_id, "")) for item in items]
    return {"reasons": reasons, "left": left}
