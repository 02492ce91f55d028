from decimal import Decimal

import pytest

from orders.tests.factories import make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


def test_home_needs_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


def test_login_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200 and b"Sign in" in response.content


def test_customer_home_shows_own_balance_and_orders(client):
    customer = make_customer("30")
    place(customer, make_product(tiers=((1, "10.00"),)))
    other = make_customer("500")
    place(other, make_product())
    client.force_login(customer.user)
    response = client.get("/")
    assert response.status_code == 200
    summary = dict(response.context["summary"])
    assert summary == {"Balance": Decimal("20.00"), "Open orders": 1, "Completed orders": 0}


def test_admin_home_shows_totals(client):
    customer = make_customer("30")
    place(customer, make_product())
    client.force_login(make_admin())
    summary = dict(client.get("/").context["summary"])
    assert summary["Customers"] == 1 and summary["Open orders"] == 1
    assert summary["Total balances"] == Decimal("20.00")


def test_logout_is_post_only(client):
    client.force_login(make_admin())
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
