"""Orders for both roles (issue 5): scoping, the order center's filters, the quote,
placing, cancelling and live status."""

import itertools
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from orders import services
from orders.models import LedgerEntry, Order, OrderStatus, Payment
from orders.money import round_money
from orders.tests.conftest import assert_invariants
from orders.tests.factories import make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shown(response) -> list:
    return list(response.context["table"].page.object_list.data)


class TestScoping:
    """A customer asking for another customer's order, payment or transaction gets 404 or nothing."""

    @pytest.fixture
    def theirs(self):
        return place(make_customer("100"), make_product())

    @pytest.fixture
    def me(self):
        return signed_in(make_customer("100").user)

    def test_another_customers_order_is_404(self, me, theirs):
        assert me.get(f"/orders/{theirs.order_no}/").status_code == 404
        assert me.get(f"/orders/{theirs.order_no}/", headers={"HX-Request": "true"}).status_code == 404

    def test_cancelling_another_customers_order_is_404_and_changes_nothing(self, me, theirs):
        assert me.post(f"/orders/{theirs.order_no}/cancel/").status_code == 404
        assert me.post(f"/orders/{theirs.order_no}/cancel/", headers={"HX-Request": "true"}).status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == OrderStatus.PENDING

    def test_an_unknown_order_is_404(self, me):
        assert me.get("/orders/NOSUCHORDER00/").status_code == 404
        assert me.post("/orders/NOSUCHORDER00/cancel/").status_code == 404

    def test_lists_exports_searches_and_live_rows_hold_only_their_own(self, me, theirs):
        payment = Payment.objects.get(order=theirs)
        entry = LedgerEntry.objects.get(order=theirs)
        for url, other in [("/orders/", theirs), ("/payments/", payment), ("/transactions/", entry)]:
            for query in [{}, {"q": theirs.order_no}, {"q": payment.payment_no}, {"q": entry.entry_no}]:
                response = me.get(url, query)
                assert response.status_code == 200 and other not in shown(response)
            export = b"".join(me.get(url, {"export": "csv"}).streaming_content).decode()
            assert theirs.order_no not in export and payment.payment_no not in export and entry.entry_no not in export
        rows = me.get("/orders/rows/", {"no": theirs.order_no})
        assert rows.status_code == 200 and theirs.order_no not in rows.text

    def test_a_customer_searches_only_order_numbers(self):
        mine = place(make_customer("50"), make_product())
        client = signed_in(mine.customer.user)
        for term in ("hello world", "Lulu", "a-b", mine.customer.name):
            response = client.get("/orders/", {"q": term})
            assert response.status_code == 200 and shown(response) == []
        assert [o.pk for o in shown(client.get("/orders/", {"q": mine.order_no[2:8].lower()}))] == [mine.pk]

    def test_a_customer_cannot_reach_the_order_center_filters_of_others(self, theirs):
        mine = place(make_customer("50"), make_product())
        client = signed_in(mine.customer.user)
        assert [o.pk for o in shown(client.get("/orders/", {"q": theirs.customer.mobile}))] == []
        assert "level" not in client.get("/orders/").context["filterset"].form.fields


@pytest.fixture
def history():
    """Orders across customers, levels, products, statuses, days and amounts."""
    gold, plain = make_level(90, "Gold"), make_level(100, "Plain")
    customers = [make_customer("10000", level=level) for level in (gold, gold, plain)]
    products = [make_product(tiers=((1, price),)) for price in ("1.00", "7.50", "33.00")]
    orders = []
    for n, (customer, product) in enumerate(itertools.product(customers, products)):
        for quantity in (1, 3, 10):
            order = place(customer, product, quantity)
            age = timedelta(days=(n * 3 + quantity) % 20)
            Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)
            orders.append(order)
    for order in orders[::4]:
        services.order_cancel(order=order, actor=None)
    claimed = services.order_claim(worker_id="w1", lease_seconds=60, limit=6)
    for n, order in enumerate(claimed):
        if n % 3 == 0:
            services.order_complete(order=order, worker_id="w1")
        elif n % 3 == 1:
            services.order_fail(order=order, worker_id="w1", error="boom")
    return {
        "orders": list(Order.objects.select_related("customer__user", "customer__level", "product")),
        "levels": (gold, plain),
        "products": products,
        "customers": customers,
    }


def day(days_ago: int) -> str:
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def independent(
    orders, *, status=None, product=None, level=None, after=None, before=None, amount_min=None, amount_max=None, q=None
):
    """The same filter, computed in Python from the rows themselves."""

    def keep(order):
        created = timezone.localtime(order.created_at).date().isoformat()
        return (
            (status is None or order.status in status)
            and (product is None or order.product_id == product.pk)
            and (level is None or order.customer.level_id == level.pk)
            and (after is None or created >= after)
            and (before is None or created <= before)
            and (amount_min is None or order.amount >= Decimal(amount_min))
            and (amount_max is None or order.amount <= Decimal(amount_max))
            and (
                q is None
                or (q.upper() in order.order_no if len(q) >= 3 else q.upper() == order.order_no)
                or q in order.customer.mobile
                or q.lower() in order.customer.name.lower()
                or q.lower() in order.customer.user.username.lower()
            )
        )

    return sorted(o.pk for o in orders if keep(o))


class TestOrderCenterFilters:
    @pytest.fixture
    def admin(self):
        return signed_in(make_admin())

    def check(self, admin, history, query: dict, **expected_filter):
        response = admin.get("/orders/", {**query, "per_page": 100})
        assert response.status_code == 200, response.context["filterset"].errors
        got = sorted(o.pk for o in shown(response))
        expected = independent(history["orders"], **expected_filter)
        assert got == expected, query
        csv = (
            b"".join(admin.get("/orders/", {**query, "export": "csv"}).streaming_content).decode().strip().splitlines()
        )
        assert len(csv) - 1 == len(expected)
        return expected

    def test_every_dimension_alone(self, admin, history):
        gold = history["levels"][0]
        product = history["products"][1]
        customer = history["customers"][2]
        assert self.check(admin, history, {"status": "cancelled"}, status={"cancelled"})
        assert self.check(admin, history, {"status": ["completed", "failed"]}, status={"completed", "failed"})
        assert self.check(admin, history, {"product": product.pk}, product=product)
        assert self.check(admin, history, {"level": gold.pk}, level=gold)
        assert self.check(admin, history, {"created_after": day(5)}, after=day(5))
        assert self.check(admin, history, {"created_before": day(10)}, before=day(10))
        assert self.check(admin, history, {"amount_min": "20", "amount_max": "100"}, amount_min="20", amount_max="100")
        assert self.check(admin, history, {"q": customer.mobile}, q=customer.mobile)
        assert self.check(admin, history, {"q": customer.name.split()[-1]}, q=customer.name.split()[-1])
        part = history["orders"][5].order_no[4:9]
        assert self.check(admin, history, {"q": part}, q=part)

    def test_combinations(self, admin, history):
        gold, plain = history["levels"]
        for product, level, statuses, (after, before), (low, high) in itertools.product(
            history["products"][:2],
            (gold, plain),
            (["pending"], ["cancelled", "completed"]),
            ((day(15), day(3)), (day(0), day(0))),
            (("0.5", "40"), ("10", "10000")),
        ):
            self.check(
                admin,
                history,
                {
                    "product": product.pk,
                    "level": level.pk,
                    "status": statuses,
                    "created_after": after,
                    "created_before": before,
                    "amount_min": low,
                    "amount_max": high,
                },
                product=product,
                level=level,
                status=set(statuses),
                after=after,
                before=before,
                amount_min=low,
                amount_max=high,
            )

    def test_sorting_by_amount(self, admin, history):
        amounts = [o.amount for o in shown(admin.get("/orders/", {"sort": "-amount", "per_page": 100}))]
        assert amounts == sorted(amounts, reverse=True) and len(amounts) == len(history["orders"])

    def test_an_exact_order_number_opens_the_order(self, admin, history):
        order = history["orders"][3]
        assert admin.get("/orders/", {"q": order.order_no.lower()})["Location"] == f"/orders/{order.order_no}/"
        htmx = admin.get("/orders/", {"q": order.order_no}, headers={"HX-Request": "true"})
        assert htmx["HX-Redirect"] == f"/orders/{order.order_no}/"

    @pytest.mark.parametrize(
        "query", [{"status": "bogus"}, {"product": "999999"}, {"created_after": "yesterday"}, {"amount_min": "x"}]
    )
    def test_bad_filters_are_422(self, admin, history, query):
        response = admin.get("/orders/", query)
        assert response.status_code == 422 and shown(response) == []


class TestPlacing:
    @pytest.fixture
    def customer(self):
        return make_customer("100", level=make_level(90))

    @pytest.fixture
    def product(self):
        return make_product(tiers=((1, "3.33"), (10, "2.99"), (100, "2.50")))

    @pytest.mark.parametrize("quantity", [1, 9, 10, 11, 99, 100, 37])
    def test_the_quote_is_tier_price_times_quantity_times_level(self, customer, product, quantity):
        client = signed_in(customer.user)
        quote = client.get(
            "/orders/quote/", {"product": product.pk, "quantity": quantity}, headers={"HX-Request": "true"}
        )
        price = Decimal("3.33") if quantity < 10 else Decimal("2.99") if quantity < 100 else Decimal("2.50")
        expected = round_money(price * quantity * 90 / 100)
        assert quote.status_code == 200 and quote.text.lstrip().startswith('<section id="quote"')
        assert f"To pay</dt><dd>CNY {expected:,}" in quote.text
        if expected <= 100:
            order = place(customer, product, quantity)
            assert order.amount == expected
        else:
            assert "Insufficient balance" in quote.text

    def test_the_quote_explains_what_cannot_be_ordered(self, customer, product):
        client = signed_in(customer.user)
        assert "Enter a whole number" in client.get("/orders/quote/", {"product": product.pk, "quantity": "x"}).text
        services.product_set_active(product=product, active=False, actor=None)
        assert "Select a valid choice" in client.get("/orders/quote/", {"product": product.pk, "quantity": 1}).text

    def test_placing_charges_the_balance_and_opens_the_order(self, customer, product):
        client = signed_in(customer.user)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', client.get("/orders/new/").text).group(1)
        data = {
            "product": product.pk,
            "quantity": 10,
            "target": "https://example.com/x",
            "memo": "",
            "idempotency_key": key,
        }
        first, again = client.post("/orders/new/", data), client.post("/orders/new/", data)
        order = Order.objects.get(customer=customer)
        assert first["Location"] == again["Location"] == f"/orders/{order.order_no}/"
        customer.refresh_from_db()
        assert order.amount == Decimal("26.91") and customer.balance == Decimal("73.09")
        assert client.post("/orders/new/", {**data, "quantity": 11}).status_code == 409
        assert_invariants()

    def test_a_short_balance_is_refused_and_writes_nothing(self, customer, product):
        client = signed_in(customer.user)
        data = {"product": product.pk, "quantity": 1000, "target": "t", "idempotency_key": "k"}
        response = client.post("/orders/new/", data)
        assert response.status_code == 422 and "Insufficient balance" in response.text
        assert not Order.objects.exists() and LedgerEntry.objects.filter(customer=customer).count() == 1

    def test_invalid_input_is_422(self, customer, product):
        response = signed_in(customer.user).post("/orders/new/", {"product": product.pk, "quantity": 0, "target": ""})
        assert response.status_code == 422
        assert set(response.context["form"].errors) == {"quantity", "target", "idempotency_key"}
        assert not Order.objects.exists()

    def test_admins_do_not_place_orders(self, product):
        assert signed_in(make_admin()).get("/orders/new/").status_code == 403


class TestCancelAndLiveStatus:
    def test_a_customer_cancels_a_pending_order_from_the_list(self):
        customer = make_customer("50")
        order = place(customer, make_product(tiers=((1, "20.00"),)))
        client = signed_in(customer.user)
        page = client.get("/orders/", {"status": "pending"}).text
        assert 'hx-trigger="orders-table-changed from:body"' in page and 'hx-get="/orders/?status=pending"' in page
        button = re.search(rf'<form method="post" action="/orders/{order.order_no}/cancel/"[^>]*>', page).group(0)
        assert 'hx-swap="none"' in button
        response = client.post(f"/orders/{order.order_no}/cancel/", headers={"HX-Request": "true"})
        assert response.status_code == 204 and response.content == b""
        events = json.loads(response["HX-Trigger"])
        assert {"orders-table-changed", "balance-changed"} <= set(events)
        assert "CNY 20.00 was refunded" in events["messages"][0]["message"]
        customer.refresh_from_db()
        assert customer.balance == Decimal("50.00")
        reloaded = client.get("/orders/", {"status": "cancelled"}, headers={"HX-Request": "true"}).text
        assert f'id="order-{order.order_no}"' in reloaded and "Cancel order" not in reloaded

    def test_a_refused_cancel_answers_alike_with_the_refusal_as_a_toast(self):
        customer = make_customer("50")
        order = place(customer, make_product())
        services.order_claim(worker_id="w", lease_seconds=60)
        response = signed_in(customer.user).post(f"/orders/{order.order_no}/cancel/", headers={"HX-Request": "true"})
        assert response.status_code == 204
        events = json.loads(response["HX-Trigger"])
        assert "orders-table-changed" in events
        assert events["messages"][0]["tags"] == "error" and "was not cancelled" in events["messages"][0]["message"]
        order.refresh_from_db()
        assert order.status == OrderStatus.RUNNING

    def test_without_javascript_a_cancel_from_the_list_goes_back_to_the_list(self):
        customer = make_customer("50")
        order = place(customer, make_product())
        client = signed_in(customer.user)
        back = client.post(f"/orders/{order.order_no}/cancel/", headers={"Referer": "http://testserver/orders/?page=1"})
        assert back.status_code == 302 and back["Location"] == "/orders/?page=1"
        assert "was refunded to the balance" in client.get(back["Location"]).text
        assert client.post(f"/orders/{order.order_no}/cancel/")["Location"] == "/orders/"

    def test_an_admin_cancels_from_the_detail_page(self):
        order = place(make_customer("50"), make_product())
        admin = make_admin()
        client = signed_in(admin)
        page = client.get(f"/orders/{order.order_no}/")
        assert "Cancel order" in page.text and "Timeline" in page.text
        assert '<input type="hidden" name="from" value="order">' in page.text
        response = client.post(f"/orders/{order.order_no}/cancel/", {"from": "order"}, headers={"HX-Request": "true"})
        assert response["HX-Redirect"] == f"/orders/{order.order_no}/"
        detail = client.get(f"/orders/{order.order_no}/").text
        assert f"by {admin.username}" in detail
        assert "Refund" in detail and "Cancelled" in detail
        again = client.post(f"/orders/{order.order_no}/cancel/", {"from": "order"})
        assert again.status_code == 302 and again["Location"] == f"/orders/{order.order_no}/"

    def test_live_rows_follow_open_orders_and_stop_when_final(self):
        customer = make_customer("50")
        order = place(customer, make_product())
        client = signed_in(customer.user)
        page = client.get("/orders/").text
        assert f'hx-get="/orders/rows/?no={order.order_no}"' in page and 'hx-trigger="every 3s"' in page
        rows = client.get("/orders/rows/", {"no": order.order_no}).text
        assert (
            f'<template><tr id="order-{order.order_no}" hx-swap-oob="true">' in rows and 'hx-trigger="every 3s"' in rows
        )
        (claimed,) = services.order_claim(worker_id="w", lease_seconds=60)
        services.order_complete(order=claimed, worker_id="w")
        rows = client.get("/orders/rows/", {"no": order.order_no}).text
        assert "Completed" in rows and "hx-trigger" not in rows

    def test_the_detail_page_shows_payments_and_balance_changes_in_the_lists_tables(self):
        customer = make_customer("50")
        order = place(customer, make_product(tiers=((1, "20.00"),)))
        services.order_cancel(order=order, actor=customer.user)
        page = signed_in(customer.user).get(f"/orders/{order.order_no}/").text
        charge, refund = Payment.objects.filter(order=order).order_by("created_at", "id")
        payments = page[page.index('id="payments-title"') : page.index('id="ledger-title"')]
        assert 'aria-labelledby="payments-title"' in payments
        assert re.findall(r'<td class="mono">(\w+)</td><td >(\w+)</td>', payments) == [
            (charge.payment_no, "Charge"),
            (refund.payment_no, "Refund"),
        ]
        entries = page[page.index('id="ledger-title"') :]
        assert re.findall(r'<td class="money">([^<]+)</td><td class="money">([^<]+)</td>', entries) == [
            ("CNY -20.00", "CNY 30.00"),
            ("CNY 20.00", "CNY 50.00"),
        ]
        assert 'class="sort' not in page and "Export CSV" not in page

    def test_an_order_awaiting_its_transfer_has_no_balance_change_yet(self):
        customer = make_customer("0")
        client = signed_in(customer.user)
        data = {"product": make_product().pk, "quantity": 1, "target": "t", "idempotency_key": "k", "method": "atm"}
        page = client.get(client.post("/orders/new/", data)["Location"]).text
        assert '<span class="status pending">Pending</span>' in page
        assert '<td colspan="5" class="empty">No balance changes.</td>' in page

    def test_the_detail_page_polls_only_while_open(self):
        customer = make_customer("50")
        order = place(customer, make_product())
        client = signed_in(customer.user)
        assert 'id="order-live" hx-get' in client.get(f"/orders/{order.order_no}/").text
        services.order_cancel(order=order, actor=customer.user)
        live = client.get(f"/orders/{order.order_no}/", headers={"HX-Request": "true"}).text
        assert live.lstrip().startswith('<div id="order-live">') and "hx-trigger" not in live


class TestWhoActedAsCustomersSeeIt:
    """Customers see "Support" for staff and "Fulfilment" for agents, never a staff
    username or an agent's name (its host); admins see both."""

    STAFF = "ops-alice"
    AGENT = "vm-1234-prod-7f3a"
    # Across the order pages, the transactions page and its CSV.
    SHOWN = (
        "Claimed by {agent} (attempt 1)",
        "Attempt 1 failed on {agent}: HTTP 503",
        "Failed on {agent}: HTTP 500",
        "Completed by {agent}",
        "Released by {agent}: shutting down",
        "The lease of {agent} expired",
        '<dd class="mono">{agent}</dd>',
        "by {staff}",
        ">{staff}</td>",
        ",{staff}\r\n",
    )

    @pytest.fixture
    def customer(self):
        """Orders of one customer, topped up by staff, through every agent note the
        services write, one still running, and one cancelled by staff."""
        staff = make_admin(self.STAFF)
        customer = make_customer("1000", actor=staff)
        product = make_product()

        def claimed() -> Order:
            placed = place(customer, product)
            (order,) = services.order_claim(worker_id=self.AGENT, lease_seconds=60)
            assert order == placed
            return order

        services.order_retry(order=claimed(), worker_id=self.AGENT, error="HTTP 503", delay_seconds=60)
        services.order_fail(order=claimed(), worker_id=self.AGENT, error="HTTP 500")
        services.order_complete(order=claimed(), worker_id=self.AGENT)
        place(customer, product)
        assert services.order_claim(worker_id=self.AGENT, lease_seconds=-1)
        assert services.order_expire_leases(max_attempts=1) == 1
        claimed()
        services.order_release(order=claimed(), worker_id=self.AGENT, error="shutting down")
        services.order_cancel(order=place(customer, product, actor=customer.user), actor=staff)
        return customer

    def pages(self, client: Client, customer) -> dict[str, str]:
        orders = Order.objects.filter(customer=customer)
        pages = {order.order_no: client.get(f"/orders/{order.order_no}/").text for order in orders}
        running = orders.get(status=OrderStatus.RUNNING)
        pages["live"] = client.get(f"/orders/{running.order_no}/", headers={"HX-Request": "true"}).text
        pages["transactions"] = client.get("/transactions/").text
        pages["csv"] = b"".join(client.get("/transactions/", {"export": "csv"}).streaming_content).decode()
        return pages

    def test_a_customer_sees_support_and_fulfilment(self, customer):
        pages = self.pages(signed_in(customer.user), customer)
        for name, page in pages.items():
            assert self.STAFF not in page and "vm-1234" not in page, name
        everything = "".join(pages.values())
        for shown in (
            *(text.format(agent="Fulfilment", staff="Support") for text in self.SHOWN),
            f"by {customer.user.username}",
        ):
            assert shown in everything, shown

    def test_an_admin_sees_who_it_was(self, customer):
        everything = "".join(self.pages(signed_in(make_admin()), customer).values())
        for shown in (text.format(agent=self.AGENT, staff=self.STAFF) for text in self.SHOWN):
            assert shown in everything, shown
