"""Card and ATM payments through the gateway (issue 7): the signed callback, the
sandbox, expiry, refunds as store credit, and their races."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from orders import services
from orders.errors import IllegalTransition
from orders.gateways.base import sign
from orders.models import LedgerKind, Order, OrderStatus, Payment, PaymentKind, PaymentMethod, PaymentStatus
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
