"""Journeys of issue 14, point 13: setting up a second factor and signing in with it."""

import base64
import re
import time

from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, sign_in


def app_code(secret: bytes, steps_ahead: int = 0) -> str:
    """What an authenticator app shows now, or `steps_ahead` time steps later.

    Not in a step's last seconds: a code typed then is checked in the next step, and
    django-otp stores that difference as the device's drift, which moves the window
    of every later code (a flaky failure of the next sign-in).
    """
    totp = TOTP(secret)
    left = totp.step - time.time() % totp.step
    if left < 8:
        time.sleep(left + 0.1)
    totp.time = time.time() + steps_ahead * totp.step
    return f"{totp.token():06d}"


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def enter(page: Page, label: str, code: str) -> None:
    page.get_by_label(label, exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()


def test_enrol_then_sign_in_with_a_code_or_a_recovery_code(page: Page, admin):
    sign_in(page, admin.username)
    page.get_by_role("link", name="Two-factor authentication").click()
    assert_accessible(page)
    page.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)
    secret = base64.b32decode(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code from the app").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    assert_accessible(page)
    codes = [
        code.replace(" ", "")
        for code in page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    ]
    assert len(set(codes)) == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sign_out(page)

    # The code the app shows next: the one used to enrol cannot be used twice.
    sign_in(page, admin.username)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert_accessible(page)
    enter(page, "Code", app_code(secret, steps_ahead=1))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sign_out(page)

    sign_in(page, admin.username)
    near = {app_code(secret, steps_ahead) for steps_ahead in range(-2, 4)}
    enter(page, "Code", next(code for code in ("000000", "111111", "222222") if code not in near))
    expect(page.get_by_text("That code is wrong, or was used already")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Use a recovery code").click()
    enter(page, "Recovery code", codes[0])
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sign_out(page)

    sign_in(page, admin.username)
    page.get_by_role("link", name="Use a recovery code").click()
    enter(page, "Recovery code", codes[0])
    expect(page.get_by_text("That code is wrong, or was used already")).to_be_visible()
    expect(page.get_by_label("Recovery code", exact=True)).to_be_focused()


def test_an_admin_who_must_enrol_sees_only_enrolment_and_can_sign_out(page: Page, admin, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_ADMINS = True
    sign_in(page, admin.username)
    expect(page).to_have_url(re.compile(r"/account/two-factor/enrol/\?next=%2F$"))
    expect(page.get_by_text("Admins sign in with a code from their phone")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert_accessible(page)
    page.goto("/users/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/enrol/"))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
