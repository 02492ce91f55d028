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
    assert response.context["summary"] == {"balance": Decimal("20.00"), "open_orders": 1, "completed_orders": 0}
    assert b"CNY 20.00" in response.content


def test_admin_home_shows_totals(client):
    customer = make_customer("30")
    place(customer, make_product())
    client.force_login(make_admin())
    response = client.get("/")
    summary = response.context["summary"]
    assert summary["customers"] == 1 and summary["open_orders"] == 1
    assert summary["total_balance"] == Decimal("20.00")
    assert b"CNY 20.00" in response.content


def test_logout_is_post_only(client):
    client.force_login(make_admin())
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_total_balances_are_exact_to_the_cent(client):
    # SQLite adds decimals in floating point; 0.1 + 0.2 must still show as 0.30.
    make_customer("0.10"), make_customer("0.20")
    client.force_login(make_admin())
    response = client.get("/")
    assert response.context["summary"]["total_balance"] == Decimal("0.30")
    assert b"CNY 0.30<" in response.content
