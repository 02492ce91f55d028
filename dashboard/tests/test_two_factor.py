"""The second factor (issue 14, point 13): enrolment, the code step after the password,
recovery codes, remembered browsers, the admins' requirement, and the Users page."""

import base64
import re
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import hotp, totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.accounts import two_factor
from dashboard.accounts.models import AuditEntry
from dashboard.tests.helpers import PASSWORD, admin_with_password, customer_with_password
from dashboard.tests.test_settings import SECRET_KEY, run_python
from orders.tests.factories import make_admin

pytestmark = pytest.mark.django_db

ENROL = "/account/two-factor/enrol/"
VERIFY = "/account/two-factor/verify/"
CODES = "/account/two-factor/recovery-codes/"
RECOVERY = ["abcd2345", "efgh2345", "ijkl2345"]


def sign_in(client, user, password=PASSWORD):
    return client.post("/login/", {"username": user.get_username(), "password": password})


def enrolled(user) -> TOTPDevice:
    """`user` with an authenticator app and the recovery codes RECOVERY."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    codes = StaticDevice.objects.create(user=user, name="Recovery codes")
    StaticToken.objects.bulk_create(StaticToken(device=codes, token=token) for token in RECOVERY)
    return device


def app_code(device: TOTPDevice) -> str:
    """What the app shows: the code of the current time step, or of the next one if the
    current one was used already (the device accepts one step either side)."""
    device.refresh_from_db()
    now = (int(time.time()) - device.t0) // device.step
    return f"{hotp(device.bin_key, max(now, device.last_t + 1)):06d}"


def wrong_code(device: TOTPDevice) -> str:
    """A code of none of the time steps the device could accept now."""
    device.refresh_from_db()
    now = (int(time.time()) - device.t0) // device.step + device.drift
    near = {f"{hotp(device.bin_key, now + offset):06d}" for offset in range(-2, 4)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


def verify(client, code, **extra):
    return client.post(VERIFY, {"code": code, **extra})


def start_enrolment(client) -> bytes:
    """Opens the enrolment page; returns the secret the page shows, as bytes."""
    page = client.get(ENROL)
    assert page.status_code == 200
    shown = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    return base64.b32decode(shown.replace(" ", ""))


def shown_recovery_codes(client) -> list[str]:
    page = client.get(CODES)
    assert page.status_code == 200
    return [code.replace(" ", "") for code in re.findall(r"<li><code>([a-z2-7 ]+)</code></li>", page.text)]


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_ADMINS = True


class TestEnrolment:
    def test_the_page_shows_a_qr_code_and_the_secret_and_saves_nothing(self, client):
        client.force_login(customer_with_password().user)
        secret = start_enrolment(client)
        page = client.get(ENROL).text
        assert start_enrolment(client) == secret, "a reload keeps the secret the app has scanned"
        assert re.search(r'<img class="qr-code" src="data:image/svg\+xml;[^"]+" alt="QR code', page)
        assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
        assert '<label for="id_code">Code from the app</label>' in page
        assert not TOTPDevice.objects.exists()

    def test_a_correct_code_turns_it_on_and_shows_ten_recovery_codes_once(self, client):
        user = customer_with_password().user
        client.force_login(user)
        secret = start_enrolment(client)

        response = client.post(ENROL, {"code": f"{totp(secret):06d}"})

        assert response.status_code == 302 and response["Location"].startswith(CODES)
        device = TOTPDevice.objects.get(user=user)
        assert device.confirmed and device.bin_key == secret
        assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
        codes = shown_recovery_codes(client)
        assert len(set(codes)) == 10
        assert sorted(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == sorted(codes)
        again = client.get(CODES)
        assert again.status_code == 302 and again["Location"] == "/account/two-factor/"
        assert not any(code in client.get("/account/two-factor/").text for code in codes)

    def test_a_wrong_code_is_refused_and_saves_nothing(self, client):
        client.force_login(customer_with_password().user)
        secret = start_enrolment(client)
        wrong = f"{(totp(secret) + 500_000) % 1_000_000:06d}"
        response = client.post(ENROL, {"code": wrong})
        assert response.status_code == 422 and "That code does not match" in response.text
        assert client.post(ENROL, {"code": "12ab"}).status_code == 422
        assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
        assert start_enrolment(client) == secret

    def test_new_recovery_codes_replace_the_old_ones(self, client):
        user = customer_with_password().user
        enrolled(user)
        client.force_login(user)
        client.post(VERIFY, {"code": RECOVERY[0]})

        response = client.post("/account/two-factor/recovery-codes/renew/", headers={"HX-Request": "true"})

        assert response.status_code == 200 and response["HX-Redirect"].startswith(CODES)
        codes = shown_recovery_codes(client)
        assert len(codes) == 10 and not set(codes) & set(RECOVERY)
        assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == set(codes)
        assert client.get("/").status_code == 200, "the session verified by a recovery code stays verified"

    def test_a_new_phone_replaces_the_old_app(self, client):
        user = customer_with_password().user
        old = enrolled(user)
        client.force_login(user)
        verify(client, app_code(old))
        page = client.get("/account/two-factor/").text
        assert "10 of 10 unused" not in page and "3 of 10 unused" in page
        secret = start_enrolment(client)
        assert "Switch to this phone" in client.get(ENROL).text
        assert client.post(ENROL, {"code": f"{totp(secret):06d}"}).status_code == 302
        assert list(TOTPDevice.objects.filter(user=user).values_list("key", flat=True)) == [secret.hex()]

    def test_a_customer_can_turn_it_off_and_it_is_audited(self, client):
        user = customer_with_password().user
        device = enrolled(user)
        client.force_login(user)
        verify(client, app_code(device))
        response = client.post("/account/two-factor/disable/")
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=user).exists() and not StaticDevice.objects.filter(user=user).exists()
        entry = AuditEntry.objects.filter(object_type="user").exclude(action="sign_in.succeeded").get()
        assert (entry.actor, entry.action, entry.target_user) == (user, two_factor.AUDIT_DISABLED, user)
        assert "Two-factor authentication is off" in client.get("/account/two-factor/").text

    def test_an_admin_cannot_turn_it_off_while_it_is_required(self, client, required):
        admin = admin_with_password()
        device = enrolled(admin)
        client.force_login(admin)
        verify(client, app_code(device))
        assert 'action="/account/two-factor/disable/"' not in client.get("/account/two-factor/").text
        client.post("/account/two-factor/disable/")
        assert TOTPDevice.objects.filter(user=admin).exists()
        assert "Admins must keep two-factor authentication on" in client.get("/account/two-factor/").text

    def test_the_account_page_is_in_the_menu_and_offers_to_set_it_up(self, client):
        client.force_login(customer_with_password().user)
        page = client.get("/account/two-factor/").text
        assert '<a href="/account/two-factor/" class="active" aria-current="page">' in page
        assert f'href="{ENROL}"' in page and "Off" in page


class TestRequiredForAdmins:
    def test_an_unenrolled_admin_is_sent_to_enrolment_and_can_do_nothing_else(self, client, required):
        admin = admin_with_password()
        customer = customer_with_password()
        assert sign_in(client, admin)["Location"] == "/"

        assert client.get("/")["Location"] == f"{ENROL}?next=%2F"
        assert client.get("/users/")["Location"] == f"{ENROL}?next=%2Fusers%2F"
        assert client.post(f"/users/{customer.user_id}/deactivate/")["Location"] == ENROL
        customer.user.refresh_from_db()
        assert customer.user.is_active
        fragment = client.get(
            "/users/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/users/?q=x"}
        )
        assert fragment["HX-Redirect"] == f"{ENROL}?next=%2Fusers%2F%3Fq%3Dx"

        page = client.get(f"{ENROL}?next=/users/").text
        assert 'class="sidebar"' not in page and 'class="signed-out"' in page
        assert "Admins sign in with a code from their phone" in page
        assert 'action="/logout/"' in page

    def test_enrolling_lets_the_admin_in(self, client, required):
        admin = admin_with_password()
        sign_in(client, admin)
        secret = start_enrolment(client)
        before = client.session.session_key
        response = client.post(ENROL, {"code": f"{totp(secret):06d}", "next": "/users/"})
        assert response["Location"] == f"{CODES}?next=%2Fusers%2F"
        assert client.session.session_key != before
        assert 'href="/users/"' in client.get(response["Location"]).text
        assert client.get("/users/").status_code == 200

    def test_signing_out_still_works(self, client, required):
        sign_in(client, admin_with_password())
        response = client.post("/logout/")
        assert response.status_code == 302 and response["Location"] == "/login/"
        assert client.get("/")["Location"] == "/login/?next=/"

    def test_customers_are_not_required_to_enrol(self, client, required):
        sign_in(client, customer_with_password().user)
        assert client.get("/").status_code == 200

    def test_it_is_off_when_not_required(self, client):
        sign_in(client, admin_with_password())
        assert client.get("/users/").status_code == 200

    @pytest.mark.parametrize(
        "env, expected",
        [
            (
                {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": SECRET_KEY, "PUBLIC_URL": "https://orders.example.com"},
                True,
            ),
            ({"DJANGO_DEBUG": "true"}, False),
            ({"DJANGO_DEBUG": "true", "DJANGO_TWO_FACTOR_REQUIRED": "true"}, True),
            (
                {
                    "DJANGO_DEBUG": "false",
                    "DJANGO_SECRET_KEY": SECRET_KEY,
                    "PUBLIC_URL": "https://orders.example.com",
                    "DJANGO_TWO_FACTOR_REQUIRED": "false",
                },
                False,
            ),
        ],
        ids=["production", "development", "development-opted-in", "production-opted-out"],
    )
    def test_the_setting_follows_debug_unless_told(self, env, expected):
        code = "import django; from django.conf import settings; django.setup(); print(settings.TWO_FACTOR_REQUIRED_FOR_ADMINS)"
        assert run_python(code, **env).stdout.strip() == str(expected)


class TestCodeStep:
    def test_an_enrolled_admin_is_not_verified_until_the_code(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        sign_in(client, admin)
        assert client.get("/users/")["Location"] == f"{VERIFY}?next=%2Fusers%2F"
        page = client.get(f"{VERIFY}?next=/users/")
        assert page.status_code == 200 and 'class="sidebar"' not in page.text
        assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
        before = client.session.session_key

        response = verify(client, app_code(device), next="/users/")

        assert response.status_code == 302 and response["Location"] == "/users/"
        assert client.session.session_key != before
        assert client.get("/users/").status_code == 200

    def test_a_wrong_code_is_refused_and_counted_by_axes(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        sign_in(client, admin)
        response = verify(client, wrong_code(device))
        assert response.status_code == 422 and "That code is wrong, or was used already" in response.text
        assert AccessAttempt.objects.get(username=admin.username).failures_since_start == 1
        assert DEVICE_ID_SESSION_KEY not in client.session
        assert verify(client, "12").status_code == 422, "a code of the wrong form is refused before it is tried"

    def test_five_wrong_codes_lock_the_user_out(self, client, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only axes counts here
        admin = admin_with_password()
        device = enrolled(admin)
        waiting = type(client)()
        sign_in(waiting, admin)
        sign_in(client, admin)
        for _ in range(4):
            assert verify(client, wrong_code(device)).status_code == 422

        locked = verify(client, wrong_code(device))

        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        assert client.get("/")["Location"] == "/login/?next=/", "the half-finished sign-in has ended"
        refused = verify(waiting, app_code(device))
        assert refused.status_code == 429 and DEVICE_ID_SESSION_KEY not in waiting.session
        assert sign_in(client, admin).status_code == 429

    def test_signing_in_again_with_the_password_buys_no_more_code_guesses(self, client, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only axes counts here
        admin = admin_with_password()
        device = enrolled(admin)
        for _ in range(2):
            sign_in(client, admin)
            assert [verify(client, wrong_code(device)).status_code for _ in range(2)] == [422, 422]
            client.post("/logout/")
        sign_in(client, admin)
        assert verify(client, wrong_code(device)).status_code == 429, "the fifth wrong code locks, password or not"

    def test_a_whole_sign_in_forgets_the_failures_before_it(self, client, settings):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0
        admin = admin_with_password()
        device = enrolled(admin)
        sign_in(client, admin)
        for _ in range(4):
            verify(client, wrong_code(device))
        assert verify(client, app_code(device)).status_code == 302
        client.post("/logout/")
        sign_in(client, admin)
        assert verify(client, wrong_code(device)).status_code == 422

    def test_wrong_codes_in_a_row_are_slowed_down(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        sign_in(client, admin)
        verify(client, wrong_code(device))
        throttled = verify(client, app_code(device))
        assert throttled.status_code == 429 and "wait 1 s" in throttled.text and throttled["Retry-After"] == "1"
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_timestamp=timezone.now() - timedelta(seconds=2)
        )
        assert verify(client, app_code(device)).status_code == 302

    def test_a_recovery_code_works_once(self, client):
        admin = admin_with_password()
        enrolled(admin)
        sign_in(client, admin)
        page = client.get(f"{VERIFY}?recovery=1").text
        assert '<label for="id_code">Recovery code</label>' in page and 'inputmode="numeric"' not in page
        assert verify(client, "ABCD-2345", recovery="1").status_code == 302
        assert client.get("/users/").status_code == 200
        client.post("/logout/")

        sign_in(client, admin)
        again = verify(client, RECOVERY[0], recovery="1")
        assert again.status_code == 422 and '<input type="hidden" name="recovery" value="1">' in again.text
        StaticDevice.objects.filter(user=admin).update(throttling_failure_count=0)  # no waiting in a test
        assert verify(client, RECOVERY[1], recovery="1").status_code == 302
        assert StaticToken.objects.filter(device__user=admin).count() == 1

    def test_enrolled_customers_are_asked_after_the_password(self, client):
        customer = customer_with_password()
        device = enrolled(customer.user)
        sign_in(client, customer.user)
        assert client.get("/orders/")["Location"] == f"{VERIFY}?next=%2Forders%2F"
        verify(client, app_code(device))
        assert client.get("/orders/").status_code == 200

    def test_enrolled_customers_are_asked_after_an_sms_code(self, client, settings):
        from dashboard.accounts import sms

        settings.SMS_BACKEND = "locmem"
        sms.outbox.clear()
        customer = customer_with_password()
        enrolled(customer.user)
        client.post("/login/sms/", {"mobile": customer.mobile})
        code = re.search(r"\b(\d{6})\b", sms.outbox[-1][1]).group(1)
        assert client.post("/login/sms/", {"mobile": customer.mobile, "code": code})["Location"] == "/"
        assert client.get("/")["Location"] == f"{VERIFY}?next=%2F"
        sms.outbox.clear()

    def test_the_step_is_only_for_those_who_have_it_pending(self, client):
        assert client.get(VERIFY)["Location"] == "/"
        client.force_login(customer_with_password().user)
        assert client.get(f"{VERIFY}?next=/orders/")["Location"] == "/orders/"


class TestRememberedBrowser:
    def remembered(self, client, user, device, **extra):
        sign_in(client, user)
        response = verify(client, app_code(device), remember="on", **extra)
        client.post("/logout/")
        return response

    def test_the_cookie_skips_the_step_next_time(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        response = self.remembered(client, admin, device)
        cookie = response.cookies[two_factor.REMEMBER_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
        assert cookie["max-age"] == 30 * 24 * 60 * 60

        sign_in(client, admin)

        assert client.get("/users/").status_code == 200
        assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id

    def test_the_cookie_is_secure_over_https(self, client):
        admin = admin_with_password()
        sign_in(client, admin)
        response = client.post(VERIFY, {"code": app_code(enrolled(admin)), "remember": "on"}, secure=True)
        assert response.cookies[two_factor.REMEMBER_COOKIE]["secure"]

    def test_without_the_box_ticked_nothing_is_remembered(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        sign_in(client, admin)
        assert two_factor.REMEMBER_COOKIE not in verify(client, app_code(device)).cookies

    def test_the_cookie_does_not_count_for_another_user(self, client):
        first, second = admin_with_password(), admin_with_password()
        self.remembered(client, first, enrolled(first))
        enrolled(second)
        sign_in(client, second)
        assert client.get("/")["Location"].startswith(VERIFY)

    def test_a_reset_forgets_the_browser(self, client):
        admin = admin_with_password()
        self.remembered(client, admin, enrolled(admin))
        two_factor.second_factor_reset(user=admin, actor=type(admin).objects.create_superuser("root", password=None))
        enrolled(admin)
        sign_in(client, admin)
        assert client.get("/")["Location"].startswith(VERIFY)

    def test_a_new_password_forgets_the_browser(self, client):
        admin = admin_with_password()
        self.remembered(client, admin, enrolled(admin))
        admin.set_password("another long passphrase")
        admin.save()
        sign_in(client, admin, "another long passphrase")
        assert client.get("/")["Location"].startswith(VERIFY)

    def test_a_tampered_cookie_counts_for_nothing(self, client):
        admin = admin_with_password()
        device = enrolled(admin)
        self.remembered(client, admin, device)
        value = client.cookies[two_factor.REMEMBER_COOKIE].value
        client.cookies[two_factor.REMEMBER_COOKIE] = ("1" if value[0] == "0" else "0") + value[1:]
        sign_in(client, admin)
        assert client.get("/")["Location"].startswith(VERIFY)


class TestUsersPage:
    def test_the_second_factor_column_and_filter(self, client):
        admin = make_admin()
        with_app = customer_with_password().user
        enrolled(with_app)
        without = customer_with_password().user
        client.force_login(admin)
        page = client.get("/users/").text
        row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*>{with_app.username}<(?:(?!</tr>).)*</tr>", page, re.S).group(0)
        assert '<span class="status active">Enrolled</span>' in row
        assert f'action="/users/{with_app.pk}/reset-second-factor/"' in row and "> second factor</span>" in row
        assert "<th" in page and ">Second factor<" in page
        filtered = client.get("/users/", {"second_factor": "true"}).text
        assert with_app.username in filtered and without.username not in filtered
        assert without.username in client.get("/users/", {"second_factor": "false"}).text
        assert "not enrolled" in client.get("/users/", {"export": "csv"}).getvalue().decode()

    def test_the_column_costs_no_query_per_row(self, client, django_assert_max_num_queries):
        client.force_login(make_admin())
        enrolled(customer_with_password().user)
        with django_assert_max_num_queries(100) as few:
            client.get("/users/")
        for _ in range(5):
            enrolled(customer_with_password().user)
        with django_assert_max_num_queries(len(few.captured_queries)):
            client.get("/users/")

    def test_an_admin_resets_a_second_factor_and_it_is_audited(self, client):
        admin = make_admin()
        customer = customer_with_password()
        device = enrolled(customer.user)
        browser = type(client)()
        sign_in(browser, customer.user)
        verify(browser, app_code(device))
        client.force_login(admin)

        response = client.post(f"/users/{customer.user_id}/reset-second-factor/", headers={"HX-Request": "true"})

        assert response.status_code == 204 and "users-table-changed" in response["HX-Trigger"]
        assert "is reset: they sign in with their password alone" in response["HX-Trigger"]
        assert not TOTPDevice.objects.filter(user=customer.user).exists()
        assert not StaticDevice.objects.filter(user=customer.user).exists()
        entry = AuditEntry.objects.filter(object_type="user").exclude(action="sign_in.succeeded").get()
        assert (entry.actor, entry.action, entry.target_user) == (admin, two_factor.AUDIT_RESET, customer.user)
        assert entry.target_repr == customer.user.username
        assert browser.get("/").status_code == 200, "their session goes on without a second factor"
        assert DEVICE_ID_SESSION_KEY not in browser.session

    def test_a_customer_gets_403(self, client):
        target = customer_with_password().user
        enrolled(target)
        client.force_login(customer_with_password().user)
        assert client.post(f"/users/{target.pk}/reset-second-factor/").status_code == 403
        assert (
            TOTPDevice.objects.filter(user=target).exists()
            and not AuditEntry.objects.filter(action__startswith="second_factor").exists()
        )

    def test_only_a_superuser_resets_a_superuser(self, client):
        root = type(make_admin()).objects.create_superuser("root", password=None)
        enrolled(root)
        client.force_login(make_admin())
        assert f'action="/users/{root.pk}/reset-second-factor/"' not in client.get("/users/", {"q": "root"}).text
        client.post(f"/users/{root.pk}/reset-second-factor/")
        assert (
            TOTPDevice.objects.filter(user=root).exists()
            and not AuditEntry.objects.filter(action__startswith="second_factor").exists()
        )
        assert "Only a superuser can reset a superuser" in client.get("/users/").text

        other_root = type(root).objects.create_superuser("root2", password=None)
        client.force_login(other_root)
        enrolled(other_root)
        client.post(VERIFY, {"code": RECOVERY[0]})
        client.post(f"/users/{root.pk}/reset-second-factor/")
        assert not TOTPDevice.objects.filter(user=root).exists()
        assert AuditEntry.objects.get(action="second_factor.reset").actor == other_root

    def test_no_one_resets_their_own_here(self, client):
        admin = make_admin()
        enrolled(admin)
        client.force_login(admin)
        client.post(VERIFY, {"code": RECOVERY[0]})
        client.post(f"/users/{admin.pk}/reset-second-factor/")
        assert TOTPDevice.objects.filter(user=admin).exists()

    def test_the_reset_is_post_only(self, client):
        client.force_login(make_admin())
        assert client.get(f"/users/{make_admin().pk}/reset-second-factor/").status_code == 405
