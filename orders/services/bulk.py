"""Bulk actions: one action over the rows an admin selected, done in batches.

`bulk_start` fixes the selection — the ids of the filter's queryset, every page of it,
copied by the database itself (INSERT … SELECT, no row is loaded) — and answers at
once. `bulk_work` does one batch; the agents call it between claims, so a bulk action
runs where orders are fulfilled, resumes after a stop (a batch is one transaction: its
items and what they did commit together or not at all), and several agents can share
one (the items are taken with SKIP LOCKED). Each object goes through its own service
(`order_cancel`, `customer_change_level`, …), so the money rules, the timelines and the
audit trail are those of a single action.
"""

import logging

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, InterfaceError, OperationalError, connections, router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from dashboard.accounts import services as accounts
from dashboard.accounts.audit import AuditAction, audit_record, client_address, current_client_address
from orders.errors import InvalidRequest, OrderPlatformError, SelectionChanged
from orders.models import (
    BulkAction,
    BulkItem,
    BulkKind,
    BulkOutcome,
    Customer,
    Level,
    Order,
    OrderNote,
    OrderStatus,
)
from orders.services.customers import customer_change_level
from orders.services.ledger import _check_idempotency_key
from orders.services.ordering import order_cancel

logger = logging.getLogger(__name__)

# Objects per batch: one transaction each. Small enough that the customers it locks
# wait a fraction of a second; large enough that 10,000 take few commits.
BATCH = 50
REASON_MAX = BulkItem._meta.get_field("reason").max_length


def bulk_start(
    *,
    kind: str,
    selection: QuerySet,
    actor,
    key: str,
    description: str,
    list_url: str = "",
    params: dict | None = None,
    expected: int | None = None,
) -> tuple[BulkAction, bool]:
    """The bulk action over every row of `selection` (a queryset of orders or customers),
    and whether it is new: a `key` seen before returns its action and starts nothing.
    With `expected` (the count the admin confirmed), a selection that has grown or shrunk
    since is refused with SelectionChanged, starting nothing."""
    _check_idempotency_key(key)
    if previous := BulkAction.objects.filter(key=key).first():
        return previous, False
    if kind not in BulkKind.values:
        raise InvalidRequest("Choose what to do with the selected rows.")
    params = dict(params or {})
    if kind == BulkKind.CUSTOMERS_LEVEL and not Level.objects.filter(pk=params.get("level")).exists():
        raise InvalidRequest("Choose the level to move the selected customers to.")
    try:
        with transaction.atomic():
            bulk = BulkAction.objects.create(
                key=key,
                kind=kind,
                params=params,
                description=description[:300],
                list_url=list_url[:2000],
                actor=actor,
                client_address=current_client_address(),
            )
            total = _copy_selection(bulk, selection)
            if total == 0:
                raise InvalidRequest("Nothing is selected: no row matches.")
            if expected is not None and total != expected:
                raise SelectionChanged(
                    f"The selection changed since you confirmed it: {total:,} match now, not {expected:,}. "
                    "Check the count and confirm again.",
                    total=total,
                )
            BulkAction.objects.filter(pk=bulk.pk).update(total=total)
            bulk.total = total
            audit_record(
                actor=actor,
                action=AuditAction.BULK_STARTED,
                target=bulk,
                target_repr=f"{bulk.get_kind_display()} ({total:,})",
                detail=description,
            )
    except IntegrityError:
        # The same key, started at the same moment by a second request: that one is it.
        if previous := BulkAction.objects.filter(key=key).first():
            return previous, False
        raise
    return bulk, True


def _copy_selection(bulk: BulkAction, selection: QuerySet) -> int:
    """Inserts one item per selected id, in the database; returns how many."""
    alias = router.db_for_write(BulkItem)
    ids = selection.using(alias).order_by().values_list("pk", flat=True).distinct()
    try:
        sql, params = ids.query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (an empty IN list)
        return 0
    table = BulkItem._meta.db_table
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (bulk_id, object_id, outcome, reason) SELECT %s, selected.*, '', '' FROM ({sql}) selected",
            (bulk.pk, *params),
        )
        return cursor.rowcount


def bulk_work(*, bulk: BulkAction | None = None, batch: int = BATCH) -> int:
    """Does one batch of `bulk`, or of the oldest unfinished bulk action; returns how many
    objects it took (0: nothing to do). An action is finished once no item is left waiting."""
    unfinished = BulkAction.objects.filter(finished_at__isnull=True)
    if bulk is not None:
        unfinished = unfinished.filter(pk=bulk.pk)
    bulk = unfinished.order_by("created_at", "id").first()
    if bulk is None:
        return 0
    with transaction.atomic():
        items = list(
            BulkItem.objects.select_for_update(skip_locked=True)
            .filter(bulk=bulk, outcome=BulkOutcome.WAITING)
            .order_by("object_id")[:batch]
        )
        if not items:
            if not BulkItem.objects.filter(bulk=bulk, outcome=BulkOutcome.WAITING).exists():
                BulkAction.objects.filter(pk=bulk.pk, finished_at__isnull=True).update(finished_at=timezone.now())
            return 0
        with client_address(bulk.client_address):
            selected = _selected(bulk, items)
            for item in _in_lock_order(items, selected):
                item.outcome, reason = _do(bulk, item.object_id, selected.get(item.object_id))
                item.reason = reason[:REASON_MAX]
        BulkItem.objects.bulk_update(items, ["outcome", "reason"])
        counts = {outcome: sum(1 for i in items if i.outcome == outcome) for outcome in BulkOutcome.values[1:]}
        BulkAction.objects.filter(pk=bulk.pk).update(**{name: F(name) + n for name, n in counts.items() if n})
    return len(items)


def _selected(bulk: BulkAction, items: list[BulkItem]) -> dict[int, Order | Customer]:
    """The batch's objects by id; missing ones no longer exist.

    Orders are locked here, all of them in ascending id, before any customer is: the
    services lock an order before its customer, and so does the whole batch. An agent
    or a customer acting on one of these orders waits for the batch and never the
    other way round, and an order the batch skips is already locked for its note.
    """
    ids = [item.object_id for item in items]
    if bulk.kind == BulkKind.ORDERS_CANCEL:
        orders = Order.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
        return {order.pk: order for order in orders}
    return {customer.pk: customer for customer in Customer.objects.select_related("user", "level").filter(pk__in=ids)}


def _in_lock_order(items: list[BulkItem], selected: dict[int, Order | Customer]) -> list[BulkItem]:
    """Orders by customer: every batch then locks customers in ascending order, so two
    agents sharing an action never wait on each other in a cycle."""

    def customer_first(item: BulkItem) -> tuple[int, int]:
        found = selected.get(item.object_id)
        return (found.customer_id if isinstance(found, Order) else item.object_id, item.object_id)

    return sorted(items, key=customer_first)


def _do(bulk: BulkAction, object_id: int, found: Order | Customer | None) -> tuple[str, str]:
    """What became of one object: done, or skipped with the reason."""
    if found is None:
        kind = "order" if bulk.kind == BulkKind.ORDERS_CANCEL else "customer"
        return BulkOutcome.SKIPPED, f"The {kind} no longer exists."
    try:
        with transaction.atomic():
            if bulk.kind == BulkKind.ORDERS_CANCEL:
                return _cancel(bulk, found)
            return _customer(bulk, found)
    except (OrderPlatformError, accounts.AccountError) as refused:
        return BulkOutcome.SKIPPED, refused.message
    except (OperationalError, InterfaceError):
        raise  # the database is away: the batch rolls back and is done again later
    except Exception as error:  # one object's fault must not stop the rest
        logger.exception("bulk action %s: object %s failed", bulk.pk, object_id)
        return BulkOutcome.FAILED, f"{type(error).__name__}: {error}"


def _cancel(bulk: BulkAction, order: Order) -> tuple[str, str]:
    """`order` is locked: its status is the one it has."""
    if order.status != OrderStatus.PENDING:
        reason = f"It was {order.get_status_display().lower()} by then, not pending."
        OrderNote.objects.create(order=order, author=bulk.actor, body=f"Bulk action {bulk.pk} left it: {reason}")
        return BulkOutcome.SKIPPED, reason
    order_cancel(order=order, actor=bulk.actor, note=f"Cancelled by bulk action {bulk.pk}")
    return BulkOutcome.DONE, ""


def _customer(bulk: BulkAction, customer: Customer) -> tuple[str, str]:
    if bulk.kind == BulkKind.CUSTOMERS_LEVEL:
        level = Level.objects.get(pk=bulk.params["level"])
        if customer.level_id == level.pk:
            return BulkOutcome.SKIPPED, f"Already on {level.name}."
        customer_change_level(customer=customer, level=level, actor=bulk.actor)
    elif bulk.kind == BulkKind.CUSTOMERS_DEACTIVATE:
        if not customer.user.is_active:
            return BulkOutcome.SKIPPED, "Already deactivated."
        accounts.user_deactivate(user=customer.user, actor=bulk.actor)
    else:
        if customer.user.is_active:
            return BulkOutcome.SKIPPED, "Already active."
        accounts.user_activate(user=customer.user, actor=bulk.actor)
    return BulkOutcome.DONE, ""
