"""The sandbox gateway's pages: the card page acts only for the order's owner, the
ATM page only for admins, both settle in-process; every page says "Sandbox"."""

import urllib.request

import pytest
from django.test import Client

from orders.models import Order, OrderStatus, Payment, PaymentKind, PaymentMethod
from orders.tests.factories import key, make_admin, make_customer, make_product


def order_post(client: Client, product, method: str):
    data = {"product": product.pk, "quantity": 1, "target": "t", "idempotency_key": key(), "method": method}
    return client.post("/orders/new/", data)


@pytest.fixture
def no_http(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the sandbox must settle without an HTTP request to this server")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.django_db
class TestSandboxCardPage:
    """The exploit of the review: a customer with nothing places a card order,
    approves it from a private window, cancels, and keeps the store credit."""

    @pytest.fixture
    def card_order(self):
        customer = make_customer("0")
        client = Client()
        client.force_login(customer.user)
        response = order_post(client, make_product(tiers=((1, "1000.00"),)), "card")
        order = Order.objects.get(customer=customer)
        return order, response["Location"]

    def test_a_private_window_cannot_approve_it(self, card_order):
        order, pay_url = card_order
        response = Client().post(pay_url, {"decision": "approve"})
        assert response.status_code == 302 and response["Location"].startswith("/login/")
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_PAYMENT
        assert not Payment.objects.filter(order=order, status="succeeded").exists()

    def test_another_customer_and_an_admin_cannot_approve_it(self, card_order):
        order, pay_url = card_order
        for user in (make_customer("0").user, make_admin()):
            client = Client()
            client.force_login(user)
            assert client.get(pay_url).status_code == 404
            assert client.post(pay_url, {"decision": "approve"}).status_code == 404
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_PAYMENT

    def test_the_owner_approves_it_without_an_http_call_to_the_server(self, card_order, no_http):
        order, pay_url = card_order
        client = Client()
        client.force_login(order.customer.user)
        response = client.post(pay_url, {"decision": "approve"})
        assert response["Location"] == f"http://127.0.0.1:8000/orders/{order.order_no}/"
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING
        assert Payment.objects.get(order=order, kind=PaymentKind.CHARGE).status == "succeeded"

    def test_the_owner_declines_it_and_the_order_is_cancelled(self, card_order, no_http):
        order, pay_url = card_order
        client = Client()
        client.force_login(order.customer.user)
        client.post(pay_url, {"decision": "decline"})
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        assert not order.ledger_entries.exists()


@pytest.mark.django_db
class TestSandboxAtmPage:
    def test_an_admin_marks_a_transfer_received_without_an_http_call(self, no_http):
        customer = make_customer("0")
        client = Client()
        client.force_login(customer.user)
        order_post(client, make_product(), "atm")
        order = Order.objects.get(customer=customer)
        charge = Payment.objects.get(order=order, kind=PaymentKind.CHARGE)
        admin = Client()
        admin.force_login(make_admin())
        assert charge.pay_url in admin.get("/sandbox/atm/").text
        admin.post("/sandbox/atm/", {"token": charge.provider_token})
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING and charge.method == PaymentMethod.ATM

    def test_customers_and_visitors_are_kept_out(self):
        client = Client()
        client.force_login(make_customer("0").user)
        assert client.get("/sandbox/atm/").status_code == 403
        assert Client().get("/sandbox/atm/").status_code == 302
        assert Client().post("/sandbox/atm/", {"token": "x"}).status_code == 302

    def test_an_unknown_token_is_a_404_not_an_error(self):
        admin = Client()
        admin.force_login(make_admin())
        assert admin.post("/sandbox/atm/", {}).status_code == 404


@pytest.mark.django_db
def test_every_page_says_sandbox_while_it_is_installed():
    assert "Sandbox" in Client().get("/login/").text
    client = Client()
    client.force_login(make_customer("0").user)
    assert "Sandbox" in client.get("/").text
