"""The list tools on every list of the project (dashboard/lists.py): columns chosen per
user and list, on the page and in CSV; saved views saved, opened, renamed, shared and
deleted, by whom; what customers get; and what a list page costs."""

import csv
import io
from importlib import import_module

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.accounts.models import AuditEntry
from dashboard.ui.listings import LISTINGS
from dashboard.ui.models import ListPreference, SavedView
from orders.tests.factories import make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def list_pages(customer_id: int) -> dict[str, str]:
    """Every arranged list and a page that shows it."""
    return {
        "orders": "/orders/",
        "customers": "/customers/",
        "customer-transactions": f"/customers/{customer_id}/",
        "transactions": "/transactions/",
        "payments": "/payments/",
        "levels": "/levels/",
        "products": "/products/",
        "agents": "/agents/",
        "users": "/users/",
        "audit": "/audit/",
    }


@pytest.fixture
def world():
    customer = make_customer("500")
    product = make_product()
    for _ in range(3):
        place(customer, product)
    return customer


@pytest.fixture
def admin(client):
    user = make_admin("alice")
    client.force_login(user)
    return user


def sign_in_as(client, user) -> None:
    """Another user in the same browser, once the last one's messages were shown."""
    client.get("/")
    client.force_login(user)


def headers(response) -> list[str]:
    """The headers of the columns shown, but the bulk selection's checkbox."""
    return [str(column.header) for column in response.context["table"].columns if column.name != "select"]


def exported(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def choose(client, list_name: str, order: list[str], shown: list[str], headers=None, **extra):
    return client.post(f"/lists/{list_name}/columns/", {"order": order, "shown": shown, **extra}, headers=headers)


def save(client, name: str, next_url: str, list_name: str = "orders", **kwargs):
    return client.post(f"/lists/{list_name}/views/", {"name": name, "next": next_url}, **kwargs)


def test_every_list_is_arranged_here():
    import_module(settings.ROOT_URLCONF)
    project = {name for name, listing in LISTINGS.items() if ".tests" not in listing.table_class.__module__}
    assert project == set(list_pages(0))


class TestColumns:
    def test_saved_for_the_user_and_the_list_on_the_page_and_in_csv(self, client, admin, world):
        order = ["status", "amount", "order_no", "customer", "created_at", "product", "quantity"]
        response = choose(client, "orders", order, ["status", "amount", "customer"], next="/orders/?status=pending")
        assert response.status_code == 302 and response["Location"] == "/orders/?status=pending"
        assert headers(client.get("/orders/")) == ["Status", "Amount", "Order", "Customer", ""]
        rows = exported(client.get("/orders/", {"export": "csv"}))
        assert rows[0] == ["Status", "Amount", "Order", "Customer"] and rows[1][0] == "Pending"
        # Another list, another admin: as they were.
        assert headers(client.get("/payments/"))[:2] == ["Date", "Payment"]
        sign_in_as(client, make_admin("bob"))
        assert headers(client.get("/orders/"))[:3] == ["Order", "Placed", "Customer"]

    def test_the_key_column_stays_and_unknown_names_are_refused(self, client, admin, world):
        choose(client, "customers", ["name", "username", "mobile"], ["mobile"])
        assert headers(client.get("/customers/")) == ["Username", "Mobile", "Level", "Balance", "Status", ""]
        refused = choose(client, "customers", ["name", "password"], ["name"], next="/customers/")
        assert refused.status_code == 422 and "no column “password”" in refused.text
        assert ListPreference.objects.get().columns[:3] == ["name", "username", "mobile"]
        assert choose(client, "nowhere", ["name"], ["name"]).status_code == 404

    def test_stored_names_that_are_gone_are_ignored_and_new_columns_appear(self, client, admin, world):
        ListPreference.objects.create(
            user=admin, list_name="levels", columns=["gone", "customer_count", "name"], hidden=["gone"]
        )
        assert headers(client.get("/levels/")) == ["Customers", "Name", "Pays", ""]

    def test_without_javascript_an_arrow_moves_a_column_and_saves(self, client, admin, world):
        order = ["name", "percent", "customer_count"]
        choose(client, "levels", order, order, move="customer_count:up", next="/levels/?q=x")
        assert headers(client.get("/levels/")) == ["Name", "Customers", "Pays", ""]
        client.post("/lists/levels/columns/", {"reset": "1", "next": "/levels/"})
        assert not ListPreference.objects.exists()

    def test_with_htmx_only_the_region_reloads_at_the_address_the_browser_shows(self, client, admin, world):
        response = choose(
            client,
            "orders",
            ["order_no"],
            ["order_no"],
            next="/orders/",
            headers={**HTMX, "HX-Target": "orders-table", "HX-Current-URL": "http://testserver/orders/?q=zz"},
        )
        assert response.status_code == 200
        assert response["HX-Location"] == '{"path": "/orders/?q=zz", "target": "#orders-table", "swap": "outerHTML"}'
        # A view was open: its id leaves the address, and the whole page is drawn again (its filter form holds it).
        response = choose(
            client,
            "orders",
            ["order_no"],
            ["order_no"],
            headers={**HTMX, "HX-Target": "orders-table", "HX-Current-URL": "http://testserver/orders/?q=zz&view=4"},
        )
        assert response["HX-Redirect"] == "/orders/?q=zz"

    def test_answers_with_htmx_refusals_as_a_toast_swapping_nothing(self, client, admin):
        response = choose(client, "orders", ["nope"], [], headers=HTMX)
        assert response.status_code == 422 and response["HX-Reswap"] == "none"
        assert "no column" in response["HX-Trigger"]


class TestSavedViews:
    def test_saved_from_the_list_as_it_is_then_opened_by_its_address(self, client, admin, world):
        order = ["status", "order_no", "amount", "created_at", "customer", "product", "quantity"]
        choose(client, "orders", order, ["status", "amount"])
        response = save(client, "Failed today", "/orders/?status=failed&sort=-amount&page=3&per_page=50")
        view = SavedView.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/lists/views/{view.pk}/"
        assert (view.owner, view.list_name, view.path) == (admin, "orders", "/orders/")
        assert view.query == "status=failed&sort=-amount&per_page=50"
        opened = client.get(response["Location"])
        assert opened["Location"] == f"/orders/?status=failed&sort=-amount&per_page=50&view={view.pk}"
        # The view's columns, even after the user's own change.
        choose(client, "orders", ["order_no"], ["order_no"])
        page = client.get(opened["Location"])
        assert headers(page)[:3] == ["Status", "Order", "Amount"]
        assert f'<input type="hidden" name="view" value="{view.pk}">' in page.text
        assert 'class="chip active"' in page.text and "Failed today" in page.text
        csv_headers = exported(client.get(opened["Location"] + "&export=csv"))[0]
        assert csv_headers[:3] == ["Status", "Order", "Amount"]

    def test_with_htmx_the_filters_saved_are_those_the_browser_shows(self, client, admin, world):
        current = "http://testserver/orders/?status=pending&view=99"
        response = save(client, "Pending", "/orders/", headers={**HTMX, "HX-Current-URL": current})
        view = SavedView.objects.get()
        assert response["HX-Redirect"] == f"/lists/views/{view.pk}/" and view.query == "status=pending"

    @pytest.mark.parametrize(
        "name, error",
        [("", "Give the view a name."), ("x" * 81, "Keep the name to 80 characters"), ("failed TODAY", "already have")],
    )
    def test_a_bad_name_is_refused_with_the_form_and_nothing_is_saved(self, client, admin, name, error):
        save(client, "Failed today", "/orders/")
        response = save(client, name, "/orders/?status=failed")
        assert response.status_code == 422 and error in response.text and "<html" in response.text
        fragment = save(client, name, "/orders/", headers=HTMX)
        assert fragment.status_code == 422 and fragment.text.lstrip().startswith('<form method="post"')
        assert error in fragment.text and 'aria-invalid="true"' in fragment.text
        assert SavedView.objects.count() == 1

    def test_saved_only_from_the_lists_own_page(self, client, admin):
        response = save(client, "Elsewhere", "/payments/?status=failed")
        assert response.status_code == 422 and "A view is saved from its list&#x27;s own page" in response.text
        assert not SavedView.objects.exists()

    def test_a_private_view_is_nobody_elses_and_a_shared_one_is_read_only(self, client, admin, world):
        save(client, "Failed today", "/orders/?status=failed")
        view = SavedView.objects.get()
        bob = make_admin("bob")
        sign_in_as(client, bob)
        for request in (
            lambda: client.get(f"/lists/views/{view.pk}/"),
            lambda: client.post(f"/lists/views/{view.pk}/rename/", {"name": "Mine"}),
            lambda: client.post(f"/lists/views/{view.pk}/share/", {"shared": "1"}),
            lambda: client.post(f"/lists/views/{view.pk}/delete/"),
        ):
            assert request().status_code == 404
        assert "menu-views" not in (page := client.get("/orders/").text) and 'class="chip' not in page
        assert headers(client.get(f"/orders/?status=failed&view={view.pk}"))[0] == "Order"

        sign_in_as(client, admin)
        assert client.post(f"/lists/views/{view.pk}/share/", {"shared": "1", "next": "/orders/"}).status_code == 302
        sign_in_as(client, bob)
        assert client.get(f"/lists/views/{view.pk}/")["Location"] == view.url
        page = client.get("/orders/").text
        assert 'Failed today<span class="chip-note"> · alice</span>' in page
        assert f"/lists/views/{view.pk}/rename/" not in page
        for request in (
            lambda: client.post(f"/lists/views/{view.pk}/rename/", {"name": "Mine"}),
            lambda: client.post(f"/lists/views/{view.pk}/share/", {"shared": "0"}),
            lambda: client.post(f"/lists/views/{view.pk}/delete/"),
        ):
            assert request().status_code == 403
        view.refresh_from_db()
        assert (view.name, view.shared, view.owner) == ("Failed today", True, admin)

    def test_the_owner_renames_unshares_and_deletes(self, client, admin):
        save(client, "Failed today", "/orders/")
        save(client, "Big pending", "/orders/")
        view, other = SavedView.objects.order_by("pk")
        url = f"/lists/views/{view.pk}/"
        assert client.post(url + "rename/", {"name": "Big pending", "next": "/orders/"}).status_code == 422
        assert client.post(url + "rename/", {"name": "Failed this week", "next": "/orders/?q=a"})["Location"] == (
            "/orders/?q=a"
        )
        client.post(url + "share/", {"shared": "1"})
        assert client.post(url + "share/", {"shared": "maybe", "next": "/orders/"}).status_code == 422
        client.post(url + "share/", {"shared": "0"})
        view.refresh_from_db()
        assert (view.name, view.shared) == ("Failed this week", False)
        shares = AuditEntry.objects.filter(object_type="savedview", object_id=str(view.pk)).order_by("id")
        assert [(e.action, e.actor, e.target_repr) for e in shares] == [
            ("saved_view.shared", admin, "Failed this week"),
            ("saved_view.unshared", admin, "Failed this week"),
        ], "the refused share wrote nothing"
        deleted = client.post(url + "delete/", {"next": f"/orders/?q=a&view={view.pk}"})
        assert deleted["Location"] == "/orders/?q=a"
        assert list(SavedView.objects.all()) == [other]

    def test_changes_are_posts_with_csrf(self, admin, world):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.force_login(admin)
        assert strict.post("/lists/orders/views/", {"name": "x", "next": "/orders/"}).status_code == 403
        assert strict.post("/lists/orders/columns/", {"order": ["order_no"]}).status_code == 403
        assert strict.get("/lists/orders/views/").status_code == 405
        assert not SavedView.objects.exists() and not ListPreference.objects.exists()


class TestCustomers:
    def test_see_no_tools_and_are_refused_by_every_endpoint(self, client, admin, world):
        save(client, "Everything", "/orders/")
        view = SavedView.objects.get()
        client.post(f"/lists/views/{view.pk}/share/", {"shared": "1"})
        sign_in_as(client, world.user)
        for url in ("/orders/", "/transactions/", "/payments/"):
            page = client.get(url, {"view": view.pk})
            assert page.status_code == 200 and "list-tools" not in page.text and "Everything" not in page.text
        assert choose(client, "orders", ["order_no"], ["order_no"]).status_code == 403
        assert save(client, "Mine", "/orders/").status_code == 403
        assert client.get(f"/lists/views/{view.pk}/").status_code == 404
        assert client.post(f"/lists/views/{view.pk}/delete/").status_code == 404
        assert SavedView.objects.count() == 1 and not ListPreference.objects.filter(user=world.user).exists()


class TestSidebar:
    def test_lists_own_and_shared_views_under_their_lists_entry(self, client, admin, world):
        save(client, "Failed today", "/orders/?status=failed")
        save(client, "Rich", "/customers/?q=a", list_name="customers")
        bob = make_admin("bob")
        sign_in_as(client, bob)
        save(client, "Bob's", "/orders/")
        client.post(f"/lists/views/{SavedView.objects.get(name='Bob' + chr(39) + 's').pk}/share/", {"shared": "1"})
        save(client, "Bob's private", "/orders/")
        sign_in_as(client, admin)
        mine = SavedView.objects.get(name="Failed today")
        page = client.get(f"/orders/?status=failed&view={mine.pk}").text
        sidebar = page[page.index('<nav class="menu"') : page.index("</nav>", page.index('<nav class="menu"'))]
        orders = sidebar[sidebar.index('<ul class="menu-views" aria-label="Saved views of Orders">') :]
        orders = orders[: orders.index("</ul>")]
        assert (
            '<span>Bob&#x27;s</span><span class="visually-hidden">, shared by bob</span>' in orders
            and f'href="/lists/views/{mine.pk}/" class="active"' in orders
        )
        assert "shared by bob" in orders and "Bob&#x27;s private" not in sidebar
        assert 'aria-label="Saved views of Customers"' in sidebar and ">Rich<" in sidebar
        assert '<a href="/orders/" class="active">' in sidebar  # the list's entry, without aria-current


@pytest.mark.parametrize("list_name", sorted(list_pages(0)))
def test_a_list_page_costs_the_same_whatever_columns_and_views_are_kept(client, admin, world, list_name):
    url = list_pages(world.pk)[list_name]

    def cost(query=None, headers=None) -> tuple[int, int]:
        client.get(url, query or {}, headers=headers or {})
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, query or {}, headers=headers or {})
        assert response.status_code == 200
        return len(captured.captured_queries), sum('"ui_' in q["sql"] for q in captured.captured_queries)

    before, fragment_before = cost(), cost(headers=HTMX)
    listing = LISTINGS[list_name]
    columns = [name for name in listing.table_class.base_columns if name != "actions"]
    choose(client, list_name, list(reversed(columns)), columns[:2], next=url)
    bob = make_admin("bob")
    for n in range(5):
        SavedView.objects.create(owner=admin, list_name=list_name, name=f"Mine {n}", path=url, columns=columns)
        SavedView.objects.create(owner=bob, list_name=list_name, name=f"Theirs {n}", path=url, shared=True)
    after, fragment_after = cost(), cost(headers=HTMX)
    # The user's columns and the saved views (the sidebar's and the list's, one query).
    assert before == after and before[1] == 2
    # A fragment has no sidebar and no chips: the columns alone.
    assert fragment_before == fragment_after and fragment_after[1] == 1
    view = SavedView.objects.filter(owner=admin, list_name=list_name).first()
    assert cost({"view": view.pk}) == (after[0] - 1, 1)
