"""The refund and re-order forms on an order's page."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, OrderStatus, PaymentKind
from orders.tests.factories import key, make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


def completed_order(customer) -> Order:
    place(customer, make_product(tiers=((1, "20.00"),)))
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    return services.order_complete(order=claimed, worker_id="w")


def failed_order(customer) -> Order:
    place(customer, make_product(tiers=((1, "20.00"),)))
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    return services.order_fail(order=claimed, worker_id="w", error="unreachable")


def test_an_admin_refunds_a_completed_order_from_its_page(admin_client, invariants):
    customer = make_customer("50")
    order = completed_order(customer)
    page = admin_client.get(f"/orders/{order.order_no}/")
    assert b"Refund order" in page.content and b'name="reason"' in page.content
    response = admin_client.post(f"/orders/{order.order_no}/refund/", {"reason": "Not delivered"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/orders/{order.order_no}/"
    assert "is refunded" in response.content.decode() and b"Refund order" not in response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.payments.filter(kind=PaymentKind.REFUND).count() == 1


def test_a_refund_without_a_reason_changes_nothing_and_says_why(admin_client, invariants):
    order = completed_order(make_customer("50"))
    response = admin_client.post(f"/orders/{order.order_no}/refund/", {"reason": " "}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == f"/orders/{order.order_no}/"
    assert "Give the reason for the refund." in admin_client.get(f"/orders/{order.order_no}/").content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED


def test_an_admin_places_a_failed_order_again_once_per_form(admin_client, invariants):
    customer = make_customer("50")
    order = failed_order(customer)
    page = admin_client.get(f"/orders/{order.order_no}/")
    assert b"Place again" in page.content and b"CNY 20.00" in page.content
    form_key = key()
    response = admin_client.post(f"/orders/{order.order_no}/reorder/", {"idempotency_key": form_key})
    again = Order.objects.exclude(pk=order.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{again.order_no}/"
    admin_client.post(f"/orders/{order.order_no}/reorder/", {"idempotency_key": form_key})
    assert Order.objects.count() == 2
    customer.refresh_from_db()
    assert customer.balance == Decimal("30.00")


def test_a_short_balance_is_said_and_nothing_is_placed(admin_client, invariants):
    customer = make_customer("20")
    order = failed_order(customer)
    services.balance_deduct(customer=customer, amount=Decimal("15.00"), idempotency_key=key(), actor=None)
    response = admin_client.post(f"/orders/{order.order_no}/reorder/", {"idempotency_key": key()}, follow=True)
    assert "was not placed again: Insufficient balance" in response.content.decode()
    assert Order.objects.count() == 1


def test_customers_can_neither_refund_nor_place_again(client, invariants):
    customer = make_customer("50")
    order = completed_order(customer)
    client.force_login(customer.user)
    page = client.get(f"/orders/{order.order_no}/")
    assert b"Refund order" not in page.content
    assert client.post(f"/orders/{order.order_no}/refund/", {"reason": "mine"}).status_code == 403
    assert client.post(f"/orders/{order.order_no}/reorder/", {"idempotency_key": key()}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
