"""Journeys of issue 7: paying by card through the sandbox (approved and declined), and
an ATM transfer marked received by an admin."""

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, screenshot, sign_in
from orders import services
from orders.models import Order
from orders.tests.factories import make_product


@pytest.fixture
def product(live_server):
    return make_product(tiers=((1, "5.00"),))


def order_by_card(page: Page, product, quantity: str, method: str = "Card") -> None:
    page.goto("/orders/new/")
    page.get_by_label("Product").select_option(label=product.name)
    page.get_by_label("Quantity").fill(quantity)
    page.get_by_label(method, exact=True).check()
    page.get_by_label("Target").fill("https://example.com/target")
    page.get_by_role("button", name="Place order").click()


def run_the_agent_once() -> None:
    for order in services.order_claim(worker_id="e2e-agent", lease_seconds=60, limit=10):
        services.order_complete(order=order, worker_id="e2e-agent")


def test_customer_pays_by_card_and_watches_the_order_complete(page: Page, customer, product):
    sign_in(page, customer.user.username)
    order_by_card(page, product, "3")
    expect(page.get_by_text("Sandbox", exact=False).first).to_be_visible()
    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    screenshot(page, "sandbox-card")
    assert_accessible(page)
    page.get_by_role("button", name="Approve payment").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Order "))).to_be_visible()
    live = page.locator("#order-live .status").first
    expect(live).to_have_text("Pending")
    expect(page.locator(".timeline")).to_contain_text("Awaiting payment")
    assert_accessible(page)
    (claimed,) = services.order_claim(worker_id="e2e-agent", lease_seconds=60)
    expect(live).to_have_text("Running", timeout=10_000)
    services.order_complete(order=claimed, worker_id="e2e-agent")
    expect(live).to_have_text("Completed", timeout=10_000)
    expect(page.locator("#balance-badge .amount")).to_have_text("CNY 250.00")  # paid by card, not from the balance


def test_a_declined_card_cancels_the_order(page: Page, customer, product):
    sign_in(page, customer.user.username)
    order_by_card(page, product, "2")
    page.get_by_role("button", name="Decline").click()
    expect(page.locator("#order-live .status").first).to_have_text("Cancelled")
    expect(page.locator(".timeline")).to_contain_text("Card payment not made")


def test_an_atm_transfer_marked_received_by_an_admin_completes(page: Page, browser, base_url, admin, customer, product):
    sign_in(page, customer.user.username)
    order_by_card(page, product, "4", method="ATM transfer")
    expect(page.get_by_text("Transfer CNY 20.00 to account")).to_be_visible()
    account = Order.objects.get(customer=customer).payments.get().pay_url
    expect(page.locator("#order-live")).to_contain_text(account)
    screenshot(page, "atm-order")
    assert_accessible(page)

    admin_page = browser.new_page(base_url=base_url)
    sign_in(admin_page, admin.username)
    admin_page.get_by_role("link", name="Play the bank: ATM transfers awaiting payment").click()
    assert_accessible(admin_page)
    admin_page.get_by_role("row", name=re.compile(account)).get_by_role("button", name="Mark as received").click()
    expect(admin_page.locator(".toast")).to_contain_text("marked as received")
    admin_page.close()

    live = page.locator("#order-live .status").first
    expect(live).to_have_text("Pending", timeout=10_000)
    run_the_agent_once()
    expect(live).to_have_text("Completed", timeout=10_000)
