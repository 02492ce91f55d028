"""Journeys of issue 5: a customer orders, watches, cancels and is refused; an admin
searches, filters, sorts, pages, exports and cancels."""

import csv
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, sign_in
from orders import services
from orders.tests.factories import make_customer, make_product, place


@pytest.fixture
def product(live_server):
    return make_product(tiers=((1, "2.00"), (10, "1.50")))


def badge(page: Page):
    return page.locator("#balance-badge .amount")


def test_customer_orders_watches_cancels_and_is_refused(page: Page, customer, product):
    earlier = place(customer, product, quantity=5)  # CNY 10.00; balance 240.00
    sign_in(page, customer.user.username)
    expect(badge(page)).to_have_text("CNY 240.00")

    page.get_by_role("link", name="New order").first.click()
    page.get_by_label("Product").select_option(label=product.name)
    page.get_by_label("Quantity").fill("4")
    quote = page.locator("#quote")
    expect(quote).to_contain_text("To pay")
    expect(quote).to_contain_text("CNY 8.00")
    page.get_by_label("Quantity").fill("12")
    expect(quote).to_contain_text("CNY 1.50")
    expect(quote).to_contain_text("CNY 18.00")
    assert_accessible(page)
    page.get_by_label("Target").fill("https://example.com/page")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Order "))).to_be_visible()
    expect(badge(page)).to_have_text("CNY 222.00")
    assert_accessible(page)
    placed_no = page.locator("h1 .mono").inner_text()

    # The agent picks it up and finishes it while the customer watches My orders.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    row = page.locator(f"#order-{placed_no}")
    expect(row).to_contain_text("Pending")
    assert_accessible(page)
    claimed = services.order_claim(worker_id="e2e-agent", lease_seconds=60, limit=2)
    expect(row).to_contain_text("Running", timeout=8_000)
    for order in claimed:
        if order.order_no == placed_no:
            services.order_complete(order=order, worker_id="e2e-agent")
        else:
            services.order_release(order=order, worker_id="e2e-agent")
    expect(row).to_contain_text("Completed", timeout=8_000)

    # Cancel the earlier one: the list reloads in place, the refund shows in the badge.
    earlier_row = page.locator(f"#order-{earlier.order_no}")
    expect(earlier_row).to_contain_text("Pending")
    page.once("dialog", lambda dialog: dialog.accept())
    earlier_row.get_by_role("button", name="Cancel order").click()
    expect(earlier_row).to_contain_text("Cancelled")
    expect(page.locator(".toast").last).to_contain_text("CNY 10.00 was refunded")
    expect(badge(page)).to_have_text("CNY 232.00")

    # Beyond the balance: the quote warns, the server refuses, nothing is written.
    page.goto("/orders/new/")
    page.get_by_label("Product").select_option(label=product.name)
    page.get_by_label("Quantity").fill("1000")
    expect(page.locator("#quote")).to_contain_text("Insufficient balance")
    page.get_by_label("Target").fill("https://example.com/too-much")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("Insufficient balance").first).to_be_visible()
    assert_accessible(page)
    expect(badge(page)).to_have_text("CNY 232.00")


def test_another_customers_order_is_not_found(page: Page, customer, product):
    theirs = place(make_customer("50"), product)
    sign_in(page, customer.user.username)
    response = page.goto(f"/orders/{theirs.order_no}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    assert_accessible(page)


def test_admin_searches_filters_sorts_pages_exports_and_cancels(page: Page, admin, product):
    buyer = make_customer("1000")
    orders = [place(buyer, product, quantity=n) for n in range(1, 31)]
    other = make_customer("100")
    place(other, product, quantity=2)
    sign_in(page, admin.username)
    nav = page.get_by_role("navigation", name="Main")

    nav.get_by_role("link", name="Orders").click()
    assert_accessible(page)
    page.get_by_label("Search").fill(orders[4].order_no)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"/orders/{orders[4].order_no}/$"))

    nav.get_by_role("link", name="Orders").click()
    page.get_by_label("Search").fill(other.mobile)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)

    page.get_by_label("Search").fill("")
    page.get_by_label("Pending").check()
    today = date.today().isoformat()
    page.get_by_label("From date").fill(today)
    page.get_by_label("To date").fill(today)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"status=pending"))
    expect(page.locator("#orders-table")).to_contain_text("1–25 of 31")

    page.get_by_role("link", name="Amount").click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    expect(page.locator("#orders-table tbody tr").first).to_contain_text("CNY 2.00")
    page.get_by_role("link", name="Amount").click()
    expect(page.locator("#orders-table tbody tr").first).to_contain_text("CNY 45.00")
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#orders-table")).to_contain_text("26–31 of 31")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), newline="") as exported:
        assert len(list(csv.reader(exported))) - 1 == 31

    page.locator("#orders-table tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Order "))).to_be_visible()
    assert_accessible(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-live .status").first).to_have_text("Cancelled")
    expect(page.locator(".timeline")).to_contain_text(f"by {admin.username}")
