"""The end-to-end harness: Debian's Chromium driven by Playwright against live_server.

Every journey gets a fresh database (live_server is transactional), users seeded by
the fixtures below, SMS codes in the `locmem` backend, and a screenshot under
test-results/ when it fails (pytest-playwright's --screenshot, set in pytest.ini).
"""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread
from playwright.sync_api import Page

from dashboard.accounts import sms
from orders.tests.factories import make_admin, make_customer

# Playwright's sync API runs an event loop in this thread; live_server's database
# calls from the same thread are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# One request at a time: on SQLite the live server's threads share the test database's
# one in-memory connection, and a row action's answer makes the page send two requests
# at once (the list region and the balance badge), which then read each other's rows.
class SerialLiveServer(WSGIServer):
    # Requests run in the server's own thread, which already has the test's connections.
    # `lock` is held while one is served: a test's own background work (an agent's
    # batches) takes it too, so the one connection is never used by two at once.
    lock = threading.RLock()

    def __init__(self, *args, connections_override=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)

    def finish_request(self, request, client_address) -> None:
        with self.lock:
            super().finish_request(request, client_address)


LiveServerThread.server_class = SerialLiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "e2e-password-1234"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium`, or set CHROMIUM_PATH.")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # Nothing but the test server: a page that reached for the internet would fail.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url


@pytest.fixture(autouse=True)
def _page_defaults(page: Page, live_server, settings) -> Iterator[None]:
    """Every journey has a database of its own (live_server makes the test
    transactional), links handed out (gateway returns, SMS links) lead to the test
    server, and it fails on any script error or CSP violation in the console."""
    settings.PUBLIC_URL = live_server.url
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    # A 4xx page the journey asked for is logged as a failed resource; anything else is a bug.
    unexpected = [text for text in errors if not text.startswith("Failed to load resource")]
    assert not unexpected, unexpected


@pytest.fixture
def admin(live_server):
    user = make_admin("operator")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def customer(live_server):
    customer = make_customer("250.00")
    customer.user.set_password(PASSWORD)
    customer.user.save()
    return customer


@pytest.fixture
def sms_outbox(settings) -> Iterator[list[tuple[str, str]]]:
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violations."""
    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{page.url}:\n" + "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in blocking
    )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A screenshot for people to look at (test-results/ is not committed): the whole
    page, or with `full_page=False` the window (a modal dialog's backdrop covers only that)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if full_page:
        # From the top: a full-page shot of a scrolled page draws the sticky bars mid-page.
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=full_page)
