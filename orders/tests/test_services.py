from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from dashboard.accounts import sms
from orders import services
from orders.errors import (
    IdempotencyConflict,
    IllegalTransition,
    InsufficientBalance,
    InvalidAmount,
    InvalidRequest,
    ProductUnavailable,
    QuantityBelowMinimum,
)
from orders.models import (
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    Product,
)
from orders.tests.factories import key, make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        Payment.objects.count(),
        LedgerEntry.objects.count(),
        OrderEvent.objects.count(),
    )


def balance_of(customer: Customer) -> Decimal:
    return Customer.objects.get(pk=customer.pk).balance


class TestCustomerCreate:
    @pytest.fixture
    def texts(self, settings) -> list[tuple[str, str]]:
        settings.SMS_BACKEND = "locmem"
        sms.outbox.clear()
        return sms.outbox

    def create(self, **kwargs):
        request = {"username": "amy", "password": None, "name": "Amy", "mobile": "+8613700000001"}
        return services.customer_create(**{**request, "level": make_level(), **kwargs})

    def test_a_set_password_link_is_texted_once_the_customer_is_committed(self, texts):
        customer = self.create(send_set_password_link=True)
        ((to, text),) = texts
        assert to == customer.mobile and "/account/set-password/" in text
        assert customer.set_password_link_sent is True

    def test_nothing_is_texted_unless_asked(self, texts):
        assert self.create().set_password_link_sent is False and texts == []

    def test_a_text_that_cannot_be_sent_leaves_the_customer_created(self, settings):
        settings.SMS_BACKEND = ""
        customer = self.create(send_set_password_link=True)
        assert customer.set_password_link_sent is False and Customer.objects.filter(pk=customer.pk).exists()

    def test_no_text_is_sent_when_the_creation_rolls_back(self, texts):
        taken = make_customer()
        with pytest.raises(IntegrityError):
            self.create(mobile=taken.mobile, send_set_password_link=True)
        assert texts == [] and not get_user_model().objects.filter(username="amy").exists()


class TestBalance:
    def test_top_up_credits_and_writes_ledger(self, invariants):
        admin = make_admin()
        customer = make_customer()
        entry = services.balance_top_up(
            customer=customer, amount=Decimal("100.50"), memo="cash", idempotency_key="k1", actor=admin
        )
        assert balance_of(customer) == Decimal("100.50")
        assert (entry.kind, entry.amount, entry.balance_after) == (
            LedgerKind.TOP_UP,
            Decimal("100.50"),
            Decimal("100.50"),
        )
        assert entry.actor == admin and entry.memo == "cash" and len(entry.entry_no) == 14

    def test_deduct_debits(self, invariants):
        customer = make_customer("50")
        entry = services.balance_deduct(customer=customer, amount=Decimal("20"), idempotency_key=key(), actor=None)
        assert entry.amount == Decimal("-20.00") and entry.balance_after == Decimal("30.00")
        assert balance_of(customer) == Decimal("30.00")

    def test_deduct_of_exactly_the_balance_leaves_zero(self, invariants):
        customer = make_customer("12.34")
        services.balance_deduct(customer=customer, amount=Decimal("12.34"), idempotency_key=key(), actor=None)
        assert balance_of(customer) == 0

    def test_deduct_beyond_balance_is_refused_and_writes_nothing(self, invariants):
        customer = make_customer("10")
        before = LedgerEntry.objects.count()
        with pytest.raises(InsufficientBalance):
            services.balance_deduct(customer=customer, amount=Decimal("10.01"), idempotency_key=key(), actor=None)
        assert balance_of(customer) == Decimal("10")
        assert LedgerEntry.objects.count() == before

    @pytest.mark.parametrize(
        "amount", [Decimal("0"), Decimal("-1"), Decimal("0.001"), Decimal("NaN"), Decimal("1E+11"), 5.0]
    )
    def test_bad_amounts_are_refused_and_write_nothing(self, amount, invariants):
        customer = make_customer()
        for service in (services.balance_top_up, services.balance_deduct):
            with pytest.raises(InvalidAmount):
                service(customer=customer, amount=amount, idempotency_key=key(), actor=None)
        assert LedgerEntry.objects.count() == 0 and balance_of(customer) == 0

    def test_balance_cannot_exceed_the_column(self, invariants):
        customer = make_customer("9999999999.99")
        with pytest.raises(InvalidAmount):
            services.balance_top_up(customer=customer, amount=Decimal("0.01"), idempotency_key=key(), actor=None)
        assert balance_of(customer) == Decimal("9999999999.99")

    def test_same_key_same_parameters_returns_first_result(self, invariants):
        customer = make_customer()
        first = services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="same", actor=None)
        again = services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="same", actor=None)
        assert again.pk == first.pk
        assert balance_of(customer) == Decimal("5") and LedgerEntry.objects.count() == 1

    @pytest.mark.parametrize(
        "service, amount, memo",
        [
            (services.balance_top_up, "6", ""),
            (services.balance_top_up, "5", "other memo"),
            (services.balance_deduct, "5", ""),
        ],
    )
    def test_same_key_other_parameters_is_a_conflict(self, service, amount, memo, invariants):
        customer = make_customer()
        services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="same", actor=None)
        with pytest.raises(IdempotencyConflict):
            service(customer=customer, amount=Decimal(amount), memo=memo, idempotency_key="same", actor=None)
        assert balance_of(customer) == Decimal("5") and LedgerEntry.objects.count() == 1

    def test_keys_are_scoped_to_the_customer(self, invariants):
        one, two = make_customer(), make_customer()
        services.balance_top_up(customer=one, amount=Decimal("1"), idempotency_key="shared", actor=None)
        services.balance_top_up(customer=two, amount=Decimal("2"), idempotency_key="shared", actor=None)
        assert (balance_of(one), balance_of(two)) == (Decimal("1"), Decimal("2"))

    def test_many_small_amounts_stay_exact(self, invariants):
        customer = make_customer()
        for _ in range(30):
            services.balance_top_up(customer=customer, amount=Decimal("0.10"), idempotency_key=key(), actor=None)
        for _ in range(10):
            services.balance_deduct(customer=customer, amount=Decimal("0.30"), idempotency_key=key(), actor=None)
        assert balance_of(customer) == Decimal("0.00")


class TestPlaceOrder:
    def test_prices_from_the_tier_and_level(self, invariants):
        level = make_level(percent=90)
        product = make_product(tiers=((1, "10.00"), (10, "8.00"), (100, "7.50")))
        customer = make_customer("1000", level=level)
        order = place(customer, product, quantity=15, memo="rush")
        assert (order.unit_price, order.list_amount, order.percent, order.amount) == (
            Decimal("8.00"),
            Decimal("120.00"),
            90,
            Decimal("108.00"),
        )
        assert order.status == OrderStatus.PENDING and len(order.order_no) == 13
        assert balance_of(customer) == Decimal("892.00")
        payment = order.payments.get()
        assert (payment.kind, payment.status, payment.amount) == (PaymentKind.CHARGE, "succeeded", Decimal("108.00"))
        entry = order.ledger_entries.get()
        assert (entry.kind, entry.amount, entry.balance_after) == ("charge", Decimal("-108.00"), Decimal("892.00"))
        event = order.events.get()
        assert (event.from_status, event.to_status) == ("", OrderStatus.PENDING)

    def test_rounds_half_up_once(self, invariants):
        level = make_level(percent=85)
        product = make_product(tiers=((1, "0.10"),))
        customer = make_customer("10", level=level)
        # 0.10 × 3 × 85% = 0.255 → 0.26
        assert place(customer, product, quantity=3).amount == Decimal("0.26")

    def test_exact_tier_boundary_uses_that_tier(self, invariants):
        product = make_product(tiers=((1, "10.00"), (10, "8.00")))
        customer = make_customer("1000")
        assert place(customer, product, quantity=9).unit_price == Decimal("10.00")
        assert place(customer, product, quantity=10).unit_price == Decimal("8.00")

    def test_insufficient_balance_writes_nothing(self, invariants):
        product = make_product(tiers=((1, "10.00"),))
        customer = make_customer("19.99")
        before = counts()
        with pytest.raises(InsufficientBalance) as refused:
            place(customer, product, quantity=2)
        assert refused.value.message == "Insufficient balance"
        assert counts() == before and balance_of(customer) == Decimal("19.99")

    @pytest.mark.parametrize(
        "quantity, error", [(0, QuantityBelowMinimum), (-3, QuantityBelowMinimum), (4, QuantityBelowMinimum)]
    )
    def test_quantity_below_the_smallest_tier_is_refused(self, quantity, error, invariants):
        product = make_product(tiers=((5, "1.00"),))
        customer = make_customer("100")
        before = counts()
        with pytest.raises(error):
            place(customer, product, quantity=quantity)
        assert counts() == before

    def test_inactive_product_and_product_without_tiers_are_refused(self, invariants):
        customer = make_customer("100")
        for product in (make_product(active=False), make_product(tiers=())):
            with pytest.raises(ProductUnavailable):
                place(customer, product)
        assert Order.objects.count() == 0

    def test_a_stale_copy_of_a_deactivated_product_is_refused(self, invariants):
        product = make_product()
        customer = make_customer("100")
        Product.objects.filter(pk=product.pk).update(active=False)
        with pytest.raises(ProductUnavailable):
            place(customer, product)
        assert Order.objects.count() == 0 and balance_of(customer) == Decimal("100")

    def test_amount_rounding_to_zero_is_refused(self, invariants):
        product = make_product(tiers=((1, "0.01"),))
        customer = make_customer("1", level=make_level(percent=10))
        with pytest.raises(InvalidAmount):
            place(customer, product)

    def test_idempotent_replay_and_conflict(self, invariants):
        product = make_product()
        customer = make_customer("100")
        first = place(customer, product, quantity=2, idempotency_key="click")
        assert place(customer, product, quantity=2, idempotency_key="click").pk == first.pk
        before = counts()
        with pytest.raises(IdempotencyConflict):
            place(customer, product, quantity=3, idempotency_key="click")
        assert counts() == before and balance_of(customer) == Decimal("80.00")

    @pytest.mark.parametrize("first, then", [("card", "balance"), ("balance", "card")])
    def test_a_key_replayed_with_another_payment_method_is_refused(self, invariants, first, then):
        product = make_product()
        customer = make_customer("100")
        urls = {"callback_url": "http://testserver/payments/callback/sandbox/", "return_url": "http://testserver/"}
        place(customer, product, idempotency_key="click", method=first, **urls)
        before = counts()
        with pytest.raises(IdempotencyConflict):
            place(customer, product, idempotency_key="click", method=then, **urls)
        assert counts() == before

    def test_a_card_order_replayed_after_its_gateway_is_switched_off_is_still_the_answer(self, invariants, settings):
        product = make_product()
        customer = make_customer("100")
        urls = {"callback_url": "http://testserver/payments/callback/sandbox/", "return_url": "http://testserver/"}
        first = place(customer, product, idempotency_key="click", method="card", **urls)
        settings.PAYMENT_GATEWAY = ""
        before = counts()
        assert place(customer, product, idempotency_key="click", method="card", **urls).pk == first.pk
        with pytest.raises(InvalidRequest):
            place(customer, product, idempotency_key="another click", method="card", **urls)
        assert counts() == before

    def test_level_change_prices_new_orders_only(self, invariants):
        product = make_product(tiers=((1, "10.00"),))
        customer = make_customer("100", level=make_level(percent=100))
        old = place(customer, product)
        services.customer_change_level(customer=customer, level=make_level(percent=50), actor=None)
        new = place(customer, product)
        old.refresh_from_db()
        assert (old.amount, new.amount) == (Decimal("10.00"), Decimal("5.00"))


class TestInputBeyondTheColumns:
    """Refused with a domain error, never a database error (PostgreSQL raises, SQLite stores)."""

    def test_quantity_beyond_the_column(self, invariants):
        customer = make_customer("1000000", level=make_level(percent=1))
        before = counts()
        with pytest.raises(InvalidRequest, match="at most 2,147,483,647"):
            place(customer, make_product(tiers=((1, "0.01"),)), quantity=3_000_000_000)
        assert counts() == before

    def test_list_amount_beyond_the_money_column(self, invariants):
        customer = make_customer("200000000", level=make_level(percent=1))
        with pytest.raises(InvalidAmount, match="too large"):
            place(customer, make_product(tiers=((1, "9999999.00"),)), quantity=2000)
        assert Order.objects.count() == 0

    @pytest.mark.parametrize(
        "field, value, message",
        [
            ("idempotency_key", "k" * 65, "idempotency key is too long"),
            ("idempotency_key", " ", "idempotency key is required"),
            ("target", "t" * 501, "target is too long"),
            ("target", "  ", "target is required"),
            ("memo", "m" * 256, "memo is too long"),
        ],
    )
    def test_order_text_beyond_its_column(self, field, value, message, invariants):
        customer = make_customer("100")
        with pytest.raises(InvalidRequest, match=message):
            place(customer, make_product(), **{field: value})
        assert Order.objects.count() == 0 and balance_of(customer) == Decimal("100")

    @pytest.mark.parametrize(
        "field, value", [("idempotency_key", "k" * 65), ("idempotency_key", ""), ("memo", "m" * 256)]
    )
    def test_balance_text_beyond_its_column(self, field, value, invariants):
        customer = make_customer("100")
        request = {"idempotency_key": key(), "memo": "", field: value}
        for service in (services.balance_top_up, services.balance_deduct):
            with pytest.raises(InvalidRequest):
                service(customer=customer, amount=Decimal("1"), actor=None, **request)
        assert LedgerEntry.objects.count() == 1 and balance_of(customer) == Decimal("100")


class TestCancel:
    def test_cancel_refunds_in_full(self, invariants):
        admin = make_admin()
        product = make_product()
        customer = make_customer("10")
        order = place(customer, product)
        assert balance_of(customer) == 0
        cancelled = services.order_cancel(order=order, actor=admin, note="customer asked")
        assert cancelled.status == OrderStatus.CANCELLED and cancelled.finished_at is not None
        assert balance_of(customer) == Decimal("10.00")
        refund = cancelled.payments.get(kind=PaymentKind.REFUND)
        assert refund.amount == Decimal("10.00")
        entry = cancelled.ledger_entries.get(kind=LedgerKind.REFUND)
        assert (entry.amount, entry.balance_after, entry.actor) == (Decimal("10.00"), Decimal("10.00"), admin)
        assert list(cancelled.events.values_list("to_status", flat=True)) == ["pending", "cancelled"]

    def test_second_cancel_is_refused_and_refunds_nothing(self, invariants):
        customer = make_customer("10")
        order = place(customer, make_product())
        services.order_cancel(order=order, actor=None)
        before = counts()
        with pytest.raises(IllegalTransition):
            services.order_cancel(order=order, actor=None)  # a stale copy that still says pending
        assert counts() == before and balance_of(customer) == Decimal("10.00")

    @pytest.mark.parametrize("status", [OrderStatus.RUNNING, OrderStatus.COMPLETED])
    def test_only_pending_orders_can_be_cancelled(self, status, invariants):
        customer = make_customer("10")
        order = place(customer, make_product())
        [claimed] = services.order_claim(worker_id="w1", lease_seconds=60)
        if status == OrderStatus.COMPLETED:
            services.order_complete(order=claimed, worker_id="w1")
        before = counts()
        with pytest.raises(IllegalTransition):
            services.order_cancel(order=order, actor=None)
        assert counts() == before and Order.objects.get(pk=order.pk).status == status


class TestAgentTransitions:
    def test_claim_takes_oldest_pending_and_sets_lease(self, invariants):
        customer = make_customer("100")
        product = make_product()
        first, second, third = (place(customer, product) for _ in range(3))
        services.order_cancel(order=second, actor=None)
        claimed = services.order_claim(worker_id="agent-1", lease_seconds=30, limit=5)
        assert [order.pk for order in claimed] == [first.pk, third.pk]
        for order in claimed:
            assert order.status == OrderStatus.RUNNING and order.claimed_by == "agent-1"
            assert order.attempts == 1 and order.lease_expires_at > order.started_at
        assert services.order_claim(worker_id="agent-2", lease_seconds=30) == []

    def test_complete(self, invariants):
        customer = make_customer("100")
        place(customer, make_product())
        [order] = services.order_claim(worker_id="w", lease_seconds=30)
        done = services.order_complete(order=order, worker_id="w")
        assert done.status == OrderStatus.COMPLETED and done.finished_at and done.lease_expires_at is None
        assert balance_of(customer) == Decimal("90.00")
        with pytest.raises(IllegalTransition):
            services.order_complete(order=order, worker_id="w")
        assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.COMPLETED).count() == 1

    def test_fail_refunds(self, invariants):
        customer = make_customer("100")
        place(customer, make_product())
        [order] = services.order_claim(worker_id="w", lease_seconds=30)
        failed = services.order_fail(order=order, worker_id="w", error="target unreachable")
        assert failed.status == OrderStatus.FAILED and failed.last_error == "target unreachable"
        assert balance_of(customer) == Decimal("100.00")
        assert failed.payments.filter(kind=PaymentKind.REFUND).count() == 1

    def test_release_returns_to_pending_and_attempts_count(self, invariants):
        customer = make_customer("100")
        place(customer, make_product())
        [order] = services.order_claim(worker_id="w", lease_seconds=30)
        released = services.order_release(order=order, worker_id="w", error="timeout")
        assert released.status == OrderStatus.PENDING and released.claimed_by == ""
        assert released.lease_expires_at is None and released.last_error == "timeout"
        [again] = services.order_claim(worker_id="w2", lease_seconds=30)
        assert again.pk == order.pk and again.attempts == 2

    def test_only_the_claiming_worker_moves_the_order(self, invariants):
        customer = make_customer("100")
        place(customer, make_product())
        [order] = services.order_claim(worker_id="w1", lease_seconds=30)
        for move in (services.order_complete, services.order_release):
            with pytest.raises(IllegalTransition):
                move(order=order, worker_id="w2")
        with pytest.raises(IllegalTransition):
            services.order_fail(order=order, worker_id="w2", error="x")
        assert Order.objects.get(pk=order.pk).status == OrderStatus.RUNNING

    def test_a_cancelled_order_is_never_claimed(self, invariants):
        customer = make_customer("100")
        order = place(customer, make_product())
        services.order_cancel(order=order, actor=None)
        assert services.order_claim(worker_id="w", lease_seconds=30) == []
