"""Issue 16: an admin chooses the order list's columns, saves the failed orders as a view
"Failed today", and opens it again from the sidebar: the same rows, the same columns."""

import re

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, sign_in
from orders import services
from orders.tests.factories import make_product, place

CHOSEN = ["Order", "Placed", "Customer", "Status", "Amount", ""]


def column_headers(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#orders-table thead th:not(.select)").all_text_contents()]


def test_admin_chooses_columns_saves_a_view_and_opens_it_from_the_sidebar(page: Page, admin, customer):
    product = make_product()
    for _ in range(4):
        place(customer, product)
    for order in services.order_claim(worker_id="e2e-agent", lease_seconds=60, limit=2):
        services.order_fail(order=order, worker_id="e2e-agent", error="the target refused")
    sign_in(page, admin.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    expect(page.locator("#orders-table tbody tr")).to_have_count(4)

    # Columns: without Product and Quantity, the status before the amount. Only the table reloads.
    page.locator(".list-tools summary", has_text="Columns").click()
    chooser = page.locator(".columns-form")
    expect(chooser.get_by_role("checkbox", name="Order (always shown)")).to_be_disabled()
    assert_accessible(page)
    chooser.get_by_role("checkbox", name="Product").uncheck()
    chooser.get_by_role("checkbox", name="Quantity").uncheck()
    chooser.get_by_role("button", name="Move Status up").click()
    chooser.get_by_role("button", name="Move Status up").click()
    expect(chooser.get_by_role("button", name="Move Status up")).to_be_focused()
    page.evaluate("window.notReloaded = true")
    chooser.get_by_role("button", name="Apply").click()
    expect(page.locator(".toast").last).to_contain_text("Columns saved")
    assert column_headers(page) == CHOSEN
    expect(chooser).to_be_hidden()
    assert page.evaluate("window.notReloaded === true"), "the region reloads, not the page"

    # The failed orders only, saved under a name.
    page.get_by_role("group", name="Status").get_by_label("Failed").check()
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#orders-table tbody tr")).to_have_count(2)
    page.locator(".list-tools summary", has_text="Save view").click()
    page.locator(".list-tools").get_by_label("Name", exact=True).fill("Failed today")
    assert_accessible(page)
    page.locator(".list-tools").get_by_role("button", name="Save view").click()
    expect(page.locator(".toast").last).to_contain_text("Saved the view “Failed today”")
    expect(page.locator(".saved-views .chip.active")).to_have_text("Failed today")

    # Elsewhere, then back through the sidebar.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    sidebar_view = page.get_by_role("navigation", name="Main").get_by_role("link", name="Failed today")
    expect(sidebar_view).to_be_visible()
    sidebar_view.click()
    expect(page).to_have_url(re.compile(r"/orders/\?status=failed&view=\d+$"))
    rows = page.locator("#orders-table tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row).to_contain_text("Failed")
    assert column_headers(page) == CHOSEN
    expect(sidebar_view).to_have_attribute("aria-current", "page")
    assert_accessible(page)
