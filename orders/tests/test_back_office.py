"""The admin's back office (issue 4): permissions, validation, idempotency, htmx fragments."""

import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from dashboard.accounts import sms
from dashboard.accounts.models import UserSession
from orders.models import Customer, LedgerEntry, LedgerKind, Level, PriceTier, Product
from orders.tests.factories import make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db

ADMIN_ONLY = [
    "customer_list",
    "customer_create",
    "customer_detail",
    "customer_edit",
    "customer_balance",
    "level_list",
    "level_create",
    "level_edit",
    "level_delete",
    "product_list",
    "product_create",
    "product_edit",
    "product_toggle",
    "product_delete",
]


def orders_patterns() -> list:
    return next(
        p
        for p in get_resolver().url_patterns
        if getattr(getattr(p, "urlconf_name", None), "__name__", "") == "orders.urls"
    ).url_patterns


def admin_url(name: str) -> str:
    pattern = next(p for p in orders_patterns() if isinstance(p, URLPattern) and p.name == name)
    return reverse(name, kwargs={key: 1 for key in pattern.pattern.converters})


@pytest.fixture
def admin_client(client):
    client.force_login(make_admin())
    return client


def toasts(response) -> list[tuple[str, str]]:
    """The messages an htmx answer carries as toasts, as (tags, text)."""
    return [(m["tags"], m["message"]) for m in json.loads(response["HX-Trigger"]).get("messages", [])]


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_every_back_office_url_is_known():
    names = {p.name for p in orders_patterns()}
    assert set(ADMIN_ONLY) <= names


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_a_customer_gets_403_on_every_admin_url(client, name, method):
    make_customer("10")  # so that pk 1 exists
    make_level()
    client.force_login(make_customer("50").user)
    response = getattr(client, method)(admin_url(name), {"amount": "10", "kind": "deduct", "idempotency_key": "k"})
    assert response.status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/customers/")["Location"] == "/login/?next=/customers/"


class TestCustomers:
    def test_create_with_a_password(self, admin_client):
        level = make_level(90)
        response = admin_client.post(
            "/customers/new/",
            {
                "username": "alice",
                "name": "Alice",
                "mobile": "+86 139 0000 0001",
                "level": level.pk,
                "password_choice": "set",
                "password": "a long passphrase 42",
            },
        )
        customer = Customer.objects.get(user__username="alice")
        assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
        assert customer.mobile == "+8613900000001" and customer.level == level and customer.balance == 0
        assert (
            customer.user.check_password("a long passphrase 42")
            and customer.user.groups.filter(name="customer").exists()
        )

    def test_create_with_a_one_time_link_by_sms(self, admin_client, client, settings):
        settings.SMS_BACKEND = "locmem"
        sms.outbox.clear()
        admin_client.post(
            "/customers/new/",
            {
                "username": "bob",
                "name": "Bob",
                "mobile": "+8613900000002",
                "level": make_level().pk,
                "password_choice": "link",
            },
        )
        ((to, text),) = sms.outbox
        link = re.search(r"https?://\S+", text).group(0).replace("http://testserver", "")
        assert to == "+8613900000002"
        form_page = client.get(link, follow=True)
        assert "Set your password" in form_page.text
        set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
        done = client.post(set_url, {"new_password1": "bobs new passphrase", "new_password2": "bobs new passphrase"})
        assert done.status_code == 302
        assert Customer.objects.get(user__username="bob").user.check_password("bobs new passphrase")
        assert "This link no longer works" in client.get(link, follow=True).text

    def test_create_with_a_link_when_no_sms_backend_is_configured(self, admin_client, settings):
        settings.SMS_BACKEND = ""
        response = admin_client.post(
            "/customers/new/",
            {
                "username": "dan",
                "name": "Dan",
                "mobile": "+8613900000004",
                "level": make_level().pk,
                "password_choice": "link",
            },
            follow=True,
        )
        assert response.status_code == 200 and "the text could not be sent" in response.text
        assert Customer.objects.filter(user__username="dan").exists()

    def test_invalid_input_is_a_422_with_field_errors_and_writes_nothing(self, admin_client):
        taken = make_customer()
        response = admin_client.post(
            "/customers/new/",
            {
                "username": taken.user.username,
                "name": "",
                "mobile": taken.mobile,
                "level": 999,
                "password_choice": "set",
                "password": "123",
            },
        )
        assert response.status_code == 422
        errors = response.context["form"].errors
        assert set(errors) == {"username", "name", "mobile", "level", "password"}
        assert Customer.objects.count() == 1

    def test_a_password_set_now_needs_twelve_characters_as_the_form_says(self, admin_client):
        assert "at least 12 characters" in admin_client.get("/customers/new/").text
        response = admin_client.post(
            "/customers/new/",
            {
                "username": "carol",
                "name": "Carol",
                "mobile": "+8613900000003",
                "level": make_level().pk,
                "password_choice": "set",
                "password": "short pass1",
            },
        )
        assert (
            response.status_code == 422 and "at least 12 characters" in response.context["form"].errors["password"][0]
        )

    def test_edit_and_deactivate_ends_the_customers_sessions(self, admin_client):
        customer = make_customer()
        Client().force_login(customer.user)
        new_level = make_level(80)
        response = admin_client.post(
            f"/customers/{customer.pk}/edit/",
            {
                "name": "Renamed",
                "mobile": customer.mobile,
                "level": new_level.pk,  # active unticked
            },
        )
        assert response.status_code == 302
        customer.refresh_from_db()
        customer.user.refresh_from_db()
        assert (customer.name, customer.level, customer.user.is_active) == ("Renamed", new_level, False)
        assert not UserSession.objects.filter(user=customer.user).exists()

    def test_posted_balance_is_ignored_on_edit(self, admin_client):
        customer = make_customer("5")
        admin_client.post(
            f"/customers/{customer.pk}/edit/",
            {
                "name": "X",
                "mobile": customer.mobile,
                "level": customer.level_id,
                "active": "on",
                "balance": "1000000",
            },
        )
        customer.refresh_from_db()
        assert customer.balance == Decimal("5.00")

    def test_detail_shows_the_ledger_and_an_unknown_customer_is_404(self, admin_client):
        customer = make_customer("12.34")
        page = admin_client.get(f"/customers/{customer.pk}/")
        assert page.status_code == 200 and "CNY 12.34" in page.text and 'id="ledger-table"' in page.text
        assert "No orders yet." in page.text
        assert admin_client.get("/customers/999999/").status_code == 404

    def test_detail_shows_the_last_orders_in_the_order_lists_table_and_only_this_customers(self, admin_client):
        customer, other = make_customer("200"), make_customer("100")
        product = make_product()
        mine = [place(customer, product) for _ in range(11)]
        theirs = place(other, product)
        page = admin_client.get(f"/customers/{customer.pk}/", {"sort": "amount", "page": "2"}).text
        recent = page[page.index('id="orders-title"') : page.index('id="ledger-table"')]
        assert re.findall(r'<tr id="order-(\w+)">', recent) == [order.order_no for order in reversed(mine[1:])]
        assert theirs.order_no not in recent and mine[0].order_no not in recent
        assert (
            'aria-labelledby="orders-title"' in recent and 'class="sort' not in recent and "Cancel order" not in recent
        )

    def test_list_filters(self, admin_client):
        rich, poor = make_customer("500", level=make_level(90, "Gold")), make_customer("1")
        rows = lambda **q: [c.pk for c in admin_client.get("/customers/", q).context["table"].page.object_list.data]  # noqa: E731
        assert rows(balance_min="100") == [rich.pk]
        assert rows(level=rich.level_id) == [rich.pk]
        assert rows(q=poor.mobile[-6:]) == [poor.pk]
        assert set(rows(active="true")) == {rich.pk, poor.pk} and rows(active="false") == []


class TestBalance:
    def dialog(self, client, customer, kind="top_up"):
        return client.get(f"/customers/{customer.pk}/balance/", {"kind": kind}, headers={"HX-Request": "true"})

    def test_the_dialog_is_a_fragment_with_a_fresh_key(self, admin_client):
        customer = make_customer()
        first, second = self.dialog(admin_client, customer), self.dialog(admin_client, customer)
        assert first.text.lstrip().startswith("<dialog") and "<html" not in first.text
        assert form_key(first.text) != form_key(second.text)

    def test_top_up_updates_the_balance_in_place_with_a_toast(self, admin_client):
        customer = make_customer("10")
        key = form_key(self.dialog(admin_client, customer).text)
        response = admin_client.post(
            f"/customers/{customer.pk}/balance/",
            {"kind": "top_up", "amount": "2.50", "memo": "gift", "idempotency_key": key},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert f'<span id="customer-{customer.pk}-balance" hx-swap-oob="true">CNY 12.50</span>' in response.text
        assert "ledger-table-changed" in response["HX-Trigger"] and "Topped up CNY 2.50" in response["HX-Trigger"]
        entry = LedgerEntry.objects.get(customer=customer, kind=LedgerKind.TOP_UP, memo="gift")
        assert entry.amount == Decimal("2.50") and entry.balance_after == Decimal("12.50")

    def test_a_double_submit_writes_once(self, admin_client):
        customer = make_customer("10")
        data = {"kind": "deduct", "amount": "3", "memo": "", "idempotency_key": "same-key"}
        for _ in range(2):
            assert (
                admin_client.post(
                    f"/customers/{customer.pk}/balance/", data, headers={"HX-Request": "true"}
                ).status_code
                == 200
            )
        customer.refresh_from_db()
        assert customer.balance == Decimal("7.00")
        assert LedgerEntry.objects.filter(customer=customer, kind=LedgerKind.DEDUCT).count() == 1

    def test_the_same_key_with_another_amount_is_409(self, admin_client):
        customer = make_customer("10")
        url = f"/customers/{customer.pk}/balance/"
        admin_client.post(url, {"kind": "deduct", "amount": "3", "idempotency_key": "k1"})
        response = admin_client.post(
            url, {"kind": "deduct", "amount": "4", "idempotency_key": "k1"}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 409 and "already submitted with different details" in response.text
        customer.refresh_from_db()
        assert customer.balance == Decimal("7.00")

    def test_a_deduction_beyond_the_balance_is_refused_and_writes_nothing(self, admin_client):
        customer = make_customer("10")
        before = LedgerEntry.objects.count()
        response = admin_client.post(
            f"/customers/{customer.pk}/balance/",
            {"kind": "deduct", "amount": "10.01", "idempotency_key": "k"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422 and "Insufficient balance" in response.text
        assert response.text.lstrip().startswith("<dialog")
        customer.refresh_from_db()
        assert customer.balance == Decimal("10.00") and LedgerEntry.objects.count() == before

    @pytest.mark.parametrize("amount", ["0", "-1", "1.005", "abc", "", "99999999999"])
    def test_bad_amounts_are_422(self, admin_client, amount):
        customer = make_customer("10")
        response = admin_client.post(
            f"/customers/{customer.pk}/balance/", {"kind": "top_up", "amount": amount, "idempotency_key": "k"}
        )
        assert response.status_code == 422 and "amount" in response.context["form"].errors
        assert LedgerEntry.objects.filter(customer=customer).count() == 1

    def test_without_javascript_it_redirects_to_the_customer(self, admin_client):
        customer = make_customer()
        response = admin_client.post(
            f"/customers/{customer.pk}/balance/", {"kind": "top_up", "amount": "1", "idempotency_key": "k"}
        )
        assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
        assert "<html" in admin_client.get(f"/customers/{customer.pk}/balance/").text


class TestLevels:
    def test_create_edit_and_validation(self, admin_client):
        assert admin_client.post("/levels/new/", {"name": "VIP", "percent": "85"}).status_code == 302
        level = Level.objects.get(name="VIP")
        assert admin_client.post(f"/levels/{level.pk}/edit/", {"name": "VIP", "percent": "80"}).status_code == 302
        level.refresh_from_db()
        assert level.percent == 80
        response = admin_client.post("/levels/new/", {"name": "VIP", "percent": "0"})
        assert response.status_code == 422 and set(response.context["form"].errors) == {"name", "percent"}

    def test_a_level_in_use_cannot_be_deleted(self, admin_client):
        used, unused = make_customer().level, make_level()
        assert admin_client.post(f"/levels/{used.pk}/delete/")["Location"] == "/levels/"
        admin_client.post(f"/levels/{unused.pk}/delete/")
        assert Level.objects.filter(pk=used.pk).exists() and not Level.objects.filter(pk=unused.pk).exists()
        assert "cannot be deleted: 1 customer" in admin_client.get("/levels/").text

    def test_delete_is_a_row_action(self, admin_client):
        used, unused = make_customer().level, make_level()
        page = admin_client.get("/levels/").text
        assert 'hx-trigger="levels-table-changed from:body"' in page
        assert f'hx-post="/levels/{unused.pk}/delete/"' in page and f"/levels/{used.pk}/delete/" not in page
        refused = admin_client.post(f"/levels/{used.pk}/delete/", headers={"HX-Request": "true"})
        assert refused.status_code == 204 and "levels-table-changed" in json.loads(refused["HX-Trigger"])
        [(tags, text)] = toasts(refused)
        assert tags == "error" and text.startswith(f"{used.name} cannot be deleted: 1 customer")
        done = admin_client.post(f"/levels/{unused.pk}/delete/", headers={"HX-Request": "true"})
        assert done.status_code == 204 and "levels-table-changed" in json.loads(done["HX-Trigger"])
        assert toasts(done) == [("success", f"Deleted level {unused.name}.")]
        assert not Level.objects.filter(pk=unused.pk).exists()


def tier_data(*tiers, action=None, **fields):
    data = {
        "name": "Widgets",
        "description": "",
        "active": "on",
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "1",
        "tiers-MAX_NUM_FORMS": "20",
        **fields,
    }
    for n, (minimum, price) in enumerate(tiers):
        data[f"tiers-{n}-min_quantity"], data[f"tiers-{n}-unit_price"] = minimum, price
    if action:
        data["tier_action"] = action
    return data


class TestProducts:
    def test_create_with_two_tiers(self, admin_client):
        response = admin_client.post("/products/new/", tier_data(("1", "2.00"), ("100", "1.50")))
        assert response.status_code == 302
        product = Product.objects.get(name="Widgets")
        assert list(product.tiers.values_list("min_quantity", "unit_price")) == [
            (1, Decimal("2.00")),
            (100, Decimal("1.50")),
        ]

    def test_adding_and_removing_tier_rows_saves_nothing(self, admin_client):
        added = admin_client.post(
            "/products/new/", tier_data(("1", "2.00"), action="add"), headers={"HX-Request": "true"}
        )
        assert added.status_code == 200 and added.text.count('class="tier-row"') == 2
        assert added.text.lstrip().startswith('<form id="product-form"')
        removed = admin_client.post("/products/new/", tier_data(("1", "2.00"), ("5", "1.00"), action="remove-0"))
        assert removed.text.count('class="tier-row"') == 1 and 'value="5"' in removed.text
        assert not Product.objects.exists()

    @pytest.mark.parametrize("tiers", [(("1", "2.00"), ("1", "1.00")), (("0", "2.00"),), (("1", "0"),), ()])
    def test_bad_tiers_are_422(self, admin_client, tiers):
        response = admin_client.post("/products/new/", tier_data(*tiers))
        assert response.status_code == 422 and not Product.objects.exists()

    def test_editing_replaces_the_tiers(self, admin_client):
        product = make_product(tiers=((1, "3.00"), (10, "2.00")))
        admin_client.post(f"/products/{product.pk}/edit/", tier_data(("5", "9.00"), name=product.name))
        assert list(PriceTier.objects.filter(product=product).values_list("min_quantity", flat=True)) == [5]

    def test_a_product_with_orders_can_only_be_deactivated(self, admin_client):
        ordered = make_product()
        place(make_customer("100"), ordered)
        admin_client.post(f"/products/{ordered.pk}/delete/")
        assert Product.objects.filter(pk=ordered.pk).exists()
        admin_client.post(f"/products/{ordered.pk}/toggle/")
        ordered.refresh_from_db()
        assert not ordered.active
        unordered = make_product()
        admin_client.post(f"/products/{unordered.pk}/delete/")
        assert not Product.objects.filter(pk=unordered.pk).exists()

    def test_toggle_and_delete_are_row_actions(self, admin_client):
        ordered = make_product()
        place(make_customer("100"), ordered)
        page = admin_client.get("/products/", {"q": ordered.name}).text
        assert 'hx-trigger="products-table-changed from:body"' in page
        toggled = admin_client.post(f"/products/{ordered.pk}/toggle/", headers={"HX-Request": "true"})
        assert toggled.status_code == 204 and "products-table-changed" in json.loads(toggled["HX-Trigger"])
        assert toasts(toggled) == [("success", f"{ordered.name} is deactivated: it can no longer be ordered.")]
        refused = admin_client.post(f"/products/{ordered.pk}/delete/", headers={"HX-Request": "true"})
        assert refused.status_code == 204 and "products-table-changed" in json.loads(refused["HX-Trigger"])
        assert [tags for tags, _ in toasts(refused)] == ["error"]
        assert Product.objects.filter(pk=ordered.pk).exists()

    def test_without_javascript_a_row_action_goes_back_to_the_list_as_it_was(self, admin_client):
        product = make_product()
        came_from = {"Referer": "http://testserver/products/?q=prod&sort=-name"}
        back = admin_client.post(f"/products/{product.pk}/toggle/", headers=came_from)
        assert back.status_code == 302 and back["Location"] == "/products/?q=prod&sort=-name"
        assert "is deactivated" in admin_client.get(back["Location"]).text
        assert admin_client.post(f"/products/{product.pk}/toggle/")["Location"] == "/products/"
