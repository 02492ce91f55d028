"""The agent's moves: claim, complete, fail, release, retry, leases, and its own row.

Only the agent that holds an order's claim (`claimed_by`) may move it, checked in
every conditional update; an order it lost (its lease expired and the sweep took it
back) is simply not among those it still holds. A failure that uses up the attempts
is refunded (`_refund`) in the same transaction as the move to `failed`.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.errors import IllegalTransition
from orders.models import Agent, Order, OrderEvent, OrderStatus
from orders.services.ledger import _refund, _transition


@transaction.atomic
def order_claim(*, worker_id: str, lease_seconds: int, limit: int = 1) -> list[Order]:
    """Claims up to `limit` of the oldest pending orders for `worker_id`.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets any number of agents claim side by
    side without waiting on each other; the conditional update keeps SQLite (and any
    database without SKIP LOCKED) correct.
    """
    now = timezone.now()
    queue = (
        Order.objects.filter(status=OrderStatus.PENDING)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("created_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        queue = queue.select_for_update(skip_locked=True)
    candidates = list(queue.values_list("pk", flat=True)[:limit])
    if not candidates:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    Order.objects.filter(pk__in=candidates, status=OrderStatus.PENDING).update(
        status=OrderStatus.RUNNING,
        claimed_by=worker_id,
        lease_expires_at=lease,
        attempts=F("attempts") + 1,
        retry_at=None,
        started_at=Coalesce("started_at", now),
        updated_at=now,
    )
    claimed = list(
        Order.objects.filter(
            pk__in=candidates, status=OrderStatus.RUNNING, claimed_by=worker_id, lease_expires_at=lease
        )
        .select_related("product")
        .order_by("created_at", "id")
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            from_status=OrderStatus.PENDING,
            to_status=OrderStatus.RUNNING,
            note=f"Claimed by {worker_id} (attempt {order.attempts})",
        )
        for order in claimed
    )
    return claimed


def order_complete(*, order: Order, worker_id: str, note: str = "") -> Order:
    if not order_complete_many(orders=[order], worker_id=worker_id, note=note):
        raise IllegalTransition(f"Order {order.order_no} is not running for {worker_id}; it cannot be completed.")
    order.refresh_from_db()
    return order


@transaction.atomic
def order_complete_many(*, orders: list[Order], worker_id: str, note: str = "") -> set[int]:
    """Completes the orders `worker_id` still holds, in one transaction; returns their ids.

    An order missing from the answer was taken away (its lease expired, or it was
    released): its result is not reported. The agent completes what its workers
    finished since it last looked, so a zero-time executor costs one transaction per
    batch rather than one per order.
    """
    held = list(
        Order.objects.select_for_update()
        .filter(pk__in=[order.pk for order in orders], status=OrderStatus.RUNNING, claimed_by=worker_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not held:
        return set()
    now = timezone.now()
    Order.objects.filter(pk__in=held).update(
        status=OrderStatus.COMPLETED, updated_at=now, finished_at=now, lease_expires_at=None
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=pk,
            from_status=OrderStatus.RUNNING,
            to_status=OrderStatus.COMPLETED,
            at=now,
            note=(note or f"Completed by {worker_id}")[:500],
        )
        for pk in held
    )
    return set(held)


@transaction.atomic
def order_fail(*, order: Order, worker_id: str, error: str) -> Order:
    """Fails a running order for good and refunds it."""
    order = _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.FAILED,
        actor=None,
        worker_id=worker_id,
        note=f"Failed on {worker_id}: {error}",
        last_error=error,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    _refund(order, actor=None, memo=f"Refund of failed order {order.order_no}")
    return order


@transaction.atomic
def order_release(*, order: Order, worker_id: str, error: str = "") -> Order:
    """Puts a running order back in the queue, for a retry or because its agent stops."""
    return _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.PENDING,
        actor=None,
        worker_id=worker_id,
        note=f"Released by {worker_id}" + (f": {error}" if error else ""),
        last_error=error,
        claimed_by="",
        lease_expires_at=None,
    )


@transaction.atomic
def order_retry(*, order: Order, worker_id: str, error: str, delay_seconds: float) -> Order:
    """Puts a failed attempt back in the queue, not to be claimed for `delay_seconds`."""
    return _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.PENDING,
        actor=None,
        worker_id=worker_id,
        note=f"Attempt {order.attempts} failed on {worker_id}: {error}; retry in {delay_seconds:.0f} s",
        last_error=error,
        claimed_by="",
        lease_expires_at=None,
        retry_at=timezone.now() + timedelta(seconds=delay_seconds),
    )


def order_renew_leases(*, worker_id: str, order_ids: list[int], lease_seconds: int) -> set[int]:
    """Extends the leases `worker_id` still holds; returns the ids it still holds.

    An order missing from the answer was taken away (its lease expired and the sweep
    returned it to the queue): its result must not be reported.
    """
    lease = timezone.now() + timedelta(seconds=lease_seconds)
    held = Order.objects.filter(pk__in=order_ids, status=OrderStatus.RUNNING, claimed_by=worker_id)
    held.update(lease_expires_at=lease)
    return set(held.values_list("pk", flat=True))


def order_expire_leases(*, max_attempts: int, limit: int = 100) -> int:
    """Running orders whose lease ran out (their agent died): back to the queue, or
    failed and refunded once their attempts are used up. Returns how many."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        stale = Order.objects.filter(status=OrderStatus.RUNNING, lease_expires_at__lt=now).order_by("lease_expires_at")
        if connection.features.has_select_for_update_skip_locked:
            stale = stale.select_for_update(skip_locked=True)
        # Failing one refunds it, which locks its customer: customers in ascending order,
        # as a bulk action's batch takes them, so the two never wait on each other in a cycle.
        for order in sorted(stale[:limit], key=lambda order: (order.customer_id, order.pk)):
            worker = order.claimed_by
            error = f"The lease of {worker} expired (the agent stopped answering)"
            if order.attempts >= max_attempts:
                order_fail(order=order, worker_id=worker, error=error)
            else:
                _transition(
                    order,
                    expected=OrderStatus.RUNNING,
                    to=OrderStatus.PENDING,
                    actor=None,
                    worker_id=worker,
                    note=f"{error}; back in the queue",
                    last_error=error,
                    claimed_by="",
                    lease_expires_at=None,
                )
            expired += 1
    return expired


# --- the agent's own row -------------------------------------------------------------


def agent_start(*, worker_id: str, host: str, pid: int, executor: str, concurrency: int) -> Agent:
    return Agent.objects.create(worker_id=worker_id, host=host, pid=pid, executor=executor, concurrency=concurrency)


def agent_heartbeat(*, worker_id: str, completed: int = 0, failed: int = 0, retried: int = 0) -> None:
    Agent.objects.filter(worker_id=worker_id).update(
        last_heartbeat=timezone.now(),
        completed=F("completed") + completed,
        failed=F("failed") + failed,
        retried=F("retried") + retried,
    )


def agent_stop(*, worker_id: str) -> None:
    now = timezone.now()
    Agent.objects.filter(worker_id=worker_id).update(last_heartbeat=now, stopped_at=now)
