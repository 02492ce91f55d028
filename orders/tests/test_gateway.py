"""Card and ATM payments through the gateway (issue 7): the signed callback, the
sandbox, expiry, refunds as store credit, and their races."""

import json
import socket
import threading
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from orders import services
from orders.errors import IllegalTransition, PaymentNotStarted
from orders.gateways.base import sign
from orders.models import (
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from orders.sandbox.gateway import SandboxGateway
from orders.sandbox.models import SandboxCharge
from orders.tests.conftest import assert_invariants
from orders.tests.factories import key, make_admin, make_customer, make_product

CALLBACK = "/payments/callback/sandbox/"


def gateway_order(method=PaymentMethod.CARD, balance="0"):
    customer = make_customer(balance)
    return services.order_place(
        customer=customer,
        product=make_product(tiers=((1, "12.50"),)),
        quantity=2,
        target="https://example.com",
        idempotency_key=key(),
        method=method,
        callback_url="http://testserver" + CALLBACK,
        return_url="http://testserver/orders/ORDER_NO/",
    )


def callback(
    client: Client,
    token: str,
    status: str = "paid",
    amount: str = "25.00",
    *,
    secret="sandbox-development-secret",
    timestamp: int | None = None,
    signature: str | None = None,
):
    body = json.dumps({"token": token, "status": status, "amount": amount}).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        CALLBACK,
        body,
        content_type="application/json",
        headers={"X-Timestamp": stamp, "X-Signature": signature or sign(secret, stamp, body)},
    )


def charge_of(order: Order) -> Payment:
    return Payment.objects.get(order=order, kind=PaymentKind.CHARGE)


@pytest.mark.django_db
class TestPlacing:
    def test_a_card_order_awaits_payment_with_a_pending_charge_and_no_balance_change(self):
        order = gateway_order()
        charge = charge_of(order)
        assert order.status == OrderStatus.AWAITING_PAYMENT and order.customer.balance == 0
        assert (charge.method, charge.status, charge.amount) == (
            PaymentMethod.CARD,
            PaymentStatus.PENDING,
            Decimal("25.00"),
        )
        assert charge.provider_token.startswith("sbx_") and charge.pay_url == f"/sandbox/card/{charge.provider_token}/"
        assert (
            SandboxCharge.objects.get(token=charge.provider_token).return_url
            == f"http://testserver/orders/{order.order_no}/"
        )
        assert_invariants()

    def test_an_atm_order_gets_an_account_number(self):
        charge = charge_of(gateway_order(PaymentMethod.ATM))
        assert charge.pay_url.startswith("6222 0208 ")

    def test_the_order_form_sends_card_payers_to_the_card_page(self):
        customer = make_customer("0")
        product = make_product(tiers=((1, "3.00"),))
        client = Client()
        client.force_login(customer.user)
        response = client.post(
            "/orders/new/",
            {"product": product.pk, "quantity": 1, "target": "t", "idempotency_key": "k", "method": "card"},
        )
        order = Order.objects.get(customer=customer)
        assert response["Location"] == f"/sandbox/card/{charge_of(order).provider_token}/"
        page = client.get(response["Location"])
        assert "Sandbox" in page.text and "CNY 3.00" in page.text
        atm = client.post(
            "/orders/new/",
            {"product": product.pk, "quantity": 1, "target": "t", "idempotency_key": "k2", "method": "atm"},
        )
        atm_order = Order.objects.exclude(pk=order.pk).get()
        assert atm["Location"] == f"/orders/{atm_order.order_no}/"
        assert "Transfer" in client.get(atm["Location"]).text


@pytest.mark.django_db
class TestCallback:
    def test_a_good_signature_pays_the_order(self, client):
        order = gateway_order()
        response = callback(client, charge_of(order).provider_token)
        assert response.status_code == 200 and response.json()["status"] == "succeeded"
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING and charge_of(order).status == PaymentStatus.SUCCEEDED
        assert order.events.filter(to_status=OrderStatus.PENDING, note__contains="Card payment received").exists()
        assert_invariants()

    def test_a_decline_cancels_the_order_without_a_refund(self, client):
        order = gateway_order()
        assert callback(client, charge_of(order).provider_token, status="declined").status_code == 200
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED and charge_of(order).status == PaymentStatus.FAILED
        assert not order.ledger_entries.exists() and not order.payments.filter(kind=PaymentKind.REFUND).exists()
        assert_invariants()

    @pytest.mark.parametrize("tamper", ["bad signature", "other secret", "stale", "future", "no headers"])
    def test_an_unauthentic_callback_changes_nothing(self, client, tamper):
        order = gateway_order()
        token = charge_of(order).provider_token
        if tamper == "bad signature":
            response = callback(client, token, signature="0" * 64)
        elif tamper == "other secret":
            response = callback(client, token, secret="guess")
        elif tamper == "stale":
            response = callback(client, token, timestamp=int(time.time()) - 301)
        elif tamper == "future":
            response = callback(client, token, timestamp=int(time.time()) + 301)
        else:
            response = client.post(CALLBACK, b"{}", content_type="application/json")
        assert response.status_code == 401
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_PAYMENT and charge_of(order).status == PaymentStatus.PENDING

    def test_a_replay_changes_nothing_and_answers_200(self, client):
        order = gateway_order()
        token = charge_of(order).provider_token
        assert callback(client, token).status_code == 200
        assert callback(client, token).status_code == 200
        assert callback(client, token, status="declined").status_code == 200  # a late contradiction is ignored too
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING and order.events.filter(to_status=OrderStatus.PENDING).count() == 1
        assert_invariants()

    def test_an_amount_mismatch_is_refused_and_logged(self, client, caplog):
        order = gateway_order()
        response = callback(client, charge_of(order).provider_token, amount="2.50")
        assert response.status_code == 400 and "mismatch" in caplog.text
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_PAYMENT

    def test_no_session_and_no_csrf_are_needed_but_the_provider_must_be_ours(self):
        order = gateway_order()
        client = Client(enforce_csrf_checks=True)
        assert callback(client, charge_of(order).provider_token).status_code == 200
        assert client.post("/payments/callback/other/", b"{}", content_type="application/json").status_code == 404
        assert callback(client, "sbx_unknown").status_code == 404


@pytest.mark.django_db
class TestExpiryAndRefunds:
    def test_unpaid_orders_expire_and_paid_ones_found_by_the_sweep_are_queued(self):
        unpaid, paid_late = gateway_order(), gateway_order()
        SandboxCharge.objects.filter(token=charge_of(paid_late).provider_token).update(status=SandboxCharge.PAID)
        Payment.objects.filter(order__in=[unpaid, paid_late]).update(created_at=timezone.now() - timedelta(minutes=31))
        assert services.payment_expire_unpaid(older_than_minutes=30) == 2
        unpaid.refresh_from_db(), paid_late.refresh_from_db()
        assert unpaid.status == OrderStatus.CANCELLED and paid_late.status == OrderStatus.PENDING
        assert services.payment_expire_unpaid(older_than_minutes=30) == 0
        assert_invariants()

    def test_a_cancelled_card_order_is_refunded_to_the_balance(self, client):
        order = gateway_order()
        callback(client, charge_of(order).provider_token)
        order.refresh_from_db()
        services.order_cancel(order=order, actor=None)
        order.customer.refresh_from_db()
        refund = order.payments.get(kind=PaymentKind.REFUND)
        assert refund.method == PaymentMethod.BALANCE and refund.amount == Decimal("25.00")
        assert order.ledger_entries.get(kind=LedgerKind.REFUND).amount == Decimal("25.00")
        assert order.customer.balance == Decimal("25.00")
        assert_invariants()

    def test_an_awaiting_order_cannot_be_cancelled_by_the_customer_as_if_charged(self):
        order = gateway_order()
        with pytest.raises(IllegalTransition):
            services.order_cancel(order=order, actor=None)


@pytest.mark.django_db
def test_admins_find_gateway_payments_by_token_number_method_and_status():
    order = gateway_order(PaymentMethod.ATM)
    charge = charge_of(order)
    gateway_order()  # a card one
    admin = Client()
    admin.force_login(make_admin())
    found = lambda **q: [p.pk for p in admin.get("/payments/", q).context["table"].page.object_list.data]  # noqa: E731
    assert found(q=charge.provider_token) == [charge.pk]
    assert found(q=charge.payment_no) == [charge.pk]
    assert found(method="atm", status="pending") == [charge.pk]


# --- a provider that fails, is slow, or is watched --------------------------------------


class ProviderFails(SandboxGateway):
    """Refuses every new payment with whatever its client library raises."""

    def create_payment(self, payment, *, callback_url, return_url=""):
        raise RuntimeError("the provider answered 500")


class ProviderTimesOut(SandboxGateway):
    """Takes the connection and never answers: the client's timeout ends the call."""

    def create_payment(self, payment, *, callback_url, return_url=""):
        with socket.create_server(("127.0.0.1", 0)) as silent:
            host, port = silent.getsockname()
            urllib.request.urlopen(f"http://{host}:{port}/payments", data=b"{}", timeout=0.2)
        raise AssertionError("a silent provider answered")


class Crash(BaseException):
    """The process dying in the middle of the call (SIGKILL, a lost pod): nothing after it runs."""


class ProcessDies(SandboxGateway):
    def create_payment(self, payment, *, callback_url, return_url=""):
        super().create_payment(payment, callback_url=callback_url, return_url=return_url)
        raise Crash


class ProviderSlowerThanTheTimeout(SandboxGateway):
    """Answers only after the expiry sweep has given up on the payment."""

    def create_payment(self, payment, *, callback_url, return_url=""):
        services.payment_expire_unpaid(older_than_minutes=0)
        return super().create_payment(payment, callback_url=callback_url, return_url=return_url)


class ProviderFindsItPaid(SandboxGateway):
    """Finds a payment by our payment number, token or not, and says it was paid."""

    def query_status(self, payment):
        return "paid"


class ProviderWatched(SandboxGateway):
    """Records how the platform calls it: inside a transaction? Is the customer locked?
    Are the order and its charge committed (visible to another connection)?"""

    seen: dict = {}

    def create_payment(self, payment, *, callback_url, return_url=""):
        self.seen["in_atomic_block"] = connection.in_atomic_block
        if connection.vendor == "postgresql":
            customer_id = Order.objects.filter(pk=payment.order_id).values_list("customer_id", flat=True).get()
            probe = threading.Thread(target=self._look_from_another_connection, args=(customer_id, payment.pk))
            probe.start()
            probe.join(timeout=30)
        return super().create_payment(payment, callback_url=callback_url, return_url=return_url)

    def _look_from_another_connection(self, customer_id: int, payment_id: int) -> None:
        try:
            self.seen["charge_committed"] = Payment.objects.filter(pk=payment_id).exists()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {Customer._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT", [customer_id]
                )
            self.seen["customer_locked"] = False
        except DatabaseError:
            self.seen["customer_locked"] = True
        finally:
            connection.close()


def use_gateway(settings, gateway: type[SandboxGateway]) -> None:
    settings.PAYMENT_GATEWAY = f"{gateway.__module__}.{gateway.__qualname__}"


def card_order(customer: Customer, idempotency_key: str | None = None) -> Order:
    return services.order_place(
        customer=customer,
        product=make_product(tiers=((1, "12.50"),)),
        quantity=2,
        target="https://example.com",
        idempotency_key=idempotency_key or key(),
        method=PaymentMethod.CARD,
        callback_url="http://testserver" + CALLBACK,
        return_url="http://testserver/orders/ORDER_NO/",
    )


def expire(order: Order, minutes: int = 31) -> None:
    Payment.objects.filter(order=order).update(created_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
class TestAPaymentThatCannotStart:
    @pytest.mark.parametrize("provider", [ProviderFails, ProviderTimesOut])
    def test_the_order_is_cancelled_and_nothing_is_charged(self, settings, provider):
        use_gateway(settings, provider)
        customer = make_customer("100")
        ledger = list(LedgerEntry.objects.values_list())
        with pytest.raises(PaymentNotStarted) as refused:
            card_order(customer)
        order = Order.objects.get(customer=customer)
        charge = charge_of(order)
        assert refused.value.order == order and refused.value.order.status == OrderStatus.CANCELLED
        assert order.order_no in refused.value.message
        assert order.status == OrderStatus.CANCELLED and order.finished_at is not None
        assert (charge.status, charge.provider_token, charge.pay_url) == (PaymentStatus.FAILED, "", "")
        assert list(order.events.order_by("id").values_list("to_status", "note")) == [
            (OrderStatus.AWAITING_PAYMENT, "Placed; awaiting the card payment"),
            (OrderStatus.CANCELLED, "Card payment could not be started by Sandbox"),
        ]
        assert Customer.objects.get(pk=customer.pk).balance == Decimal("100")
        assert list(LedgerEntry.objects.values_list()) == ledger
        assert not order.payments.filter(kind=PaymentKind.REFUND).exists()
        assert_invariants()

    def test_the_customer_is_told_on_the_cancelled_order(self, settings):
        use_gateway(settings, ProviderFails)
        customer = make_customer("0")
        client = Client()
        client.force_login(customer.user)
        data = {"product": make_product().pk, "quantity": 1, "target": "t", "idempotency_key": key(), "method": "card"}
        response = client.post("/orders/new/", data)
        order = Order.objects.get(customer=customer)
        assert response.status_code == 302 and response["Location"] == f"/orders/{order.order_no}/"
        page = client.get(response["Location"])
        assert "could not be started" in page.text and "nothing was charged" in page.text
        assert order.status == OrderStatus.CANCELLED
        replayed = client.post("/orders/new/", data)
        assert replayed["Location"] == f"/orders/{order.order_no}/" and Order.objects.count() == 1

    def test_a_payment_the_sweep_gave_up_on_meanwhile_stays_cancelled(self, settings):
        use_gateway(settings, ProviderSlowerThanTheTimeout)
        customer = make_customer("0")
        with pytest.raises(PaymentNotStarted):
            card_order(customer)
        order = Order.objects.get(customer=customer)
        assert order.status == OrderStatus.CANCELLED
        assert (charge_of(order).status, charge_of(order).provider_token) == (PaymentStatus.FAILED, "")
        assert_invariants()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_provider_is_called_after_the_commit_outside_any_transaction_and_lock(settings):
    use_gateway(settings, ProviderWatched)
    ProviderWatched.seen = {}
    order = card_order(make_customer("0"))
    # Another connection's view needs PostgreSQL: on SQLite the test database is in memory, with table locks.
    other_connection = {"charge_committed": True, "customer_locked": False} if connection.vendor == "postgresql" else {}
    assert ProviderWatched.seen == {"in_atomic_block": False, **other_connection}
    assert charge_of(order).provider_token.startswith("sbx_")


@pytest.mark.django_db
class TestTheCrashWindow:
    """The order and its charge are committed, then the process dies or the provider's
    answer is lost: the charge has no token, so no callback can reach it."""

    def test_a_process_dying_in_the_call_leaves_the_order_awaiting_with_a_tokenless_charge(self, settings):
        use_gateway(settings, ProcessDies)
        customer = make_customer("0")
        with pytest.raises(Crash):
            card_order(customer, idempotency_key="the first click")
        order = Order.objects.get(customer=customer)
        assert order.status == OrderStatus.AWAITING_PAYMENT
        assert (charge_of(order).status, charge_of(order).provider_token) == (PaymentStatus.PENDING, "")
        client = Client()
        client.force_login(customer.user)
        again = {"product": order.product_id, "quantity": 2, "target": order.target, "method": "card"}
        replayed = client.post("/orders/new/", {**again, "idempotency_key": "the first click"})
        assert replayed["Location"] == f"/orders/{order.order_no}/"
        page = client.get(replayed["Location"]).text
        assert "is being started with the payment provider" in page and "Pay by card now" not in page
        expire(order)
        assert services.payment_expire_unpaid(older_than_minutes=30) == 1
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED and charge_of(order).status == PaymentStatus.FAILED
        assert_invariants()

    def test_the_sweep_cancels_a_tokenless_charge_after_the_timeout_and_leaves_one_in_flight(self):
        stuck, in_flight = gateway_order(), gateway_order()
        Payment.objects.filter(order__in=[stuck, in_flight]).update(provider_token="", pay_url="")
        expire(stuck)
        assert services.payment_expire_unpaid(older_than_minutes=30) == 1
        stuck.refresh_from_db(), in_flight.refresh_from_db()
        assert stuck.status == OrderStatus.CANCELLED and charge_of(stuck).status == PaymentStatus.FAILED
        assert stuck.events.get(to_status=OrderStatus.CANCELLED).note == (
            "Card payment not made (the gateway never confirmed it was started; expired after 30 minutes)"
        )
        assert in_flight.status == OrderStatus.AWAITING_PAYMENT and charge_of(in_flight).status == PaymentStatus.PENDING
        assert services.payment_expire_unpaid(older_than_minutes=30) == 0
        assert_invariants()

    def test_a_tokenless_charge_the_gateway_finds_paid_is_queued(self, settings):
        order = gateway_order()
        Payment.objects.filter(order=order).update(provider_token="", pay_url="")
        expire(order)
        use_gateway(settings, ProviderFindsItPaid)
        assert services.payment_expire_unpaid(older_than_minutes=30) == 1
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING and charge_of(order).status == PaymentStatus.SUCCEEDED
        assert_invariants()

    def test_without_a_gateway_a_tokenless_charge_is_cancelled_and_one_with_a_token_waits(self, settings):
        tokenless, tokened = gateway_order(), gateway_order()
        Payment.objects.filter(order=tokenless).update(provider_token="", pay_url="")
        expire(tokenless), expire(tokened)
        settings.PAYMENT_GATEWAY = ""
        assert services.payment_expire_unpaid(older_than_minutes=30) == 1
        tokenless.refresh_from_db(), tokened.refresh_from_db()
        assert tokenless.status == OrderStatus.CANCELLED and tokened.status == OrderStatus.AWAITING_PAYMENT
        assert services.payment_expire_unpaid(older_than_minutes=30) == 0
        assert_invariants()
