"""Issue 16: an admin filters the orders to 2,000 pending ones of one product, selects
all matching, cancels them in bulk and watches the progress bar finish; the balances and
the ledger are right, and orders outside the filter — or placed into it while the action
runs — are untouched."""

import re
import threading
from contextlib import contextmanager

from django.db import connections
from playwright.sync_api import Page, expect

from e2e.conftest import SerialLiveServer, assert_accessible, screenshot, sign_in
from orders import services
from orders.models import BulkAction, Order, OrderStatus
from orders.tests.conftest import assert_invariants
from orders.tests.factories import make_customer, make_product, place

SELECTED = 2000


@contextmanager
def agent():
    """An agent's bulk batches in a thread of its own, one at a time with the live server
    (on SQLite they share the test's one connection)."""
    stop = threading.Event()
    shared = connections["default"] if connections["default"].vendor == "sqlite" else None

    errors = []

    def work() -> None:
        if shared is not None:
            connections["default"] = shared
        try:
            while not stop.is_set():
                with SerialLiveServer.lock:
                    did = services.bulk_work()
                if not did:
                    stop.wait(0.1)
        except Exception as error:
            errors.append(error)
            raise
        finally:
            if shared is None:
                connections.close_all()  # its own: the test database is dropped afterwards

    if shared is not None:
        shared.inc_thread_sharing()
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        yield errors
    finally:
        stop.set()
        worker.join(30)
        if shared is not None:
            shared.dec_thread_sharing()
    assert not errors, errors


def test_bulk_cancel_of_every_matching_order_with_progress(page: Page, admin):
    product, other = make_product(), make_product()
    customers = [make_customer("2000") for _ in range(20)]
    for n in range(SELECTED):
        place(customers[n % 20], product)
    outside = [place(customers[0], other) for _ in range(3)]

    sign_in(page, admin.username)
    page.goto(f"/orders/?product={product.pk}&status=pending")
    bar = page.locator("#bulk-form")
    expect(bar.get_by_role("button", name="Select all 2,000 matching")).to_be_visible()
    bar.get_by_role("button", name="Select all 2,000 matching").click()
    expect(bar.locator("[data-bulk-count]")).to_have_text("All 2000 matching orders are selected.")
    assert_accessible(page)
    bar.get_by_role("button", name="Cancel the pending ones").click()
    expect(page.get_by_role("heading", name="Cancel the pending ones: 2,000 orders")).to_be_visible()

    page.get_by_role("button", name="Cancel the pending ones: 2,000").click()
    expect(page).to_have_url(re.compile(r"/bulk/actions/\d+/$"))
    expect(page.get_by_role("heading", name="In progress")).to_be_visible()
    screenshot(page, "bulk-progress")
    # The filter changes while the action runs: these match it now, but were not selected.
    with SerialLiveServer.lock:
        late = [place(customers[1], product) for _ in range(2)]
    with agent():
        expect(page.get_by_role("heading", name="Finished")).to_be_visible(timeout=120_000)
    expect(page.locator('[data-count="done"]')).to_have_text("2,000")
    expect(page.locator('[data-count="skipped"]')).to_have_text("0")
    expect(page.locator("progress")).to_have_attribute("value", "2000")
    assert_accessible(page)
    screenshot(page, "bulk-finished")

    bulk = BulkAction.objects.get()
    assert (bulk.total, bulk.done, bulk.skipped, bulk.failed) == (SELECTED, SELECTED, 0, 0)
    assert Order.objects.filter(product=product, status=OrderStatus.CANCELLED).count() == SELECTED
    for order in [*outside, *late]:
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING
    for customer in customers[2:]:
        customer.refresh_from_db()
        assert customer.balance == 2000
    assert_invariants()
