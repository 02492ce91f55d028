"""The bulk bar, the confirmation with its exact count, the start and the result page."""

import pytest

from orders.models import BulkAction, Order, OrderStatus
from orders.tests.factories import make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = make_admin()
    client.force_login(user)
    return user


def test_admins_get_checkboxes_and_the_bar_customers_neither(client, admin):
    customer = make_customer("50")
    place(customer, make_product())
    for url, rows in (("/orders/", 1), ("/customers/", 1), ("/payments/", 1)):
        page = client.get(url).text
        assert 'id="bulk-form"' in page and f"Select all {rows} matching" in page, url
        assert page.count("data-bulk-row") == rows and "data-bulk-page" in page, url
    client.force_login(customer.user)
    for url in ("/orders/", "/payments/"):
        page = client.get(url).text
        assert "bulk-form" not in page and "data-bulk-row" not in page


def test_select_all_matching_confirms_the_exact_count_then_cancels_exactly_those(client, admin, invariants):
    customer = make_customer("100")
    product, other = make_product(), make_product()
    mine = [place(customer, product) for _ in range(3)]
    outside = place(customer, other)
    form = {"query": f"product={product.pk}&status=pending&page=2", "all": "1", "key": "k" * 32}
    confirm = client.post("/bulk/orders/", {**form, "action": "orders.cancel"})
    assert confirm.status_code == 200 and "Cancel the pending ones: 3 orders" in confirm.text
    assert not BulkAction.objects.exists(), "nothing happens before the confirmation"
    done = client.post("/bulk/orders/", {**form, "action": "orders.cancel", "confirm": "1"})
    bulk = BulkAction.objects.get()
    assert done["Location"] == f"/bulk/actions/{bulk.pk}/"
    again = client.post("/bulk/orders/", {**form, "action": "orders.cancel", "confirm": "1"})
    assert again["Location"] == done["Location"] and BulkAction.objects.count() == 1
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in mine])} == {OrderStatus.CANCELLED}
    outside.refresh_from_db()
    assert outside.status == OrderStatus.PENDING
    result = client.get(done["Location"]).text
    assert "Finished" in result and 'data-count="done">3<' in result and 'data-count="skipped">0<' in result


def test_ticked_rows_outside_the_filter_select_nothing(client, admin):
    customer = make_customer("100")
    product = make_product()
    inside, outside = place(customer, product), place(customer, make_product())
    form = {"query": f"product={product.pk}", "selected": [inside.pk, outside.pk], "key": "t" * 32}
    client.post("/bulk/orders/", {**form, "action": "orders.cancel", "confirm": "1"})
    assert BulkAction.objects.get().total == 1
    outside.refresh_from_db()
    assert outside.status == OrderStatus.PENDING


def test_nothing_ticked_bad_filters_and_unknown_actions_change_nothing(client, admin):
    place(make_customer("10"), make_product())
    none_ticked = client.post("/bulk/orders/", {"query": "", "action": "orders.cancel", "key": "a" * 32}, follow=True)
    assert "Tick the orders to act on" in none_ticked.text
    bad = client.post("/bulk/orders/", {"query": "created_after=soon", "all": "1", "action": "orders.cancel"})
    assert bad.status_code == 302
    unknown = client.post("/bulk/orders/", {"query": "", "all": "1", "action": "orders.delete", "confirm": "1"})
    assert unknown.status_code == 422
    assert client.post("/bulk/ledger/", {"all": "1"}).status_code == 404
    assert not BulkAction.objects.exists() and Order.objects.get().status == OrderStatus.PENDING


def test_export_of_the_selection_is_the_list_csv_of_those_rows(client, admin):
    customer = make_customer("100")
    product = make_product()
    a, b = place(customer, product), place(customer, product)
    exported = client.post("/bulk/orders/", {"query": "", "selected": [a.pk], "action": "export"})
    assert exported["Location"] == f"/orders/?ids={a.pk}&export=csv"
    rows = b"".join(client.get(exported["Location"]).streaming_content).decode()
    assert a.order_no in rows and b.order_no not in rows


def test_customers_move_to_a_level_in_bulk(client, admin):
    gold = make_level(80, "Gold")
    ann, bo = make_customer(), make_customer()
    form = {"query": "", "selected": [ann.pk, bo.pk], "key": "c" * 32, "option": gold.pk}
    client.post("/bulk/customers/", {**form, "action": "customers.level", "confirm": "1"})
    ann.refresh_from_db()
    bo.refresh_from_db()
    assert ann.level == gold == bo.level


def test_customers_cannot_start_or_see_bulk_actions(client):
    customer = make_customer("10")
    place(customer, make_product())
    admin = make_admin()
    client.force_login(admin)
    client.post("/bulk/orders/", {"query": "", "all": "1", "action": "orders.cancel", "confirm": "1", "key": "z" * 32})
    bulk = BulkAction.objects.get()
    client.force_login(customer.user)
    for name, action in (("orders", "orders.cancel"), ("customers", "customers.deactivate"), ("payments", "export")):
        for form in ({"all": "1", "action": action, "confirm": "1", "key": "c" * 32}, {"all": "1", "action": action}):
            assert client.post(f"/bulk/{name}/", form).status_code == 403
    assert client.get(f"/bulk/actions/{bulk.pk}/").status_code == 403
    assert BulkAction.objects.count() == 1 and customer.user.is_active


def test_a_selection_that_changed_since_the_confirmation_asks_again(client, admin):
    customer = make_customer("100")
    product = make_product()
    place(customer, product)
    form = {"query": f"product={product.pk}", "all": "1", "key": "s" * 32, "action": "orders.cancel"}
    place(customer, product)  # after the admin saw "1"
    refused = client.post("/bulk/orders/", {**form, "confirm": "1", "count": "1"})
    assert refused.status_code == 409 and "2 match now, not 1" in refused.text
    assert 'name="count" value="2"' in refused.text and not BulkAction.objects.exists()
    client.post("/bulk/orders/", {**form, "confirm": "1", "count": "2"})
    assert BulkAction.objects.get().total == 2
