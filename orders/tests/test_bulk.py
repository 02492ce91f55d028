"""Bulk actions: the selection is fixed when they start; batches do each object through
its own service; a key starts one action; a stopped worker's batch is done again."""

from decimal import Decimal
from unittest import mock

import pytest

from dashboard.accounts.audit import AuditAction
from dashboard.accounts.models import AuditEntry
from orders import services
from orders.errors import InvalidRequest
from orders.models import BulkItem, BulkKind, Order, OrderStatus, PaymentKind
from orders.services import bulk as bulk_module
from orders.tests.factories import key, make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


def run_to_end(batch: int = bulk_module.BATCH) -> int:
    rounds = 0
    while services.bulk_work(batch=batch) or services.bulk_work(batch=batch):
        rounds += 1
    return rounds


def test_cancels_the_selected_pending_orders_once_and_skips_the_rest_with_reasons(invariants):
    admin, customer = make_admin(), make_customer("100")
    product, other = make_product(), make_product()
    chosen = [place(customer, product) for _ in range(5)]
    outside = place(customer, other)
    [running] = services.order_claim(worker_id="w", lease_seconds=60)  # the oldest one
    selection = Order.objects.filter(product=product)
    bulk, new = services.bulk_start(
        kind=BulkKind.ORDERS_CANCEL, selection=selection, actor=admin, key="k-1", description="5 orders"
    )
    assert new and bulk.total == 5 and BulkItem.objects.filter(bulk=bulk).count() == 5
    again, new = services.bulk_start(
        kind=BulkKind.ORDERS_CANCEL, selection=selection, actor=admin, key="k-1", description="5 orders"
    )
    assert again == bulk and not new, "a resubmit starts nothing"
    place(customer, product)  # placed after the start: not selected
    assert run_to_end(batch=2) == 3
    bulk.refresh_from_db()
    assert (bulk.done, bulk.skipped, bulk.failed, bulk.finished_at is not None) == (4, 1, 0, True)
    assert running.pk == chosen[0].pk
    skipped = BulkItem.objects.get(bulk=bulk, outcome="skipped")
    assert skipped.object_id == running.pk and skipped.reason == "It was running by then, not pending."
    assert Order.objects.filter(product=product, status=OrderStatus.CANCELLED).count() == 4
    assert Order.objects.filter(product=product, status=OrderStatus.PENDING).count() == 1
    outside.refresh_from_db()
    assert outside.status == OrderStatus.PENDING
    for order in chosen[1:]:
        assert order.payments.filter(kind=PaymentKind.REFUND).count() == 1
        assert order.events.filter(note=f"Cancelled by bulk action {bulk.pk}").exists()
    assert running.notes.get().body.startswith(f"Bulk action {bulk.pk} left it")
    customer.refresh_from_db()
    assert AuditEntry.objects.filter(action=AuditAction.BULK_STARTED).count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.ORDER_CANCELLED, actor=admin).count() == 4


def test_a_batch_that_dies_midway_is_done_again_whole_and_nothing_twice(invariants):
    admin, customer = make_admin(), make_customer("100")
    product = make_product()
    for _ in range(4):
        place(customer, product)
    bulk, _ = services.bulk_start(
        kind=BulkKind.ORDERS_CANCEL, selection=Order.objects.all(), actor=admin, key=key(), description="all"
    )
    real_cancel = bulk_module.order_cancel
    calls = []

    def dies_on_the_third(**kwargs):
        calls.append(kwargs["order"].pk)
        if len(calls) == 3:
            raise SystemExit("the worker was killed")
        return real_cancel(**kwargs)

    with mock.patch.object(bulk_module, "order_cancel", dies_on_the_third), pytest.raises(SystemExit):
        services.bulk_work(batch=10)
    assert Order.objects.filter(status=OrderStatus.CANCELLED).count() == 0, "the batch rolled back whole"
    assert BulkItem.objects.filter(bulk=bulk, outcome="").count() == 4
    run_to_end()
    bulk.refresh_from_db()
    assert (bulk.done, bulk.skipped) == (4, 0)
    customer.refresh_from_db()
    assert customer.balance == Decimal("100.00")


def test_an_object_that_fails_is_counted_with_its_reason_and_the_rest_go_on():
    admin, customer = make_admin(), make_customer("100")
    for _ in range(3):
        place(customer, make_product())
    bulk, _ = services.bulk_start(
        kind=BulkKind.ORDERS_CANCEL, selection=Order.objects.all(), actor=admin, key=key(), description="all"
    )
    real_cancel = bulk_module.order_cancel
    first = Order.objects.order_by("pk").first().pk

    def broken_for_one(**kwargs):
        if kwargs["order"].pk == first:
            raise ValueError("a bug")
        return real_cancel(**kwargs)

    with mock.patch.object(bulk_module, "order_cancel", broken_for_one):
        run_to_end()
    bulk.refresh_from_db()
    assert (bulk.done, bulk.skipped, bulk.failed) == (2, 0, 1)
    assert BulkItem.objects.get(outcome="failed").reason == "ValueError: a bug"
    assert Order.objects.get(pk=first).status == OrderStatus.PENDING


def test_customers_change_level_deactivate_and_activate_skipping_those_already_so():
    admin = make_admin()
    gold = make_level(90, "Gold")
    ann, bo = make_customer(level=gold), make_customer()
    bulk, _ = services.bulk_start(
        kind=BulkKind.CUSTOMERS_LEVEL,
        selection=ann.__class__.objects.filter(pk__in=[ann.pk, bo.pk]),
        actor=admin,
        key=key(),
        description="two",
        params={"level": gold.pk},
    )
    run_to_end()
    bulk.refresh_from_db()
    assert (bulk.done, bulk.skipped) == (1, 1)
    assert BulkItem.objects.get(bulk=bulk, outcome="skipped").reason == "Already on Gold."
    bo.refresh_from_db()
    assert bo.level == gold
    off, _ = services.bulk_start(
        kind=BulkKind.CUSTOMERS_DEACTIVATE,
        selection=ann.__class__.objects.filter(pk=ann.pk),
        actor=admin,
        key=key(),
        description="one",
    )
    run_to_end()
    ann.user.refresh_from_db()
    assert not ann.user.is_active
    assert AuditEntry.objects.filter(action=AuditAction.DEACTIVATED, target_user=ann.user).exists()


@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("orders.delete", {}, "Choose what to do"),
        (BulkKind.CUSTOMERS_LEVEL, {"level": 0}, "Choose the level"),
    ],
)
def test_bad_requests_start_nothing(kind, params, message):
    make_customer()
    with pytest.raises(InvalidRequest, match=message):
        services.bulk_start(
            kind=kind,
            selection=Order.objects.none().model.objects.all(),
            actor=make_admin(),
            key=key(),
            description="x",
            params=params,
        )
    assert not BulkItem.objects.exists()


def test_an_empty_selection_starts_nothing():
    with pytest.raises(InvalidRequest, match="Nothing is selected"):
        services.bulk_start(
            kind=BulkKind.ORDERS_CANCEL, selection=Order.objects.none(), actor=make_admin(), key=key(), description="x"
        )
    from orders.models import BulkAction

    assert not BulkAction.objects.exists()
