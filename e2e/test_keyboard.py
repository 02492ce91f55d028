"""Journeys of issue 16, point 7: the lists from the keyboard. "/" searches, j and k move
through the rows, Enter opens one, "?" lists the shortcuts; keys typed into a field or
with a modifier are the field's and the browser's."""

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, sign_in
from orders import services
from orders.tests.factories import make_customer, make_product, place


@pytest.fixture
def orders(live_server):
    """Thirty pending orders of one customer, the newest first as the list shows them."""
    buyer = make_customer("1000")
    product = make_product(tiers=((1, "1.00"),))
    return [place(buyer, product, quantity=n) for n in range(1, 31)][::-1]


def rows(page: Page, region: str = "orders-table"):
    return page.locator(f"#{region} tbody tr")


def current_rows(page: Page):
    return page.locator(".list-region tbody tr[aria-current]")


def test_slash_focuses_the_search_of_every_list(page: Page, admin, customer):
    sign_in(page, admin.username)
    lists = ["/orders/", "/customers/", "/transactions/", "/payments/", "/levels/", "/products/", "/agents/", "/users/"]
    for path in lists:
        page.goto(path)
        page.keyboard.press("/")
        search = page.locator("[data-list-search] input")
        expect(search).to_be_focused()
        expect(search).to_have_value("")
    page.get_by_role("button", name="Sign out", exact=True).click()

    # A customer's filters start closed: "/" opens them.
    sign_in(page, customer.user.username)
    page.goto("/orders/")
    expect(page.get_by_label("Order number")).to_be_hidden()
    page.keyboard.press("/")
    expect(page.get_by_label("Order number")).to_be_focused()


def test_keys_typed_into_the_search_or_with_a_modifier_are_left_alone(page: Page, admin, orders):
    sign_in(page, admin.username)
    page.goto("/customers/")
    page.keyboard.press("/")
    page.keyboard.type("j/k?")
    expect(page.get_by_label("Search")).to_have_value("j/k?")
    expect(current_rows(page)).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.goto("/orders/")
    for chord in ["Control+j", "Alt+j", "Meta+j"]:
        page.keyboard.press(chord)
    expect(current_rows(page)).to_have_count(0)
    page.keyboard.press("Alt+/")
    expect(page.get_by_label("Search")).not_to_be_focused()


def test_j_and_k_move_through_the_rows_and_enter_opens_the_order(page: Page, admin, orders):
    sign_in(page, admin.username)
    page.goto("/orders/")
    page.keyboard.press("j")
    expect(rows(page).first).to_have_attribute("aria-current", "true")
    expect(rows(page).first).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows(page).nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(rows(page).nth(1)).to_be_focused()
    expect(current_rows(page)).to_have_count(1)

    # Down to the page's last row: it is scrolled into view, and j stops there.
    for _ in range(30):
        page.keyboard.press("j")
    last = rows(page).last
    expect(last).to_be_focused()
    expect(last).to_be_in_viewport(ratio=1)
    expect(current_rows(page)).to_have_count(1)
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/orders/{orders[23].order_no}/$"))


def test_question_mark_lists_the_shortcuts_and_escape_closes_them(page: Page, admin, orders):
    sign_in(page, admin.username)
    page.goto("/orders/")
    page.keyboard.press("j")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Search the list")
    assert_accessible(page)
    page.keyboard.press("j")  # the list behind the dialog does not move
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(rows(page).first).to_be_focused()

    # For the mouse: the hint under the list opens it, its close button closes it.
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_the_current_row_stays_current_when_its_live_status_changes(page: Page, admin, orders):
    sign_in(page, admin.username)
    page.goto("/orders/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator(f"#order-{orders[1].order_no}")
    expect(second).to_be_focused()

    # The live status swaps the open rows in out of band.
    services.order_claim(worker_id="e2e-agent", lease_seconds=60, limit=30)
    expect(second).to_contain_text("Running", timeout=8_000)
    expect(second).to_have_attribute("aria-current", "true")
    expect(second).to_be_focused()
    expect(current_rows(page)).to_have_count(1)
    page.keyboard.press("j")
    expect(rows(page).nth(2)).to_be_focused()


def test_j_works_on_after_a_row_action_reloads_the_list_and_again_after_a_sort(page: Page, admin, customer):
    product = make_product(tiers=((1, "1.00"),))
    placed = [place(customer, product, quantity=n) for n in (3, 1, 2)]
    sign_in(page, admin.username)
    page.goto("/orders/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows(page).nth(1)).to_be_focused()

    # The region reloads itself after a row action: the current row stays current.
    page.once("dialog", lambda dialog: dialog.accept())
    rows(page).nth(2).get_by_role("button", name="Cancel order").click()
    expect(rows(page).nth(2)).to_contain_text("Cancelled")
    expect(rows(page).nth(1)).to_have_attribute("aria-current", "true")
    page.keyboard.press("j")
    expect(rows(page).nth(2)).to_be_focused()
    expect(rows(page).nth(2)).to_have_attribute("aria-current", "true")

    # Sorting swaps in other rows: nothing is current until j, which starts at the top.
    page.get_by_role("link", name="Amount").click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    expect(current_rows(page)).to_have_count(0)
    page.keyboard.press("j")
    expect(rows(page).first).to_be_focused()
    expect(rows(page).first).to_contain_text(placed[1].order_no)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/orders/{placed[1].order_no}/$"))
