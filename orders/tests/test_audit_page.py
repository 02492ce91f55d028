"""The Audit page: the trail on the list machinery, for admins only."""

import csv
import io
from decimal import Decimal

import pytest

from dashboard.accounts.audit import AuditAction
from orders import services
from orders.tests.factories import make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = make_admin("boss")
    client.force_login(user)
    return user


def test_admins_filter_the_trail_by_object_and_follow_the_link_from_its_page(client, admin):
    customer = make_customer("30")
    order = place(customer, make_product())
    services.order_cancel(order=order, actor=admin, note="Duplicate")
    services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="t1", actor=admin)
    page = client.get(f"/orders/{order.order_no}/")
    link = f"/audit/?object_type=order&amp;object_id={order.pk}"
    assert link in page.text
    history = client.get(link.replace("&amp;", "&"))
    rows = history.context["table"].page.object_list.data
    assert [entry.action for entry in rows] == [AuditAction.ORDER_CANCELLED]
    assert "Order cancelled" in history.text and "status: pending → cancelled" in history.text
    assert f'href="/orders/{order.order_no}/"' in history.text and "boss" in history.text
    assert f"/audit/?object_type=customer&amp;object_id={customer.pk}" in client.get(f"/customers/{customer.pk}/").text


def test_filters_by_actor_action_and_search_and_export(client, admin):
    other = make_admin("helper")
    customer = make_customer()
    services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="a", actor=admin)
    services.balance_top_up(customer=customer, amount=Decimal("7"), idempotency_key="b", actor=other)
    mine = client.get("/audit/", {"actor": "BOSS", "action": AuditAction.TOP_UP})
    assert [e.actor for e in mine.context["table"].page.object_list.data] == [admin]
    system = client.get("/audit/", {"actor": "system", "action": AuditAction.CUSTOMER_CREATED})
    assert [e.target_repr for e in system.context["table"].page.object_list.data] == [customer.name]
    exported = client.get("/audit/", {"action": AuditAction.TOP_UP, "export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Time", "By", "Action", "Object", "Changes", "Detail", "From"]
    assert [row[2] for row in rows[1:]] == ["balance.top_up", "balance.top_up"]
    assert rows[1][4] == "balance: 5.00 -> 12.00" and rows[1][3] == f"customer:{customer.pk} {customer.name}"


@pytest.mark.parametrize(
    "query", [{"action": "nope"}, {"object_type": "ledger"}, {"created_after": "yesterday"}, {"per_page": "x"}]
)
def test_bad_filters_are_refused_with_no_rows_and_never_a_500(client, admin, query):
    response = client.get("/audit/", query)
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert not response.context["table"].page.object_list.data


def test_customers_and_anonymous_visitors_cannot_read_it(client):
    customer = make_customer()
    assert client.get("/audit/").status_code == 302
    client.force_login(customer.user)
    assert client.get("/audit/").status_code == 403
    order = place(make_customer("10"), make_product())
    assert "/audit/" not in client.get("/").text
    assert client.get(f"/orders/{order.order_no}/").status_code == 404
