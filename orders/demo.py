"""Demo data: an admin, levels, products, customers and a realistic order history.

The history is planned in memory and written with bulk inserts, so a million orders
take minutes rather than hours. Bulk inserts bypass the services, so the plan
replays exactly what the services would have done — the same prices (I6), one
charge and at most one refund per order (I3), every status move as an event —
and walks all ledger movements in time order to chain each customer's
balance_after (I1). `check_ledger` verifies the result.

Idempotent: accounts, levels and products are created only when missing, and orders
only up to the requested total (the new ones follow the existing history in time).
"""

import gc
import heapq
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from dashboard.accounts.roles import ADMIN_GROUP, CUSTOMER_GROUP
from orders.models import (
    FINAL_STATUSES,
    Customer,
    LedgerEntry,
    LedgerKind,
    Level,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    PriceTier,
    Product,
)
from orders.pricing import Quote, quote
from orders.references import ALPHABET, ENTRY_NO_LENGTH, ORDER_NO_LENGTH, PAYMENT_NO_LENGTH

ADMIN_USERNAME = "admin"
HISTORY_DAYS = 180
BATCH = 5_000
MAX_ATTEMPTS = 3

# Name, percent, and the share of demo customers on it.
LEVELS = [("Standard", 100, 40), ("Silver", 95, 25), ("Gold", 90, 18), ("Platinum", 80, 12), ("Partner", 70, 5)]
USERNAME_PREFIX = "customer"
MOBILE_PREFIX = "+86139"
PRODUCTS = [
    (
        "Website traffic",
        "Visits from real browsers to a landing page.",
        True,
        [(100, "0.05"), (1_000, "0.04"), (10_000, "0.03")],
    ),
    ("Social followers", "Followers for a social media profile.", True, [(50, "0.20"), (500, "0.16"), (5_000, "0.12")]),
    (
        "App installs",
        "Installs of a mobile app from its store page.",
        True,
        [(10, "1.20"), (100, "1.00"), (1_000, "0.85")],
    ),
    ("Product reviews", "Written reviews by verified buyers.", True, [(1, "8.00"), (10, "7.00")]),
    ("SEO audit", "A technical SEO report for one site.", True, [(1, "299.00")]),
    ("Video views", "Retired: views for short videos.", False, [(1_000, "0.02")]),
]
FIRST_NAMES = [
    "Wei",
    "Fang",
    "Min",
    "Jing",
    "Lei",
    "Yan",
    "Hui",
    "Tao",
    "Li",
    "Xin",
    "Ana",
    "Budi",
    "Chen",
    "Dewi",
    "Hao",
    "Ming",
    "Rina",
    "Sari",
    "Yu",
    "Zhen",
]
LAST_NAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Lin",
    "Tan",
    "Lim",
    "Santoso",
    "Wijaya",
    "Ng",
    "Ho",
    "Guo",
    "Ma",
    "Sun",
]
TARGET_SITES = ["shop", "blog", "store", "app", "news", "studio", "market", "club"]
ERRORS = [
    "Target returned HTTP 503",
    "Target unreachable: connection timed out",
    "Provider rejected the target",
    "Rate limited by the provider",
]
# Why support refunded a completed order.
REFUND_REASONS = [
    "Delivered to the wrong target",
    "Customer reported it was not delivered",
    "Goodwill refund after a complaint",
]


@dataclass
class Report:
    """What was created, for the command's summary."""

    created: dict[str, int] = field(default_factory=dict)
    passwords: list[tuple[str, str]] = field(default_factory=list)

    def add(self, what: str, count: int) -> None:
        self.created[what] = self.created.get(what, 0) + count


Progress = Callable[[str, int, float], None]


def _reference(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(ALPHABET, k=length))


def _batched(items: Iterable, size: int = BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _stage(progress: Progress, name: str):
    """Times a stage and reports its count and rate when the returned callback runs."""
    started = time.monotonic()
    return lambda count: progress(name, count, time.monotonic() - started)


def seed(
    *,
    customers: int,
    orders: int,
    password: str | None,
    progress: Progress,
    rng: random.Random | None = None,
    pending: int = 0,
) -> Report:
    # Millions of live objects and no reference cycles worth collecting: the
    # cyclic collector would only rescan them over and over.
    gc.disable()
    try:
        return _seed(
            customers=customers,
            orders=orders,
            password=password,
            progress=progress,
            rng=rng or random.Random(),
            pending=pending,
        )
    finally:
        gc.enable()


@transaction.atomic
def _seed(
    *, customers: int, orders: int, password: str | None, progress: Progress, rng: random.Random, pending: int
) -> Report:
    report = Report()
    admin = _ensure_admin(password, report)
    levels = _ensure_levels(report)
    products = _ensure_products(report)
    _ensure_customers(customers, levels, admin, password, report, progress)
    existing = Order.objects.count()
    if orders > existing:
        _seed_history(orders - existing, products, admin, rng, report, progress, pending=pending)
    return report


def _ensure_admin(password: str | None, report: Report):
    User = get_user_model()
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        chosen = password or secrets.token_urlsafe(12)
        admin = User.objects.create_user(
            username=ADMIN_USERNAME, password=chosen, first_name="Operations", last_name="Admin"
        )
        admin.groups.add(Group.objects.get(name=ADMIN_GROUP))
        report.add("admins", 1)
        if password is None:
            report.passwords.append((ADMIN_USERNAME, chosen))
    return admin


def _ensure_levels(report: Report) -> list[Level]:
    """The demo's levels, in the order of LEVELS; an operator's own levels are left to them."""
    levels = []
    for name, percent, _ in LEVELS:
        level, created = Level.objects.get_or_create(name=name, defaults={"percent": percent})
        report.add("levels", int(created))
        levels.append(level)
    return levels


def _ensure_products(report: Report) -> list[Product]:
    for name, description, active, tiers in PRODUCTS:
        product, created = Product.objects.get_or_create(
            name=name, defaults={"description": description, "active": active}
        )
        if created:
            PriceTier.objects.bulk_create(
                PriceTier(product=product, min_quantity=minimum, unit_price=Decimal(price)) for minimum, price in tiers
            )
            report.add("products", 1)
    # A product without tiers yet (an operator's, being set up) has no price to order at.
    return list(Product.objects.filter(active=True, tiers__isnull=False).distinct().prefetch_related("tiers"))


def _first_free_number(taken: Iterable[str], prefix: str) -> int:
    """The smallest n from which every `prefix` + n is free: past the highest number any
    taken name (an operator's account, a customer of theirs, an earlier seed) has."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)", re.IGNORECASE)
    return max((int(found[1]) for name in taken if (found := pattern.fullmatch(name))), default=0) + 1


def _ensure_customers(
    count: int, levels: list[Level], admin, password: str | None, report: Report, progress: Progress
) -> None:
    existing = Customer.objects.count()
    if count <= existing:
        return
    done = _stage(progress, "customers")
    User = get_user_model()
    chosen = password or secrets.token_urlsafe(12)
    # One hash for all demo customers: hashing is deliberately slow.
    hashed = make_password(chosen)
    start = timezone.now() - timedelta(days=HISTORY_DAYS + 30)
    usernames = User.objects.filter(username__istartswith=USERNAME_PREFIX).values_list("username", flat=True)
    mobiles = Customer.objects.filter(mobile__startswith=MOBILE_PREFIX).values_list("mobile", flat=True)
    # One number makes a customer's username and mobile, both unique.
    first = max(_first_free_number(usernames, USERNAME_PREFIX), _first_free_number(mobiles, MOBILE_PREFIX))
    numbers = range(first, first + count - existing)
    users = User.objects.bulk_create(
        (User(username=f"{USERNAME_PREFIX}{n:05d}", password=hashed, date_joined=start) for n in numbers),
        batch_size=BATCH,
    )
    group = Group.objects.get(name=CUSTOMER_GROUP)
    User.groups.through.objects.bulk_create(
        (User.groups.through(user_id=user.pk, group_id=group.pk) for user in users), batch_size=BATCH
    )
    level_weights = [weight for _, _, weight in LEVELS]
    demo_rng = random.Random(existing)
    Customer.objects.bulk_create(
        (
            Customer(
                user=user,
                name=f"{demo_rng.choice(FIRST_NAMES)} {demo_rng.choice(LAST_NAMES)}",
                mobile=f"{MOBILE_PREFIX}{n:08d}",
                level=demo_rng.choices(levels, level_weights)[0],
                created_by=admin,
                # A minute apart, the new ones after those already there, whatever their numbers.
                created_at=start + timedelta(minutes=existing + index),
            )
            for index, (n, user) in enumerate(zip(numbers, users), start=1)
        ),
        batch_size=BATCH,
    )
    report.add("customers", len(users))
    if password is None:
        report.passwords.append((f"{USERNAME_PREFIX}{numbers[0]:05d} … {USERNAME_PREFIX}{numbers[-1]:05d}", chosen))
    done(len(users))


@dataclass
class PlannedOrder:
    index: int
    order_no: str
    customer: Customer
    product: Product
    quote: Quote
    method: str
    status: str
    placed_at: datetime
    # (at, from, to, note) in time order; the last one's `to` is the status.
    events: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    paid: bool = False
    refunded_at: datetime | None = None
    attempts: int = 0
    last_error: str = ""
    pk: int | None = None


def _plan_order(
    index: int,
    rng: random.Random,
    customer: Customer,
    product: Product,
    placed_at: datetime,
    now: datetime,
    is_recent: bool,
) -> PlannedOrder:
    tiers = sorted(product.tiers.all(), key=lambda tier: tier.min_quantity)
    smallest = tiers[0].min_quantity
    quantity = smallest * rng.choice([1, 1, 1, 2, 3, 5, 10, 20, 50]) + rng.randrange(smallest or 1)
    tier = max((t for t in tiers if t.min_quantity <= quantity), key=lambda t: t.min_quantity)
    method = rng.choices([PaymentMethod.BALANCE, PaymentMethod.CARD, PaymentMethod.ATM], [85, 10, 5])[0]
    plan = PlannedOrder(
        index=index,
        order_no="",
        customer=customer,
        product=product,
        quote=quote(tier=tier, quantity=quantity, percent=customer.level.percent),
        method=method,
        status="",
        placed_at=placed_at,
    )
    at = placed_at
    state = ""

    def move(to: str, after_seconds: float, note: str) -> None:
        nonlocal at, state
        at = min(at + timedelta(seconds=after_seconds), now)
        plan.events.append((at, state, to, note))
        state = to

    if method == PaymentMethod.BALANCE:
        move(OrderStatus.PENDING, 0, "Placed")
        plan.paid = True
    else:
        move(OrderStatus.AWAITING_PAYMENT, 0, f"Placed; awaiting {method} payment")
        if is_recent and rng.random() < 0.5:
            plan.status = state
            return plan
        if rng.random() < 0.15:
            move(OrderStatus.CANCELLED, 1800, "Payment not received in time")
            plan.status = state
            return plan
        move(OrderStatus.PENDING, rng.uniform(30, 900), f"{method.upper()} payment received")
        plan.paid = True
    roll = rng.random()
    if is_recent and roll < 0.6:
        pass
    elif roll < 0.08:
        move(OrderStatus.CANCELLED, rng.uniform(10, 600), "Cancelled by the customer")
        plan.refunded_at = at
    elif is_recent:
        plan.attempts = 1
        move(OrderStatus.RUNNING, rng.uniform(1, 30), "Claimed by demo-agent (attempt 1)")
    else:
        failing = rng.random() < 0.06
        attempts = MAX_ATTEMPTS if failing else rng.choices([1, 2], [92, 8])[0]
        for attempt in range(1, attempts + 1):
            move(OrderStatus.RUNNING, rng.uniform(1, 60), f"Claimed by demo-agent (attempt {attempt})")
            if attempt < attempts:
                plan.last_error = rng.choice(ERRORS)
                move(OrderStatus.PENDING, rng.uniform(5, 120), f"Released by demo-agent: {plan.last_error}")
        plan.attempts = attempts
        if failing:
            plan.last_error = rng.choice(ERRORS)
            move(OrderStatus.FAILED, rng.uniform(5, 120), f"Failed on demo-agent: {plan.last_error}")
            plan.refunded_at = at
        else:
            move(OrderStatus.COMPLETED, rng.uniform(5, 600), "Completed by demo-agent")
            if rng.random() < 0.02:
                move(OrderStatus.REFUNDED, rng.uniform(3600, 3 * 86400), f"Refunded: {rng.choice(REFUND_REASONS)}")
                plan.refunded_at = at
    plan.status = state
    return plan


def _plan_queued(index: int, customer: Customer, product: Product, placed_at: datetime) -> PlannedOrder:
    tier = min(product.tiers.all(), key=lambda tier: tier.min_quantity)
    return PlannedOrder(
        index=index,
        order_no="",
        customer=customer,
        product=product,
        quote=quote(tier=tier, quantity=tier.min_quantity, percent=customer.level.percent),
        method=PaymentMethod.BALANCE,
        status=OrderStatus.PENDING,
        placed_at=placed_at,
        events=[(placed_at, "", OrderStatus.PENDING, "Placed")],
        paid=True,
    )


def _seed_history(
    count: int, products: list[Product], admin, rng: random.Random, report: Report, progress: Progress, pending: int = 0
) -> None:
    now = timezone.now()
    customers = list(Customer.objects.select_related("level", "user").order_by("id"))
    latest = [
        Order.objects.aggregate(m=Max("created_at"))["m"],
        LedgerEntry.objects.aggregate(m=Max("created_at"))["m"],
    ]
    start = max([now - timedelta(days=HISTORY_DAYS)] + [m for m in latest if m])
    span = (now - start).total_seconds()
    # The newest orders are still open: pending, running or awaiting payment.
    recent_from = count - max(30, count // 200)
    # The newest `pending` orders wait for an agent: paid from the balance, untouched.
    queued_from = count - pending

    done = _stage(progress, "plan")
    # A few customers order a lot, most a little.
    weights = [rng.paretovariate(1.2) for _ in customers]
    buyers = rng.choices(customers, weights, k=count)
    times = sorted(start + timedelta(seconds=rng.uniform(0, span * 0.999)) for _ in range(count))
    order_nos = _unique_references(rng, ORDER_NO_LENGTH, count)
    plans = []
    for index, (customer, placed_at, order_no) in enumerate(zip(buyers, times, order_nos)):
        if index >= queued_from:
            plan = _plan_queued(index, customer, rng.choice(products), placed_at)
        else:
            plan = _plan_order(index, rng, customer, rng.choice(products), placed_at, now, index >= recent_from)
        plan.order_no = order_no
        plans.append(plan)
    done(count)

    _write_orders(plans, now, report, progress)
    _write_payments(plans, rng, report, progress)
    _write_events(plans, report, progress)
    _write_ledger(plans, customers, admin, rng, report, progress)


def _unique_references(rng: random.Random, length: int, count: int) -> list[str]:
    # Unique among themselves; a clash with an existing row (about 1 in 10^8 for a
    # million) is refused by the unique constraint and rolls the whole seed back.
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.update(_reference(rng, length) for _ in range(count - len(chosen)))
    return list(chosen)


def _write_orders(plans: list[PlannedOrder], now: datetime, report: Report, progress: Progress) -> None:
    done = _stage(progress, "orders")
    for batch in _batched(plans):
        rows = []
        for plan in batch:
            last_at = plan.events[-1][0]
            started = next((at for at, _, to, _ in plan.events if to == OrderStatus.RUNNING), None)
            final = plan.status in (OrderStatus.COMPLETED, *FINAL_STATUSES)
            running = plan.status == OrderStatus.RUNNING
            rows.append(
                Order(
                    order_no=plan.order_no,
                    customer=plan.customer,
                    product=plan.product,
                    quantity=plan.quote.quantity,
                    target=f"https://{plan.customer.user.username}.{plan.order_no[:4].lower()}."
                    f"example.com/{TARGET_SITES[plan.index % len(TARGET_SITES)]}",
                    unit_price=plan.quote.unit_price,
                    list_amount=plan.quote.list_amount,
                    percent=plan.quote.percent,
                    amount=plan.quote.amount,
                    status=plan.status,
                    attempts=plan.attempts,
                    last_error=plan.last_error,
                    claimed_by="demo-agent" if plan.attempts else "",
                    lease_expires_at=last_at + timedelta(minutes=5) if running else None,
                    created_at=plan.placed_at,
                    updated_at=last_at,
                    started_at=started,
                    finished_at=last_at if final else None,
                    idempotency_key=f"demo-{plan.order_no}",
                )
            )
        for plan, order in zip(batch, Order.objects.bulk_create(rows, batch_size=BATCH)):
            plan.pk = order.pk
    report.add("orders", len(plans))
    done(len(plans))


def _write_payments(plans: list[PlannedOrder], rng: random.Random, report: Report, progress: Progress) -> None:
    done = _stage(progress, "payments")
    numbers = iter(_unique_references(rng, PAYMENT_NO_LENGTH, 2 * len(plans)))

    def rows() -> Iterator[Payment]:
        for plan in plans:
            placed = plan.events[0][0]
            gateway = plan.method != PaymentMethod.BALANCE
            charge_status = (
                PaymentStatus.SUCCEEDED
                if plan.paid
                else (PaymentStatus.PENDING if plan.status == OrderStatus.AWAITING_PAYMENT else PaymentStatus.FAILED)
            )
            settled = plan.events[1][0] if gateway and len(plan.events) > 1 else placed
            yield Payment(
                payment_no=next(numbers),
                order_id=plan.pk,
                method=plan.method,
                kind=PaymentKind.CHARGE,
                status=charge_status,
                amount=plan.quote.amount,
                provider_token=f"demo_{plan.order_no.lower()}" if gateway else "",
                pay_url=f"822-0000-{plan.order_no[-6:]}" if plan.method == PaymentMethod.ATM else "",
                created_at=placed,
                updated_at=settled,
            )
            if plan.refunded_at:
                yield Payment(
                    payment_no=next(numbers),
                    order_id=plan.pk,
                    method=PaymentMethod.BALANCE,
                    kind=PaymentKind.REFUND,
                    status=PaymentStatus.SUCCEEDED,
                    amount=plan.quote.amount,
                    created_at=plan.refunded_at,
                    updated_at=plan.refunded_at,
                )

    written = 0
    for batch in _batched(rows()):
        written += len(Payment.objects.bulk_create(batch, batch_size=BATCH))
    report.add("payments", written)
    done(written)


def _write_events(plans: list[PlannedOrder], report: Report, progress: Progress) -> None:
    done = _stage(progress, "events")
    rows = (
        OrderEvent(order_id=plan.pk, from_status=source, to_status=to, at=at, note=note)
        for plan in plans
        for at, source, to, note in plan.events
    )
    written = 0
    for batch in _batched(rows):
        written += len(OrderEvent.objects.bulk_create(batch, batch_size=BATCH))
    report.add("order events", written)
    done(written)


def _write_ledger(
    plans: list[PlannedOrder], customers: list[Customer], admin, rng: random.Random, report: Report, progress: Progress
) -> None:
    """Walks every balance movement in time order, topping customers up when they run short."""
    done = _stage(progress, "ledger")
    balances = {customer.pk: customer.balance for customer in customers}
    last_at: dict[int, datetime] = {}
    # (at, tie-breaker, kind, customer, plan), popped in time order: a first top-up for
    # customers without a ledger, charges when placed, refunds when cancelled or failed.
    with_ledger = set(LedgerEntry.objects.values_list("customer_id", flat=True).distinct())
    movements = [
        (c.created_at + timedelta(hours=1), -c.pk, LedgerKind.TOP_UP, c, None)
        for c in customers
        if c.pk not in with_ledger
    ]
    movements += [
        (p.events[0][0], p.index, LedgerKind.CHARGE, p.customer, p)
        for p in plans
        if p.paid and p.method == PaymentMethod.BALANCE
    ]
    movements += [(p.refunded_at, p.index, LedgerKind.REFUND, p.customer, p) for p in plans if p.refunded_at]
    heapq.heapify(movements)
    numbers = iter(_unique_references(rng, ENTRY_NO_LENGTH, 2 * len(movements)))

    def entry(customer: Customer, kind: str, amount: Decimal, at: datetime, **extra) -> LedgerEntry:
        balances[customer.pk] += amount
        last_at[customer.pk] = at
        entry_no = next(numbers)
        key = extra.pop("idempotency_key", None) or f"balance:{customer.pk}:demo-{entry_no}"
        return LedgerEntry(
            entry_no=entry_no,
            customer=customer,
            kind=kind,
            amount=amount,
            balance_after=balances[customer.pk],
            created_at=at,
            idempotency_key=key,
            **extra,
        )

    def top_up(customer: Customer, amount: Decimal, at: datetime) -> LedgerEntry:
        return entry(
            customer,
            LedgerKind.TOP_UP,
            amount,
            at,
            actor=admin,
            memo=rng.choice(["Bank transfer", "Cash deposit", "Alipay transfer"]),
        )

    def rows() -> Iterator[LedgerEntry]:
        while movements:
            at, _, kind, customer, plan = heapq.heappop(movements)
            if plan is None:
                yield top_up(customer, Decimal(rng.choice([500, 1000, 2000, 5000, 10000])), at)
            elif kind == LedgerKind.REFUND:
                yield entry(
                    customer,
                    kind,
                    plan.quote.amount,
                    at,
                    order_id=plan.pk,
                    memo=f"Refund of order {plan.order_no}"
                    if plan.status == OrderStatus.REFUNDED
                    else f"Refund of {plan.status} order {plan.order_no}",
                    idempotency_key=f"order:{plan.order_no}:refund",
                )
            else:
                if balances[customer.pk] < plan.quote.amount:
                    # Topped up shortly before the order, never before the last movement.
                    short = plan.quote.amount - balances[customer.pk]
                    amount = Decimal((int(short) // 500 + 1) * 500 + rng.choice([0, 500, 1000, 2000]))
                    earliest = last_at.get(customer.pk, at - timedelta(hours=1))
                    yield top_up(customer, amount, max(earliest, at - timedelta(minutes=rng.uniform(1, 60))))
                yield entry(
                    customer,
                    kind,
                    -plan.quote.amount,
                    at,
                    order_id=plan.pk,
                    actor=customer.user,
                    idempotency_key=f"order:{plan.order_no}:charge",
                )

    written = 0
    for batch in _batched(rows()):
        written += len(LedgerEntry.objects.bulk_create(batch, batch_size=BATCH))
    for customer in customers:
        customer.balance = balances[customer.pk]
    Customer.objects.bulk_update(customers, ["balance"], batch_size=BATCH)
    report.add("ledger entries", written)
    done(written)
