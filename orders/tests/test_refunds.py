"""Refunding a completed order, and placing a failed or refunded one again."""

from decimal import Decimal

import pytest

from orders import services
from orders.errors import IdempotencyConflict, IllegalTransition, InsufficientBalance, InvalidRequest
from orders.invariants import check_charges_and_refunds
from orders.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    PriceTier,
)
from orders.tests.factories import key, make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return Order.objects.count(), Payment.objects.count(), LedgerEntry.objects.count(), OrderEvent.objects.count()


def balance_of(customer) -> Decimal:
    customer.refresh_from_db(fields=["balance"])
    return customer.balance


def completed(customer, product, **kwargs) -> Order:
    order = place(customer, product, **kwargs)
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    assert claimed.pk == order.pk
    return services.order_complete(order=claimed, worker_id="w")


def failed(customer, product) -> Order:
    place(customer, product)
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    return services.order_fail(order=claimed, worker_id="w", error="target unreachable")


def test_refunded_is_final_and_a_completed_order_is_neither_open_nor_final():
    assert OrderStatus.REFUNDED in FINAL_STATUSES
    assert OrderStatus.COMPLETED not in FINAL_STATUSES | OPEN_STATUSES


class TestRefund:
    def test_a_completed_order_is_refunded_in_full_once_with_its_reason(self, invariants):
        admin = make_admin()
        customer = make_customer("100")
        order = completed(customer, make_product(tiers=((1, "12.50"),)), quantity=2)
        refunded = services.order_refund(order=order, actor=admin, reason="  Delivered to the wrong account  ")
        assert refunded.status == OrderStatus.REFUNDED and refunded.finished_at == order.finished_at
        assert balance_of(customer) == Decimal("100.00")
        refund = Payment.objects.get(order=order, kind=PaymentKind.REFUND)
        entry = LedgerEntry.objects.get(order=order, kind=LedgerKind.REFUND)
        assert refund.amount == entry.amount == Decimal("25.00") and entry.actor == admin
        assert entry.memo == f"Refund of order {order.order_no}: Delivered to the wrong account"
        event = order.events.get(to_status=OrderStatus.REFUNDED)
        assert (event.from_status, event.actor, event.note) == (
            OrderStatus.COMPLETED,
            admin,
            "Refunded: Delivered to the wrong account",
        )
        before = counts()
        with pytest.raises(IllegalTransition):
            services.order_refund(order=refunded, actor=admin, reason="again")
        assert counts() == before and balance_of(customer) == Decimal("100.00")

    @pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.RUNNING, OrderStatus.CANCELLED])
    def test_only_a_completed_order_is_refunded(self, status, invariants):
        customer = make_customer("100")
        order = place(customer, make_product())
        if status == OrderStatus.RUNNING:
            services.order_claim(worker_id="w", lease_seconds=60)
        if status == OrderStatus.CANCELLED:
            services.order_cancel(order=order, actor=None)
        before, balance = counts(), balance_of(customer)
        with pytest.raises(IllegalTransition):
            services.order_refund(order=order, actor=make_admin(), reason="goodwill")
        assert counts() == before and balance_of(customer) == balance
        assert Order.objects.get(pk=order.pk).status == status

    @pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
    def test_a_reason_is_required_and_bounded(self, reason, invariants):
        customer = make_customer("100")
        order = completed(customer, make_product())
        before = counts()
        with pytest.raises(InvalidRequest):
            services.order_refund(order=order, actor=make_admin(), reason=reason)
        assert counts() == before and Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED

    def test_check_ledger_names_a_refunded_order_without_its_refund(self, invariants):
        customer = make_customer("100")
        order = completed(customer, make_product())
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
        result = check_charges_and_refunds()
        assert not result.ok and result.offenders == [
            f"order {order.order_no} is refunded and charged but was never refunded"
        ]
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)


class TestReorder:
    def test_a_failed_order_is_placed_again_at_todays_price(self, invariants):
        admin = make_admin()
        customer = make_customer("100")
        product = make_product(tiers=((1, "10.00"),))
        first = failed(customer, product)
        PriceTier.objects.filter(product=product).update(unit_price=Decimal("12.00"))
        again = services.order_reorder(order=first, actor=admin, idempotency_key=key())
        assert again.pk != first.pk and again.status == OrderStatus.PENDING
        assert (again.product_id, again.quantity, again.target) == (first.product_id, first.quantity, first.target)
        assert again.unit_price == again.amount == Decimal("12.00") and again.memo == f"Re-order of {first.order_no}"
        assert balance_of(customer) == Decimal("88.00")
        assert again.events.get().actor == admin

    def test_a_refunded_order_is_placed_again_and_a_repeat_of_the_key_places_nothing(self, invariants):
        admin = make_admin()
        customer = make_customer("100")
        order = completed(customer, make_product())
        services.order_refund(order=order, actor=admin, reason="late")
        reorder_key = key()
        again = services.order_reorder(order=Order.objects.get(pk=order.pk), actor=admin, idempotency_key=reorder_key)
        before = counts()
        assert services.order_reorder(order=order, actor=admin, idempotency_key=reorder_key) == again
        assert counts() == before

    def test_a_key_already_used_for_another_order_is_refused(self, invariants):
        customer = make_customer("100")
        product = make_product()
        used = key()
        place(customer, make_product(), idempotency_key=used)
        first = failed(customer, product)
        before = counts()
        with pytest.raises(IdempotencyConflict):
            services.order_reorder(order=first, actor=make_admin(), idempotency_key=used)
        assert counts() == before

    @pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.CANCELLED])
    def test_only_a_failed_or_refunded_order_is_placed_again(self, status, invariants):
        customer = make_customer("100")
        order = (
            completed(customer, make_product()) if status == OrderStatus.COMPLETED else place(customer, make_product())
        )
        if status == OrderStatus.CANCELLED:
            order = services.order_cancel(order=order, actor=None)
        before = counts()
        with pytest.raises(IllegalTransition):
            services.order_reorder(order=order, actor=make_admin(), idempotency_key=key())
        assert counts() == before

    def test_a_short_balance_is_refused_and_writes_nothing(self, invariants):
        customer = make_customer("10")
        first = failed(customer, make_product(tiers=((1, "10.00"),)))
        services.balance_deduct(customer=customer, amount=Decimal("5.00"), idempotency_key=key(), actor=None)
        before = counts()
        with pytest.raises(InsufficientBalance):
            services.order_reorder(order=first, actor=make_admin(), idempotency_key=key())
        assert counts() == before and balance_of(customer) == Decimal("5.00")
