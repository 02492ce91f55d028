"""Screenshots of the sign-in page and both dashboards, wide and phone-sized, for people
to look at (test-results/screenshots/), each page also checked with axe."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from e2e.conftest import PASSWORD, assert_accessible, screenshot, sign_in

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844), "desktop-dark": (1280, 800)}


@pytest.fixture
def demo(live_server) -> None:
    call_command("seed_demo", orders=600, customers=20, password=PASSWORD, seed=7, verbosity=0, stdout=None)


@pytest.mark.parametrize("size", WIDTHS)
def test_sign_in_and_dashboards(page: Page, demo, size):
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme="dark" if size.endswith("dark") else "light")
    page.goto("/login/")
    screenshot(page, f"sign-in-{size}")
    assert_accessible(page)

    sign_in(page, "admin")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
    screenshot(page, f"admin-dashboard-{size}")
    assert_accessible(page)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    screenshot(page, f"users-{size}")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in(page, "customer00001")
    expect(page.locator("#balance-badge")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
    screenshot(page, f"customer-dashboard-{size}")
    assert_accessible(page)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_back_office(page: Page, demo, size):
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "admin")
    for name, path in [
        ("customers", "/customers/"),
        ("transactions", "/transactions/"),
        ("payments", "/payments/"),
        ("levels", "/levels/"),
        ("products", "/products/"),
        ("product-form", "/products/new/"),
        ("agents", "/agents/"),
    ]:
        page.goto(path)
        screenshot(page, f"{name}-{size}")
        assert_accessible(page)
    page.goto("/customers/")
    page.locator("#customers-table tbody tr").first.get_by_role("link").first.click()
    page.get_by_role("link", name="Top up").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    screenshot(page, f"customer-balance-dialog-{size}")
    assert_accessible(page)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_orders(page: Page, demo, size):
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "admin")
    page.goto("/orders/?status=pending&status=running")
    screenshot(page, f"orders-admin-{size}")
    assert_accessible(page)
    page.locator(".list-tools summary", has_text="Columns").click()
    screenshot(page, f"orders-columns-{size}")
    assert_accessible(page)
    page.locator(".list-tools summary", has_text="Columns").click()
    page.locator("#orders-table tbody tr").first.get_by_role("link").first.click()
    screenshot(page, f"order-detail-{size}")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in(page, "customer00001")
    page.goto("/orders/")
    screenshot(page, f"my-orders-{size}")
    assert_accessible(page)
    page.goto("/orders/new/")
    page.get_by_label("Product").select_option(index=1)
    page.get_by_label("Quantity").fill("100")
    expect(page.locator("#quote")).to_contain_text("To pay")
    screenshot(page, f"new-order-{size}")
    assert_accessible(page)
