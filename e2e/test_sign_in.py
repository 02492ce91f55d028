"""Journeys of issue 3: signing in and out, by password and by SMS, menus, lockout, 403."""

import re

from playwright.sync_api import Page, expect

from e2e.conftest import PASSWORD, assert_accessible, sign_in


def menu(page: Page):
    return page.get_by_role("navigation", name="Main").get_by_role("link")


def test_admin_signs_in_and_sees_the_admin_menu(page: Page, admin):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    assert_accessible(page)
    sign_in(page, admin.username)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(menu(page)).to_have_text(
        [
            "Dashboard",
            "Orders",
            "Customers",
            "Levels",
            "Products",
            "Transactions",
            "Payments",
            "Agents",
            "Users",
            "Audit",
            "Password",
            "Two-factor authentication",
        ]
    )
    expect(page.locator(".role-chip")).to_have_text("Admin")
    expect(page.get_by_role("img", name="Orders and revenue, last 30 days")).to_be_visible()
    assert_accessible(page)


def test_customer_signs_in_and_sees_their_menu_and_balance(page: Page, customer):
    sign_in(page, customer.user.username)
    expect(page.get_by_role("heading", name=f"Hello, {customer.name}")).to_be_visible()
    expect(menu(page)).to_have_text(
        ["Dashboard", "Orders", "New order", "Transactions", "Payments", "Password", "Two-factor authentication"]
    )
    expect(page.locator("#balance-badge")).to_contain_text("CNY 250.00")
    expect(page.locator(".role-chip")).to_have_text("Customer")
    assert_accessible(page)


def test_customer_signs_in_with_an_sms_code(page: Page, customer, sms_outbox):
    page.goto("/login/")
    page.get_by_role("link", name="Sign in with a code by SMS").click()
    assert_accessible(page)
    page.get_by_label("Mobile number").fill(customer.mobile)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_text("a 6-digit code is on its way")).to_be_visible()
    assert_accessible(page)
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1][1]).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Hello, {customer.name}")).to_be_visible()


def test_five_failures_lock_the_account_out(page: Page, admin):
    for _ in range(4):
        sign_in(page, admin.username, "not-the-password")
        expect(page.get_by_text("That username and password do not match")).to_be_visible()
    sign_in(page, admin.username, "not-the-password")
    expect(page.get_by_role("heading", name="Too many failed attempts")).to_be_visible()
    expect(page.get_by_text("locked for 15 minutes")).to_be_visible()
    assert_accessible(page)
    sign_in(page, admin.username, PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed attempts")).to_be_visible()


def test_sign_out_ends_the_session(page: Page, customer):
    sign_in(page, customer.user.username)
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_a_customer_opening_an_admin_page_gets_403(page: Page, customer):
    sign_in(page, customer.user.username)
    response = page.goto("/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()
    assert_accessible(page)


def test_admin_deactivates_a_customer_who_is_then_signed_out(page: Page, browser, base_url, admin, customer):
    customer_page = browser.new_page(base_url=base_url)
    sign_in(customer_page, customer.user.username)
    expect(customer_page.locator("#balance-badge")).to_be_visible()

    sign_in(page, admin.username)
    page.get_by_role("link", name="Users").click()
    assert_accessible(page)
    page.get_by_label("Search").fill(customer.mobile)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/users/\?q="))
    row = page.locator("tr", has_text=customer.user.username)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").click()
    expect(row.get_by_text("Deactivated")).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("is deactivated and signed out everywhere")

    customer_page.reload()
    expect(customer_page).to_have_url(re.compile(r"/login/"))
    customer_page.close()
