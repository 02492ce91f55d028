"""Journeys of issue 4: the admin sets up a level, a product and a customer, moves money,
finds and exports the transactions, and acts on rows of the catalogue's lists."""

import csv
import re
from datetime import date

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, sign_in
from orders.tests.factories import make_level, make_product, place


def test_admin_sets_up_a_customer_and_moves_money(page: Page, admin):
    sign_in(page, admin.username)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Levels").click()
    assert_accessible(page)
    page.get_by_role("link", name="New level").click()
    page.get_by_label("Name").fill("Gold")
    page.get_by_label("Pays (%)").fill("90")
    assert_accessible(page)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Gold", exact=True)).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("Saved level Gold (90%)")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name").fill("Followers")
    page.get_by_label("From quantity").fill("1")
    page.get_by_label("Unit price").fill("0.50")
    page.get_by_role("button", name="Add tier").click()
    expect(page.get_by_label("From quantity")).to_have_count(2)
    page.get_by_label("From quantity").nth(1).fill("1000")
    page.get_by_label("Unit price").nth(1).fill("0.40")
    assert_accessible(page)
    page.get_by_role("button", name="Save product").click()
    expect(page.get_by_role("row", name=re.compile("Followers"))).to_contain_text("from 1,000: CNY 0.40")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    assert_accessible(page)
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Username").fill("wang")
    page.get_by_label("Name", exact=True).fill("Wang Fang")
    page.get_by_label("Mobile").fill("+8613900001111")
    page.get_by_label("Level").select_option(label="Gold (90%)")
    page.get_by_label("Set it now").check()
    page.get_by_label("Password", exact=True).fill("a sturdy passphrase 7")
    assert_accessible(page)
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", name="Wang Fang")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Top up").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert_accessible(page)
    dialog.get_by_label("Amount (CNY)").fill("100")
    dialog.get_by_label("Memo").fill("Opening balance")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".kpi .value")).to_have_text("CNY 100.00")
    expect(page.locator("#ledger-table")).to_contain_text("Opening balance")
    expect(page.locator(".toast").last).to_contain_text("Topped up CNY 100.00")

    page.get_by_role("link", name="Deduct").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Amount (CNY)").fill("500")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog.get_by_text("Insufficient balance")).to_be_visible()
    assert_accessible(page)
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".kpi .value")).to_have_text("CNY 100.00")


def test_admin_filters_transactions_and_exports_them(page: Page, admin, customer):
    sign_in(page, admin.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Transactions").click()
    assert_accessible(page)
    # The filters' "Kind", not the column chooser's.
    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Kind").select_option(label="Top-up")
    today = date.today().isoformat()
    filters.get_by_label("From date").fill(today)
    filters.get_by_label("To date").fill(today)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"kind=top_up"))
    rows = page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(customer.name)
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    with open(download.value.path(), newline="") as exported:
        lines = list(csv.reader(exported))
    assert len(lines) - 1 == rows.count()
    assert lines[1][3] == "Top-up"

    rows.first.get_by_role("link", name=customer.name).click()
    expect(page.get_by_role("heading", name=customer.name)).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"kind=top_up"))
    expect(filters.get_by_label("Kind")).to_have_value("top_up")
    expect(page.locator("#ledger-table tbody tr")).to_have_count(1)

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"kind=top_up"))
    expect(filters.get_by_label("Kind")).to_have_value("")


def test_row_actions_reload_the_list_as_it_was_with_a_toast(page: Page, admin, customer):
    """Deleting a level, deactivating and deleting a product: the list reloads in place,
    keeping its search, and says what happened, or why not."""
    spare = make_level(95, "Spare level")
    make_level(96, "Spare level two")
    ordered = make_product()
    place(customer, ordered)
    sign_in(page, admin.username)

    page.goto("/levels/?q=spare")
    rows = page.locator("#levels-table tbody tr")
    expect(rows).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has=page.get_by_role("cell", name=spare.name, exact=True)).get_by_role("button", name="Delete").click()
    expect(page.locator(".toast").last).to_contain_text("Deleted level Spare level.")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Spare level two")
    expect(page).to_have_url(re.compile(r"/levels/\?q=spare$"))
    expect(page.get_by_label("Search")).to_have_value("spare")

    page.goto(f"/products/?q={ordered.name}")
    row = page.locator("#products-table tbody tr", has_text=ordered.name)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").click()
    expect(row).to_contain_text("Deactivated")
    expect(page.locator(".toast").last).to_contain_text("is deactivated: it can no longer be ordered")
    expect(row.get_by_role("button", name="Activate")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator(".toast.error").last).to_be_visible()
    expect(row).to_be_visible()
    assert_accessible(page)
