"""The money services under real contention, on PostgreSQL (docs/invariants.md).

Each scenario starts its callers together at a barrier, one database connection
per thread, so that they really race for the same rows; then the main thread
checks what they got and what the database holds. These tests commit for real
(TransactionTestCase semantics): a row lock only means something between two
connections that both see committed data.
"""

import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest
from django.db import connection

from dashboard.accounts.audit import AuditAction
from dashboard.accounts.models import AuditEntry
from orders import services
from orders.errors import IdempotencyConflict, IllegalTransition, InsufficientBalance
from orders.models import (
    BulkAction,
    BulkItem,
    BulkKind,
    BulkOutcome,
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderNote,
    OrderStatus,
    Payment,
    PaymentKind,
)
from orders.tests.conftest import assert_invariants
from orders.tests.factories import key, make_admin, make_customer, make_product, place

pytestmark = [
    pytest.mark.postgres,
    # Flushing after each test also removes the roles the data migration made;
    # serialized_rollback puts them back for the next test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# One connection per thread, on a server (max_connections = 100) that other test
# runs share: calls beyond this many are spread over the same threads.
MAX_THREADS = 25
# Far above any honest run; a thread still alive by then is stuck on a lock.
TIMEOUT_SECONDS = 60


def run_concurrently(call: Callable, args_list: Sequence[tuple], *, expected: tuple[type[Exception], ...] = ()) -> list:
    """Runs call(*args) for every args at once and returns the outcomes in the same order.

    An outcome is what the call returned, or the exception it raised if that is one
    of `expected`. Anything else raised in a thread is raised again here, so no
    failure is lost in a thread.
    """
    threads_needed = min(len(args_list), MAX_THREADS)
    barrier = threading.Barrier(threads_needed, timeout=TIMEOUT_SECONDS)
    lock = threading.Lock()
    outcomes: list = [None] * len(args_list)
    unexpected: list[Exception] = []

    def worker(first: int) -> None:
        try:
            # Connect before the barrier, so the race is between queries, not handshakes.
            connection.ensure_connection()
            barrier.wait()
            for index in range(first, len(args_list), threads_needed):
                try:
                    outcome = call(*args_list[index])
                except expected as error:
                    outcome = error
                with lock:
                    outcomes[index] = outcome
        except Exception as error:
            with lock:
                unexpected.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(first,)) for first in range(threads_needed)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a worker thread is still running"
    if unexpected:
        raise ExceptionGroup("unexpected errors in worker threads", unexpected)
    return outcomes


def of_type(outcomes: list, kind: type) -> list:
    return [outcome for outcome in outcomes if isinstance(outcome, kind)]


def balance_of(customer: Customer) -> Decimal:
    return Customer.objects.get(pk=customer.pk).balance


def test_orders_never_overdraw_the_balance():
    product = make_product(tiers=((1, "10.00"),))
    customer = make_customer("370.00")  # exactly 37 orders at 10.00

    def place_one(idempotency_key: str) -> Order:
        return services.order_place(
            customer=customer, product=product, quantity=1, target="t", idempotency_key=idempotency_key
        )

    outcomes = run_concurrently(place_one, [(key(),) for _ in range(100)], expected=(InsufficientBalance,))

    assert len(of_type(outcomes, Order)) == 37 and len(of_type(outcomes, InsufficientBalance)) == 63
    assert Order.objects.count() == 37 and Payment.objects.filter(kind=PaymentKind.CHARGE).count() == 37
    assert balance_of(customer) == 0
    # Each charge saw the balance its predecessor left: the charges ran one at a time.
    charges = LedgerEntry.objects.filter(kind=LedgerKind.CHARGE)
    assert sorted(charges.values_list("balance_after", flat=True)) == [Decimal(10 * n) for n in range(37)]
    assert_invariants()


def test_concurrent_cancels_refund_once():
    customer = make_customer("50.00")
    order = place(customer, make_product(tiers=((1, "20.00"),)))
    # Every caller holds its own copy that still says pending, as separate requests would.
    copies = [(Order.objects.get(pk=order.pk),) for _ in range(20)]

    outcomes = run_concurrently(
        lambda copy: services.order_cancel(order=copy, actor=None), copies, expected=(IllegalTransition,)
    )

    assert len(of_type(outcomes, Order)) == 1 and len(of_type(outcomes, IllegalTransition)) == 19
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert order.payments.filter(kind=PaymentKind.REFUND).count() == 1
    assert order.ledger_entries.filter(kind=LedgerKind.REFUND).count() == 1
    assert order.events.filter(to_status=OrderStatus.CANCELLED).count() == 1
    assert balance_of(customer) == Decimal("50.00")
    assert_invariants()


def test_concurrent_refunds_of_a_completed_order_refund_once():
    customer = make_customer("50.00")
    place(customer, make_product(tiers=((1, "20.00"),)))
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    order = services.order_complete(order=claimed, worker_id="w")
    admin = make_admin()
    copies = [(Order.objects.get(pk=order.pk),) for _ in range(20)]

    outcomes = run_concurrently(
        lambda copy: services.order_refund(order=copy, actor=admin, reason="not delivered"),
        copies,
        expected=(IllegalTransition,),
    )

    assert len(of_type(outcomes, Order)) == 1 and len(of_type(outcomes, IllegalTransition)) == 19
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert order.payments.filter(kind=PaymentKind.REFUND).count() == 1
    assert order.ledger_entries.filter(kind=LedgerKind.REFUND).count() == 1
    assert balance_of(customer) == Decimal("50.00")
    assert_invariants()


def test_re_orders_of_one_failed_order_with_one_key_place_once():
    customer = make_customer("50.00")
    place(customer, make_product(tiers=((1, "20.00"),)))
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    failed = services.order_fail(order=claimed, worker_id="w", error="unreachable")
    admin, reorder_key = make_admin(), key()

    outcomes = run_concurrently(
        lambda: services.order_reorder(order=failed, actor=admin, idempotency_key=reorder_key), [()] * 10
    )

    assert len({order.pk for order in outcomes}) == 1
    assert Order.objects.filter(customer=customer).count() == 2
    assert balance_of(customer) == Decimal("30.00")
    assert_invariants()


def test_top_ups_and_deductions_keep_the_books():
    initial = Decimal("100.00")
    customer = make_customer(initial)
    top_ups = [Decimal("10.00") + Decimal(n) / 100 for n in range(25)]
    deductions = [Decimal("30.00") + Decimal(n) / 100 for n in range(25)]
    # 100 + 253 of credit covers at most 11 deductions of 30 or more, so at least 14
    # must be refused whatever the order; and the first 3 always fit.
    operations = [
        operation
        for top_up, deduction in zip(top_ups, deductions)
        for operation in ((services.balance_top_up, top_up), (services.balance_deduct, deduction))
    ]

    def apply(service: Callable, amount: Decimal) -> LedgerEntry:
        return service(customer=customer, amount=amount, idempotency_key=key(), actor=None)

    outcomes = run_concurrently(apply, operations, expected=(InsufficientBalance,))

    for (service, _), outcome in zip(operations, outcomes):
        if isinstance(outcome, InsufficientBalance):
            assert service is services.balance_deduct
    entries = of_type(outcomes, LedgerEntry)
    credited = [entry.amount for entry in entries if entry.kind == LedgerKind.TOP_UP]
    debited = [-entry.amount for entry in entries if entry.kind == LedgerKind.DEDUCT]
    assert sorted(credited) == top_ups
    assert 3 <= len(debited) <= 11
    assert len(of_type(outcomes, InsufficientBalance)) == 25 - len(debited)
    assert balance_of(customer) == initial + sum(credited) - sum(debited)
    assert customer.ledger_entries.count() == 1 + len(entries)
    assert not customer.ledger_entries.filter(balance_after__lt=0).exists()
    assert_invariants()


def test_one_top_up_key_sent_ten_times_credits_once():
    customer = make_customer()

    outcomes = run_concurrently(
        lambda: services.balance_top_up(
            customer=customer, amount=Decimal("25.00"), idempotency_key="retry", actor=None
        ),
        [()] * 10,
    )

    entry = customer.ledger_entries.get()
    assert [outcome.pk for outcome in outcomes] == [entry.pk] * 10
    assert balance_of(customer) == Decimal("25.00")
    assert_invariants()


def test_one_order_key_sent_ten_times_places_once():
    customer = make_customer("100.00")
    product = make_product(tiers=((1, "10.00"),))

    outcomes = run_concurrently(
        lambda: services.order_place(
            customer=customer, product=product, quantity=3, target="t", idempotency_key="retry"
        ),
        [()] * 10,
    )

    order = Order.objects.get()
    assert [outcome.pk for outcome in outcomes] == [order.pk] * 10
    assert order.payments.count() == 1 and order.ledger_entries.count() == 1
    assert balance_of(customer) == Decimal("70.00")
    assert_invariants()


def test_one_top_up_key_with_other_amounts_credits_once():
    customer = make_customer()
    # Five different amounts, each sent twice: a twin of the winner gets the winner back.
    amounts = [(Decimal(1 + n % 5),) for n in range(10)]

    outcomes = run_concurrently(
        lambda amount: services.balance_top_up(customer=customer, amount=amount, idempotency_key="reused", actor=None),
        amounts,
        expected=(IdempotencyConflict,),
    )

    entry = customer.ledger_entries.get()
    for (amount,), outcome in zip(amounts, outcomes):
        if amount == entry.amount:
            assert outcome.pk == entry.pk
        else:
            assert isinstance(outcome, IdempotencyConflict)
    assert len(of_type(outcomes, IdempotencyConflict)) == 8
    assert balance_of(customer) == entry.amount
    assert_invariants()


def test_one_order_key_with_other_quantities_places_once():
    customer = make_customer("100.00")
    product = make_product(tiers=((1, "10.00"),))
    quantities = [(1 + n % 5,) for n in range(10)]

    outcomes = run_concurrently(
        lambda quantity: services.order_place(
            customer=customer, product=product, quantity=quantity, target="t", idempotency_key="reused"
        ),
        quantities,
        expected=(IdempotencyConflict,),
    )

    order = Order.objects.get()
    for (quantity,), outcome in zip(quantities, outcomes):
        if quantity == order.quantity:
            assert outcome.pk == order.pk
        else:
            assert isinstance(outcome, IdempotencyConflict)
    assert len(of_type(outcomes, IdempotencyConflict)) == 8
    assert order.payments.count() == 1
    assert balance_of(customer) == Decimal("100.00") - order.amount
    assert_invariants()


def claim_until_empty(worker_id: str) -> list[list[Order]]:
    batches = []
    while batch := services.order_claim(worker_id=worker_id, lease_seconds=60, limit=5):
        batches.append(batch)
    return batches


def test_agents_claim_every_order_exactly_once():
    customer = make_customer("600.00")
    product = make_product(tiers=((1, "10.00"),))
    order_pks = {place(customer, product).pk for _ in range(60)}
    workers = [(f"agent-{n}",) for n in range(10)]

    outcomes = run_concurrently(claim_until_empty, workers)

    times_claimed = Counter()
    claimed_by = {}
    for (worker_id,), batches in zip(workers, outcomes):
        for batch in batches:
            assert 1 <= len(batch) <= 5
            for order in batch:
                times_claimed[order.pk] += 1
                claimed_by[order.pk] = worker_id
    assert sum(times_claimed.values()) == 60 and set(times_claimed) == order_pks
    assert set(times_claimed.values()) == {1}
    assert dict(Order.objects.values_list("pk", "claimed_by")) == claimed_by
    assert set(Order.objects.values_list("status", "attempts")) == {(OrderStatus.RUNNING, 1)}
    assert OrderEvent.objects.filter(to_status=OrderStatus.RUNNING).count() == 60
    assert_invariants()


def test_cancels_racing_the_agents_never_both_win():
    # I5: an order the customer cancelled is never run, and one an agent took is never refunded.
    customer = make_customer("200.00")
    product = make_product(tiers=((1, "10.00"),))
    orders = [place(customer, product) for _ in range(20)]

    def cancel(order: Order) -> Order:
        return services.order_cancel(order=order, actor=None)

    outcomes = run_concurrently(
        lambda action, subject: action(subject),
        [(cancel, order) for order in orders] + [(claim_until_empty, f"agent-{n}") for n in range(5)],
        expected=(IllegalTransition,),
    )

    cancelled = {order.pk for order in of_type(outcomes[:20], Order)}
    claimed = {order.pk for batches in outcomes[20:] for batch in batches for order in batch}
    assert len(of_type(outcomes[:20], IllegalTransition)) == 20 - len(cancelled)
    assert not cancelled & claimed and cancelled | claimed == {order.pk for order in orders}
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert all(statuses[pk] == OrderStatus.CANCELLED for pk in cancelled)
    assert all(statuses[pk] == OrderStatus.RUNNING for pk in claimed)
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == len(cancelled)
    assert balance_of(customer) == Decimal("10.00") * len(cancelled)
    assert_invariants()


def test_cancel_requests_racing_each_other_over_http_refund_once():
    """Two browsers (the customer's and an admin's) press "Cancel order" together."""
    from django.test import Client

    from orders.tests.factories import make_admin

    customer = make_customer("40.00")
    order = place(customer, make_product(tiers=((1, "15.00"),)))
    browsers = []
    for user in [customer.user, make_admin()] * 5:
        browser = Client()
        browser.force_login(user)
        browsers.append((browser,))

    outcomes = run_concurrently(
        lambda browser: browser.post(f"/orders/{order.order_no}/cancel/", headers={"HX-Request": "true"}),
        browsers,
    )

    toasts = [json.loads(response["HX-Trigger"])["messages"][0]["tags"] for response in outcomes]
    assert all(response.status_code == 204 for response in outcomes)
    assert Counter(toasts) == {"success": 1, "error": 9}
    assert order.ledger_entries.filter(kind=LedgerKind.REFUND).count() == 1
    assert balance_of(customer) == Decimal("40.00")
    assert_invariants()


def test_a_cancel_racing_a_claim_100_times_never_both():
    """Each order ends cancelled with one refund, or claimed and completed with none."""
    customer = make_customer("1000.00")
    product = make_product(tiers=((1, "1.00"),))

    def cancel(order: Order):
        return services.order_cancel(order=Order.objects.get(pk=order.pk), actor=None)

    def claim_and_complete(order: Order):
        for claimed in services.order_claim(worker_id=f"agent-{order.pk}", lease_seconds=60, limit=1):
            services.order_complete(order=claimed, worker_id=f"agent-{order.pk}")

    for _ in range(100):
        # One pending order at a time, so the agent's claim can only take this one.
        order = place(customer, product)
        run_concurrently(
            lambda action: action(order),  # noqa: B023 (run before the loop moves on)
            [(cancel,), (claim_and_complete,)],
            expected=(IllegalTransition,),
        )

    for order in Order.objects.all():
        refunds = order.ledger_entries.filter(kind=LedgerKind.REFUND).count()
        if order.status == OrderStatus.CANCELLED:
            assert refunds == 1 and not order.events.filter(to_status=OrderStatus.RUNNING).exists()
        else:
            assert order.status == OrderStatus.COMPLETED and refunds == 0
    assert_invariants()


def _card_order(customer, product) -> Order:
    return services.order_place(
        customer=customer,
        product=product,
        quantity=1,
        target="t",
        idempotency_key=key(),
        method="card",
        callback_url="http://testserver/payments/callback/sandbox/",
    )


def test_callbacks_arriving_together_for_one_payment_have_one_effect():
    import json as _json
    import time as _time

    from django.test import Client

    from orders.gateways.base import sign

    customer = make_customer("0")
    order = _card_order(customer, make_product(tiers=((1, "9.00"),)))
    token = order.payments.get().provider_token
    body = _json.dumps({"token": token, "status": "paid", "amount": "9.00"}).encode()
    stamp = str(int(_time.time()))
    headers = {"X-Timestamp": stamp, "X-Signature": sign("sandbox-development-secret", stamp, body)}

    outcomes = run_concurrently(
        lambda: Client().post("/payments/callback/sandbox/", body, content_type="application/json", headers=headers),
        [() for _ in range(10)],
    )

    assert [response.status_code for response in outcomes] == [200] * 10
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.events.filter(to_status=OrderStatus.PENDING).count() == 1
    assert_invariants()


def test_a_callback_racing_the_expiry_sweep_pays_or_cancels_never_both():
    from datetime import timedelta

    from django.utils import timezone

    customer = make_customer("0")
    product = make_product(tiers=((1, "4.00"),))
    for _ in range(30):
        order = _card_order(customer, product)
        payment = order.payments.get()
        Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=31))
        run_concurrently(
            lambda action: action(),
            [
                (
                    lambda: services.payment_settle(
                        token=payment.provider_token,  # noqa: B023 (run before the loop moves on)
                        paid=True,
                        amount=payment.amount,  # noqa: B023
                        source="callback",
                    ),
                ),
                (lambda: services.payment_expire_unpaid(older_than_minutes=30),),
            ],
        )
    for order in Order.objects.all():
        charge = order.payments.get(kind=PaymentKind.CHARGE)
        if order.status == OrderStatus.PENDING:
            assert charge.status == "succeeded"
        else:
            assert order.status == OrderStatus.CANCELLED and charge.status == "failed"
        assert not order.payments.filter(kind=PaymentKind.REFUND).exists()
        assert not order.ledger_entries.exists()
    assert balance_of(customer) == Decimal("0.00")
    assert_invariants()


def _work_bulk_to_end(bulk=None) -> int:
    """An agent's share of a bulk action (or of the oldest): batches until none is left for it."""
    taken = 0
    while done := services.bulk_work(bulk=bulk, batch=7):
        taken += done
    return taken


def _fulfil_until_empty(worker_id: str) -> int:
    """An agent: claims, then completes the even orders and fails (refunds) the odd."""
    taken = 0
    while batch := services.order_claim(worker_id=worker_id, lease_seconds=60, limit=3):
        for order in batch:
            if order.pk % 2:
                services.order_fail(order=order, worker_id=worker_id, error="unreachable")
            else:
                services.order_complete(order=order, worker_id=worker_id)
        taken += len(batch)
    return taken


def _cancel_own(customer: Customer) -> int:
    """A customer cancelling their orders, newest first (the bulk action goes oldest first)."""
    cancelled = 0
    for order in Order.objects.filter(customer=customer).order_by("-pk"):
        try:
            services.order_cancel(order=order, actor=customer.user)
            cancelled += 1
        except IllegalTransition:
            pass
    return cancelled


def test_a_bulk_cancel_racing_the_agents_and_the_customers_refunds_each_order_once():
    """Every order ends cancelled with one refund, or claimed with none (completed) or one
    (failed); the bulk action counts each order once; no caller meets a deadlock."""

    product = make_product(tiers=((1, "10.00"),))
    customers = [make_customer("100.00") for _ in range(8)]
    orders = [place(customer, product) for _ in range(10) for customer in customers]
    admin = make_admin()
    bulk, _ = services.bulk_start(
        kind=BulkKind.ORDERS_CANCEL, selection=Order.objects.all(), actor=admin, key=key(), description="all"
    )

    outcomes = run_concurrently(
        lambda action, *args: action(*args),
        [(_work_bulk_to_end,)] * 3
        + [(_fulfil_until_empty, f"agent-{n}") for n in range(3)]
        + [(_cancel_own, customer) for customer in customers],
    )

    assert sum(outcomes[:3]) == 80, "each item was taken by one bulk worker"
    bulk.refresh_from_db()
    assert bulk.finished_at is not None and bulk.failed == 0 and bulk.done + bulk.skipped == 80
    by_bulk = set(BulkItem.objects.filter(bulk=bulk, outcome=BulkOutcome.DONE).values_list("object_id", flat=True))
    claimed = sum(outcomes[3:6])
    by_customers = sum(outcomes[6:])
    assert len(by_bulk) + claimed + by_customers == 80
    for order in Order.objects.all():
        refunds = order.ledger_entries.filter(kind=LedgerKind.REFUND).count()
        ran = order.events.filter(to_status=OrderStatus.RUNNING).exists()
        if order.status == OrderStatus.CANCELLED:
            assert refunds == 1 and not ran
            cancelled_by = order.events.get(to_status=OrderStatus.CANCELLED).actor
            assert (cancelled_by == admin) == (order.pk in by_bulk)
        elif order.status == OrderStatus.FAILED:
            assert refunds == 1 and ran and order.pk not in by_bulk
        else:
            assert order.status == OrderStatus.COMPLETED and refunds == 0 and ran
    # What the bulk action left, it says on the order's own timeline.
    skipped = set(BulkItem.objects.filter(bulk=bulk, outcome=BulkOutcome.SKIPPED).values_list("object_id", flat=True))
    noted = set(
        OrderNote.objects.filter(body__startswith=f"Bulk action {bulk.pk} left it").values_list("order_id", flat=True)
    )
    assert skipped == noted == {order.pk for order in orders} - by_bulk
    for customer in customers:
        completed = Order.objects.filter(customer=customer, status=OrderStatus.COMPLETED).count()
        assert balance_of(customer) == Decimal("100.00") - 10 * completed
    assert BulkAction.objects.count() == 1
    assert_invariants()


def test_one_bulk_action_sent_ten_times_starts_and_runs_once():
    """A resubmit or a double click (the confirmation's key, sent again) starts nothing twice."""

    product = make_product(tiers=((1, "10.00"),))
    customer = make_customer("300.00")
    for _ in range(30):
        place(customer, product)
    admin, bulk_key = make_admin(), key()

    def start():
        bulk, new = services.bulk_start(
            kind=BulkKind.ORDERS_CANCEL,
            selection=Order.objects.filter(status=OrderStatus.PENDING),
            actor=admin,
            key=bulk_key,
            description="30 pending",
            expected=30,
        )
        return bulk.pk, new

    outcomes = run_concurrently(start, [()] * 10)
    run_concurrently(_work_bulk_to_end, [()] * 3)

    assert len({pk for pk, _ in outcomes}) == 1 and sum(new for _, new in outcomes) == 1
    assert BulkAction.objects.count() == 1 and BulkItem.objects.count() == 30
    assert AuditEntry.objects.filter(action=AuditAction.BULK_STARTED).count() == 1
    bulk = BulkAction.objects.get()
    assert (bulk.total, bulk.done, bulk.skipped, bulk.failed) == (30, 30, 0, 0)
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 30
    assert balance_of(customer) == Decimal("300.00")
    assert_invariants()


def test_two_bulk_actions_over_the_same_orders_refund_each_once():
    """Two admins select the same rows and confirm at the same moment: what one cancelled,
    the other skips."""

    product = make_product(tiers=((1, "10.00"),))
    customers = [make_customer("100.00") for _ in range(5)]
    for customer in customers:
        for _ in range(10):
            place(customer, product)
    bulks = [
        services.bulk_start(
            kind=BulkKind.ORDERS_CANCEL,
            selection=Order.objects.all(),
            actor=make_admin(),
            key=key(),
            description=str(n),
        )[0]
        for n in range(2)
    ]

    run_concurrently(_work_bulk_to_end, [(bulk,) for bulk in bulks] * 2)

    first, second = BulkAction.objects.order_by("pk")
    assert first.done + second.done == 50 and first.skipped + second.skipped == 50
    assert first.failed == second.failed == 0
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 50
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 50
    assert all(balance_of(customer) == Decimal("100.00") for customer in customers)
    assert_invariants()
