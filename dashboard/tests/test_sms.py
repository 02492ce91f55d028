import logging
import re
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.db.models import F

from dashboard.accounts import services as accounts
from dashboard.accounts import sms
from dashboard.accounts.models import SmsCode
from dashboard.logs import JsonFormatter
from dashboard.tests.helpers import session_row
from orders.tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def ask_for_code(client, mobile, **extra):
    return client.post("/login/sms/", {"mobile": mobile}, **extra)


def enter_code(client, mobile, code, **extra):
    return client.post("/login/sms/", {"mobile": mobile, "code": code}, **extra)


def code_sent_to(outbox, mobile) -> str:
    to, message = outbox[-1]
    assert to == mobile
    return re.search(r"\b(\d{6})\b", message).group(1)


def page_without_tokens(html: str, mobile: str) -> str:
    """The page with the per-response CSRF token and CSP nonce, and the mobile, blanked."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value="|"x-csrftoken": "|nonce=")[^"]+', r"\1…", html)
    return html.replace(mobile, "MOBILE")


def age_codes(seconds: int) -> None:
    SmsCode.objects.update(
        created_at=F("created_at") - timedelta(seconds=seconds), expires_at=F("expires_at") - timedelta(seconds=seconds)
    )


def test_a_customer_signs_in_with_the_code_texted_to_them(client, outbox):
    customer = make_customer()
    response = ask_for_code(client, customer.mobile)
    assert response.status_code == 200 and "a 6-digit code is on its way" in response.text
    code = code_sent_to(outbox, customer.mobile)

    response = enter_code(client, customer.mobile, code)

    assert response.status_code == 302 and response["Location"] == "/"
    assert session_row(client).user_id == customer.user_id


def test_the_code_is_stored_hashed(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    stored = SmsCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64


def test_spaces_and_dashes_in_the_mobile_are_ignored(client, outbox):
    customer = make_customer()  # mobiles look like +8613000000012
    spaced = f"{customer.mobile[:3]} {customer.mobile[3:7]}-{customer.mobile[7:]}"
    ask_for_code(client, spaced)
    assert enter_code(client, spaced, code_sent_to(outbox, customer.mobile)).status_code == 302


def test_a_code_is_single_use(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    assert enter_code(client, customer.mobile, code).status_code == 302
    client.post("/logout/")
    response = enter_code(client, customer.mobile, code)
    assert response.status_code == 422 and "wrong, used or expired" in response.text


def test_a_code_expires_after_five_minutes(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    age_codes(5 * 60 + 1)
    assert enter_code(client, customer.mobile, code).status_code == 422
    assert SESSION_KEY not in client.session


def test_a_code_is_dead_after_five_wrong_tries(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        assert enter_code(client, customer.mobile, wrong).status_code == 422
    assert accounts.sms_code_verify(mobile=customer.mobile, code=wrong) is None  # the fifth
    assert SmsCode.objects.get().attempts == 5
    assert accounts.sms_code_verify(mobile=customer.mobile, code=code) is None


def test_four_wrong_tries_then_the_right_code_signs_in(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    for _ in range(4):
        enter_code(client, customer.mobile, "000000" if code != "000000" else "111111")
    assert enter_code(client, customer.mobile, code).status_code == 302


def test_a_new_code_replaces_the_old_one(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    first = code_sent_to(outbox, customer.mobile)
    age_codes(61)
    ask_for_code(client, customer.mobile)
    second = code_sent_to(outbox, customer.mobile)
    if first != second:
        assert enter_code(client, customer.mobile, first).status_code == 422
    assert enter_code(client, customer.mobile, second).status_code == 302


def test_one_send_per_mobile_per_minute(client, outbox):
    customer = make_customer()
    assert ask_for_code(client, customer.mobile).status_code == 200
    again = ask_for_code(client, customer.mobile)
    assert again.status_code == 429 and "less than a minute ago" in again.text
    assert 0 < int(again["Retry-After"]) <= 60
    assert len(outbox) == 1
    age_codes(61)
    assert ask_for_code(client, customer.mobile).status_code == 200
    assert len(outbox) == 2


def test_sends_per_address_are_capped_per_hour(client, outbox, settings):
    settings.SMS_SENDS_PER_IP_PER_HOUR = 3
    for n in range(3):
        assert ask_for_code(client, f"+86139000000{n:02d}").status_code == 200
    refused = ask_for_code(client, "+8613900000099")
    assert refused.status_code == 429 and "Too many codes" in refused.text
    assert ask_for_code(client, "+8613900000099", REMOTE_ADDR="10.1.1.1").status_code == 200
    age_codes(3601)
    assert ask_for_code(client, "+8613900000098").status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_cap_without_trusted_proxies(client, outbox, settings):
    settings.TRUSTED_PROXIES, settings.SMS_SENDS_PER_IP_PER_HOUR = 0, 3
    for n in range(3):
        assert ask_for_code(client, f"+86139000000{n:02d}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code == 200
    refused = ask_for_code(client, "+8613900000099", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert refused.status_code == 429 and "Too many codes" in refused.text


def test_behind_a_trusted_proxy_the_cap_is_per_visitor(client, outbox, settings):
    """Every visitor arrives from the router's address: capping that would stop SMS sign-in for everyone."""
    settings.TRUSTED_PROXIES, settings.SMS_SENDS_PER_IP_PER_HOUR = 1, 3
    visitor_a = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    for n in range(3):
        assert ask_for_code(client, f"+86139000000{n:02d}", **visitor_a).status_code == 200
    assert ask_for_code(client, "+8613900000099", **visitor_a).status_code == 429
    forged = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5"}
    assert ask_for_code(client, "+8613900000098", **forged).status_code == 429
    assert set(SmsCode.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}

    visitor_b = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert ask_for_code(client, "+8613900000099", **visitor_b).status_code == 200


def test_an_unknown_mobile_gets_the_same_answer_and_no_text(client, outbox):
    customer = make_customer()
    known = ask_for_code(client, customer.mobile)
    unknown = ask_for_code(client, "+8613999999999")
    assert known.status_code == unknown.status_code == 200
    assert page_without_tokens(known.text, customer.mobile) == page_without_tokens(unknown.text, "+8613999999999")
    assert [to for to, _ in outbox] == [customer.mobile]
    # The limits answer alike too.
    assert ask_for_code(client, "+8613999999999").status_code == 429
    wrong_known = enter_code(client, customer.mobile, "123456")
    wrong_unknown = enter_code(client, "+8613999999999", "123456")
    assert wrong_known.status_code == wrong_unknown.status_code == 422


def test_a_deactivated_customer_gets_no_code_and_cannot_sign_in(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    type(customer.user).objects.filter(pk=customer.user_id).update(is_active=False)
    assert enter_code(client, customer.mobile, code).status_code == 422
    outbox.clear()
    age_codes(61)
    assert ask_for_code(client, customer.mobile).status_code == 200 and outbox == []


def test_bad_input_is_refused_with_a_field_error(client, outbox):
    response = ask_for_code(client, "call me maybe")
    assert response.status_code == 422 and "Enter a mobile number" in response.text
    response = enter_code(client, "+8613900000000", "12ab")
    assert response.status_code == 422 and "6 digits" in response.text
    assert not SmsCode.objects.exists() and outbox == []


def test_wrong_codes_lock_the_mobile_out_like_wrong_passwords(client, outbox):
    customer = make_customer()
    ask_for_code(client, customer.mobile)
    code = code_sent_to(outbox, customer.mobile)
    for _ in range(5):
        enter_code(client, customer.mobile, "999999" if code != "999999" else "888888")
    response = enter_code(client, customer.mobile, code)
    assert response.status_code == 429 and "Too many failed attempts" in response.text


def test_a_failing_sms_gateway_answers_like_a_sent_code_and_is_logged_without_the_text(client, settings, caplog):
    sent_to, failed_for = make_customer(), make_customer()
    sent = ask_for_code(client, sent_to.mobile)
    settings.SMS_BACKEND = "dashboard.tests.test_sms.BrokenBackend"
    with caplog.at_level(logging.INFO):
        failed = ask_for_code(client, failed_for.mobile)
    assert sent.status_code == failed.status_code == 200
    assert page_without_tokens(sent.text, sent_to.mobile) == page_without_tokens(failed.text, failed_for.mobile)
    [error] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "could not be sent" in error.getMessage()
    ((_, message),) = BrokenBackend.attempted
    code = re.search(r"\b(\d{6})\b", message).group(1)
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert code not in logged and message not in logged


class BrokenBackend:
    attempted: list[tuple[str, str]] = []

    def send(self, mobile, message):
        self.attempted[:] = [(mobile, message)]
        raise OSError("gateway down")


class TestWrongCodesPerMobile:
    """Five tries per code, a new code every minute and lockouts per mobile and address
    would let someone who changes addresses guess for ever: wrong codes are also
    capped per mobile, across codes and addresses."""

    LOCKED = "Too many wrong codes for this number"

    def wrong_codes(self, client, mobile, tries, address):
        ask_for_code(client, mobile, REMOTE_ADDR=address)
        for _ in range(tries):
            assert enter_code(client, mobile, "000000", REMOTE_ADDR=address).status_code == 422
        age_codes(61)

    def lock(self, client, mobile):
        """Ten wrong codes, from three addresses, none of them locked out by django-axes."""
        for address, tries in (("10.2.0.1", 4), ("10.2.0.2", 4), ("10.2.0.3", 2)):
            self.wrong_codes(client, mobile, tries, address)

    def test_wrong_codes_are_capped_across_codes_and_addresses(self, client, outbox):
        customer = make_customer()
        self.lock(client, customer.mobile)
        code = code_sent_to(outbox, customer.mobile)  # the latest, with three tries left
        outbox.clear()

        asked = ask_for_code(client, customer.mobile, REMOTE_ADDR="10.2.0.4")
        assert asked.status_code == 429 and self.LOCKED in asked.text and outbox == []
        assert "sign in with your username and password" in asked.text and "ask support" in asked.text
        assert int(asked["Retry-After"]) == 24 * 3600
        entered = enter_code(client, customer.mobile, code, REMOTE_ADDR="10.2.0.5")
        assert entered.status_code == 429 and self.LOCKED in entered.text
        assert SESSION_KEY not in client.session

    def test_an_unknown_mobile_is_capped_alike_with_the_same_answer(self, client, outbox):
        customer, unknown = make_customer(), "+8613999999999"
        self.lock(client, customer.mobile)
        self.lock(client, unknown)
        known_asked = ask_for_code(client, customer.mobile, REMOTE_ADDR="10.2.0.4")
        unknown_asked = ask_for_code(client, unknown, REMOTE_ADDR="10.2.0.4")
        assert known_asked.status_code == unknown_asked.status_code == 429
        assert known_asked["Retry-After"] == unknown_asked["Retry-After"]
        assert page_without_tokens(known_asked.text, customer.mobile) == page_without_tokens(
            unknown_asked.text, unknown
        )
        known_entered = enter_code(client, customer.mobile, "123456", REMOTE_ADDR="10.2.0.5")
        unknown_entered = enter_code(client, unknown, "123456", REMOTE_ADDR="10.2.0.5")
        assert known_entered.status_code == unknown_entered.status_code == 429
        assert page_without_tokens(known_entered.text, customer.mobile) == page_without_tokens(
            unknown_entered.text, unknown
        )

    def test_the_cap_lifts_when_the_window_has_passed(self, client, outbox, settings):
        settings.SMS_FAILURES_PER_MOBILE, settings.SMS_FAILURE_WINDOW_HOURS = 3, 2
        customer = make_customer()
        self.wrong_codes(client, customer.mobile, 3, "10.2.0.1")
        assert ask_for_code(client, customer.mobile).status_code == 429
        age_codes(2 * 3600)
        assert ask_for_code(client, customer.mobile).status_code == 200
        assert enter_code(client, customer.mobile, code_sent_to(outbox, customer.mobile)).status_code == 302

    def test_the_try_that_signs_in_is_not_a_wrong_one(self, client, outbox, settings):
        settings.SMS_FAILURES_PER_MOBILE = 3
        customer = make_customer()
        self.wrong_codes(client, customer.mobile, 2, "10.2.0.1")
        ask_for_code(client, customer.mobile)
        assert enter_code(client, customer.mobile, code_sent_to(outbox, customer.mobile)).status_code == 302
        client.post("/logout/")
        age_codes(61)
        assert ask_for_code(client, customer.mobile).status_code == 200


def test_without_an_sms_backend_sign_in_by_sms_says_it_is_off(client, settings):
    settings.SMS_BACKEND = ""
    customer = make_customer()
    page = client.get("/login/sms/")
    assert (
        page.status_code == 200 and "Sign-in by SMS is not available" in page.text and 'name="mobile"' not in page.text
    )
    asked = ask_for_code(client, customer.mobile)
    assert asked.status_code == 503 and "Sign-in by SMS is not available" in asked.text
    assert enter_code(client, customer.mobile, "123456").status_code == 503
    assert not SmsCode.objects.exists()


def test_without_an_sms_backend_the_password_page_offers_no_sms_sign_in(client, settings):
    assert "Sign in with a code by SMS" in client.get("/login/").text
    settings.SMS_BACKEND = ""
    page = client.get("/login/").text
    assert "Sign in with a code by SMS" not in page and "Sign in by SMS" not in page


def test_without_an_sms_backend_a_text_fails_like_a_provider_that_is_down(settings):
    settings.SMS_BACKEND = ""
    with pytest.raises(OSError, match="SMS_BACKEND is not set"):
        sms.get_backend()


def test_console_backend_prints_the_message():
    out = StringIO()
    with mock.patch("sys.stdout", out):
        sms.ConsoleSmsBackend().send("+8613900000000", "hello")
    assert out.getvalue() == "SMS to +8613900000000: hello\n"


def test_http_backend_posts_json_with_the_token(settings):
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN = "https://sms.example/send", "t0ken"
    with mock.patch("urllib.request.urlopen") as urlopen:
        sms.HttpSmsBackend().send("+8613900000000", "hello")
    request = urlopen.call_args.args[0]
    assert request.full_url == "https://sms.example/send" and request.get_method() == "POST"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.data == b'{"to": "+8613900000000", "message": "hello"}'


def test_http_backend_needs_a_url(settings):
    settings.SMS_BACKEND, settings.SMS_HTTP_URL = "http", ""
    with pytest.raises(Exception, match="SMS_HTTP_URL"):
        sms.get_backend()
