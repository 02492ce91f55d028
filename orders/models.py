"""The domain, as docs/domain.md describes it.

Every invariant a database can hold is a constraint here, so that a bug (or a raw
UPDATE) elsewhere is refused by the database itself. Writes happen only in
orders/services/; these classes hold state and single-object rules. Timestamps
default to now rather than using auto_now: services set `updated_at` in their
conditional updates, and seed_demo inserts a history with its own times.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.accounts.validators import mobile_validator
from orders.money import CENT, DECIMAL_PLACES, MAX_DIGITS
from orders.references import ENTRY_NO_LENGTH, ORDER_NO_LENGTH, PAYMENT_NO_LENGTH


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class Level(models.Model):
    name = models.CharField(max_length=50, unique=True)
    percent = models.PositiveSmallIntegerField(
        help_text="Share of the list price this level pays: 90 means 90%.",
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-percent", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=100), name="level_percent_1_to_100"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent}%)"


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer")
    name = models.CharField(max_length=150)
    mobile = models.CharField(max_length=16, unique=True, validators=[mobile_validator])
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="customers")
    balance = money_field(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="customer_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PriceTier(models.Model):
    """From `min_quantity` units up, each unit costs `unit_price` (the list price)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tiers")
    min_quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = money_field(validators=[MinValueValidator(CENT)])

    class Meta:
        ordering = ["product", "min_quantity"]
        constraints = [
            models.UniqueConstraint(fields=["product", "min_quantity"], name="price_tier_unique_min_quantity"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="price_tier_min_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="price_tier_unit_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product} from {self.min_quantity}: {self.unit_price}"


class OrderStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


# The only legal moves of the status pipeline (docs/domain.md, "The status pipeline").
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.AWAITING_PAYMENT: frozenset({OrderStatus.PENDING, OrderStatus.CANCELLED}),
    OrderStatus.PENDING: frozenset({OrderStatus.RUNNING, OrderStatus.CANCELLED}),
    OrderStatus.RUNNING: frozenset({OrderStatus.COMPLETED, OrderStatus.FAILED, OrderStatus.PENDING}),
    # Only an admin moves a completed order on: a refund in full, with a reason.
    OrderStatus.COMPLETED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}
FINAL_STATUSES = frozenset(s for s, moves in ORDER_TRANSITIONS.items() if not moves)
# Still on their way through the pipeline by themselves (the pages poll them); a
# completed order is done, though not final: it can still be refunded.
OPEN_STATUSES = frozenset({OrderStatus.AWAITING_PAYMENT, OrderStatus.PENDING, OrderStatus.RUNNING})
# The orders whose charge was refunded to the balance.
REFUNDED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.REFUNDED})


class OrderQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def final(self):
        return self.filter(status__in=FINAL_STATUSES)


class Order(models.Model):
    order_no = models.CharField(max_length=ORDER_NO_LENGTH, unique=True, editable=False)
    # The composite indexes below lead with these columns, so the single-column
    # foreign key indexes would only cost writes.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders", db_index=False)
    quantity = models.PositiveIntegerField()
    target = models.CharField(max_length=500, help_text="What the fulfilment acts on.")
    memo = models.CharField(max_length=255, blank=True)
    unit_price = money_field()
    list_amount = money_field()
    percent = models.PositiveSmallIntegerField(help_text="The customer's level percent when placed.")
    amount = money_field(help_text="What was charged.")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text="A pending order retried after a failure is not claimed before this."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("place_order", "Can place orders"),
            ("cancel_order", "Can cancel pending orders"),
            ("view_all_orders", "Can see every customer's orders"),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="order_customer_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["product", "-created_at"], name="order_product_created"),
            models.Index(fields=["-created_at", "-id"], name="order_created"),
            models.Index(fields=["amount"], name="order_amount"),
            models.Index(fields=["status", "amount"], name="order_status_amount"),
            # The agent's queue: oldest pending first, and running orders by lease.
            models.Index(fields=["created_at"], condition=Q(status="pending"), name="order_pending_queue"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="running"), name="order_running_lease"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer", "idempotency_key"], name="order_unique_idempotency_key"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="order_unit_price_positive"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=100), name="order_percent_1_to_100"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.RUNNING) | (Q(lease_expires_at__isnull=False) & ~Q(claimed_by="")),
                name="order_running_has_lease",
            ),
        ]

    def __str__(self) -> str:
        return self.order_no

    def can_transition_to(self, status: str) -> bool:
        return status in ORDER_TRANSITIONS[self.status]


class OrderEvent(models.Model):
    """One step of an order's timeline: every status move writes one."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, editable=False)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["order", "at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_event_timeline")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class OrderNote(models.Model):
    """What an admin wrote on an order: for staff only, or for the customer too (shown on
    their order page). Part of the order's timeline; never edited."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=2000)
    for_customer = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["order", "at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="order_note_timeline")]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="order_note_body_not_empty")]

    def __str__(self) -> str:
        return f"{self.order_id}: note by {self.author_id} at {self.at:%Y-%m-%d %H:%M}"


class PaymentMethod(models.TextChoices):
    BALANCE = "balance", "Balance"
    CARD = "card", "Card"
    ATM = "atm", "ATM transfer"


class PaymentKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """One money movement on an order (the order-payment table; payment_no is the tsno)."""

    payment_no = models.CharField(max_length=PAYMENT_NO_LENGTH, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    kind = models.CharField(max_length=10, choices=PaymentKind.choices)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices)
    amount = money_field()
    provider_token = models.CharField(max_length=200, blank=True)
    pay_url = models.CharField(max_length=500, blank=True, help_text="Card payment page, or ATM account number.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="payment_created"),
            models.Index(fields=["amount", "id"], name="payment_amount"),
            models.Index(fields=["provider_token"], name="payment_provider_token"),
        ]
        constraints = [
            # One charge and one refund per order (I3).
            models.UniqueConstraint(fields=["order", "kind"], name="payment_one_per_order_and_kind"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="payment_method_valid"),
            models.CheckConstraint(condition=Q(kind__in=PaymentKind.values), name="payment_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
        ]

    def __str__(self) -> str:
        return self.payment_no


class LedgerKind(models.TextChoices):
    TOP_UP = "top_up", "Top-up"
    DEDUCT = "deduct", "Deduction"
    CHARGE = "charge", "Order charge"
    REFUND = "refund", "Refund"


CREDIT_KINDS = (LedgerKind.TOP_UP, LedgerKind.REFUND)
DEBIT_KINDS = (LedgerKind.DEDUCT, LedgerKind.CHARGE)
ORDER_KINDS = (LedgerKind.CHARGE, LedgerKind.REFUND)


class LedgerEntry(models.Model):
    """One change of a customer's balance. Append-only: never updated or deleted (I4)."""

    entry_no = models.CharField(max_length=ENTRY_NO_LENGTH, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = money_field(help_text="Signed: credits are positive, debits negative.")
    balance_after = money_field()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    memo = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        permissions = [("manage_balances", "Can top up and deduct balances")]
        indexes = [
            models.Index(fields=["customer", "id"], name="ledger_customer_chain"),
            models.Index(fields=["-created_at", "-id"], name="ledger_created"),
            models.Index(fields=["amount", "id"], name="ledger_amount"),
            models.Index(fields=["kind", "amount", "id"], name="ledger_kind_amount"),
            models.Index(fields=["kind", "-created_at", "-id"], name="ledger_kind_created"),
        ]
        constraints = [
            # One charge and one refund per order (I3).
            models.UniqueConstraint(fields=["order", "kind"], name="ledger_one_per_order_and_kind"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(
                condition=Q(kind__in=CREDIT_KINDS, amount__gt=0) | Q(kind__in=DEBIT_KINDS, amount__lt=0),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ORDER_KINDS, order__isnull=False)
                | (~Q(kind__in=ORDER_KINDS) & Q(order__isnull=True)),
                name="ledger_order_iff_order_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.entry_no


class Agent(models.Model):
    """One run of `manage.py run_agent`: what the Agents page shows."""

    worker_id = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    executor = models.CharField(max_length=200)
    concurrency = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_heartbeat"]
        indexes = [models.Index(fields=["-last_heartbeat"], name="agent_heartbeat")]

    def __str__(self) -> str:
        return self.worker_id


class BulkKind(models.TextChoices):
    ORDERS_CANCEL = "orders.cancel", "Cancel orders"
    CUSTOMERS_LEVEL = "customers.level", "Change level"
    CUSTOMERS_DEACTIVATE = "customers.deactivate", "Deactivate customers"
    CUSTOMERS_ACTIVATE = "customers.activate", "Activate customers"


class BulkAction(models.Model):
    """One bulk action over the rows an admin selected, done in batches by the agents.

    The selection is fixed when it starts (`BulkItem`, one row per object), so a list
    that changes afterwards does not change what it acts on. `key` (the form's) makes a
    resubmit or a double click the same action. The counts are those of its items, kept
    here as batches finish so that the progress page reads one row.
    """

    key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=30, choices=BulkKind.choices)
    params = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=300, help_text="What was selected, in words.")
    list_url = models.CharField(max_length=2000, blank=True, help_text="The list as it was filtered.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_address = models.GenericIPAddressField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(finished_at__isnull=True), name="bulk_unfinished"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(done__gte=0) & Q(skipped__gte=0) & Q(failed__gte=0), name="bulk_counts"),
        ]

    def __str__(self) -> str:
        return f"Bulk action {self.pk}"

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total


class BulkOutcome(models.TextChoices):
    WAITING = "", "Waiting"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class BulkItem(models.Model):
    """One selected object of a bulk action (`object_id`: an order's or a customer's
    id) and what became of it, with the reason when it was skipped or failed."""

    bulk = models.ForeignKey(BulkAction, on_delete=models.CASCADE, related_name="items")
    object_id = models.BigIntegerField()
    outcome = models.CharField(max_length=10, choices=BulkOutcome.choices, default="", blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bulk", "object_id"], name="bulk_item_once")]
        indexes = [
            models.Index(fields=["bulk", "object_id"], condition=Q(outcome=""), name="bulk_item_waiting"),
            models.Index(fields=["bulk", "outcome", "id"], name="bulk_item_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.bulk_id}:{self.object_id} {self.outcome or 'waiting'}"
