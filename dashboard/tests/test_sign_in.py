from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.db.models import F

from dashboard import settings as project_settings
from dashboard.accounts.models import UserSession
from dashboard.accounts.services import LAST_SEEN, SIGNED_IN_AT
from dashboard.tests.helpers import PASSWORD, admin_with_password, session_row

pytestmark = pytest.mark.django_db

SAME_ERROR = "That username and password do not match"
ROUTER = "10.0.0.1"


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password, **extra})


def sign_in_from(client, address: dict, username, password=PASSWORD):
    """`sign_in` with `address` (REMOTE_ADDR, X-Forwarded-For) in the request's META."""
    return client.post("/login/", {"username": username, "password": password}, **address)


def test_sign_in_rotates_the_session_id_and_stores_the_session_in_the_database(client):
    admin = admin_with_password()
    session = client.session  # an anonymous session exists before signing in
    session["probe"] = "x"
    session.save()
    anonymous_key = session.session_key

    response = sign_in(client, admin.username)

    assert response.status_code == 302 and response["Location"] == "/"
    row = session_row(client)
    assert row is not None and row.session_key != anonymous_key
    assert row.user_id == admin.pk
    assert not UserSession.objects.filter(session_key=anonymous_key).exists()


def test_a_pbkdf2_password_hash_is_upgraded_to_argon2id_at_sign_in(client, settings):
    # The project's hashers, not the fast one the test suite uses.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    admin = admin_with_password()
    admin.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    admin.save()
    assert sign_in(client, admin.username).status_code == 302
    admin.refresh_from_db()
    assert admin.password.startswith("argon2$argon2id$")
    assert admin.check_password(PASSWORD)


def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    admin = admin_with_password()
    wrong_password = sign_in(client, admin.username, "not the password")
    unknown_user = sign_in(client, "nobody-by-this-name")
    assert wrong_password.status_code == unknown_user.status_code == 422
    assert SAME_ERROR in wrong_password.text and SAME_ERROR in unknown_user.text
    assert SESSION_KEY not in client.session


def test_an_empty_form_is_refused_with_field_errors(client):
    response = client.post("/login/", {})
    assert response.status_code == 422
    assert "This field is required." in response.text


def test_next_goes_to_the_page_asked_for_but_never_off_site(client):
    admin = admin_with_password()
    assert sign_in(client, admin.username, next="/users/")["Location"] == "/users/"
    client.logout()
    assert sign_in(client, admin.username, next="https://evil.example/")["Location"] == "/"


def test_logout_is_a_post_that_deletes_the_session_row(client):
    admin = admin_with_password()
    sign_in(client, admin.username)
    row = session_row(client)
    assert client.get("/logout/").status_code == 405
    assert UserSession.objects.filter(pk=row.pk).exists()
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not UserSession.objects.filter(pk=row.pk).exists()
    assert client.get("/")["Location"] == "/login/?next=/"


def test_session_cookie_flags(client, settings):
    admin = admin_with_password()
    response = sign_in(client, admin.username)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_deactivated_user_is_signed_out_at_the_next_request(client):
    admin = admin_with_password()
    sign_in(client, admin.username)
    row = session_row(client)
    type(admin).objects.filter(pk=admin.pk).update(is_active=False)

    response = client.get("/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not UserSession.objects.filter(pk=row.pk).exists()


def test_an_idle_session_ends(client, settings):
    admin = admin_with_password()
    sign_in(client, admin.username)
    client.get("/")
    session = client.session
    session[LAST_SEEN] -= settings.SESSION_IDLE_SECONDS + 1
    session.save()
    response = client.get("/")
    assert response["Location"] == "/login/?next=/"
    assert session_row(client) is None or SESSION_KEY not in client.session


def test_activity_keeps_a_session_alive_but_not_past_its_absolute_lifetime(client, settings):
    admin = admin_with_password()
    sign_in(client, admin.username)
    client.get("/")
    session = client.session
    # Active a minute ago, signed in longer ago than the absolute lifetime.
    session[LAST_SEEN] -= 60
    session[SIGNED_IN_AT] -= settings.SESSION_ABSOLUTE_SECONDS + 1
    session.save()
    assert client.get("/")["Location"] == "/login/?next=/"


def test_a_recent_request_keeps_the_session(client, settings):
    admin = admin_with_password()
    sign_in(client, admin.username)
    session = client.session
    session[LAST_SEEN] -= settings.SESSION_IDLE_SECONDS - 60
    session.save()
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200


def test_an_expired_session_ends_with_a_client_redirect_for_htmx(client, settings):
    admin = admin_with_password()
    sign_in(client, admin.username)
    session = client.session
    session[SIGNED_IN_AT] -= settings.SESSION_ABSOLUTE_SECONDS + 1
    session.save()
    response = client.get(
        "/users/?page=2", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/users/?q=a"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/users/%3Fq%3Da"


class TestLockout:
    def test_five_failures_lock_the_username_from_that_address_with_429(self, client):
        admin = admin_with_password()
        statuses = [sign_in(client, admin.username, "wrong").status_code for _ in range(5)]
        assert statuses[:4] == [422] * 4
        locked = sign_in(client, admin.username)  # even the right password
        assert statuses[4] == locked.status_code == 429
        assert "Too many failed attempts" in locked.text and "15 minutes" in locked.text
        assert locked["Retry-After"] == "900"
        assert SESSION_KEY not in client.session

    def test_the_lock_is_per_username_and_address(self, client):
        admin, other = admin_with_password(), admin_with_password()
        for _ in range(5):
            sign_in(client, admin.username, "wrong")
        assert sign_in(client, other.username).status_code == 302
        client.logout()
        from_elsewhere = client.post(
            "/login/", {"username": admin.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
        )
        assert from_elsewhere.status_code == 302

    def test_unknown_usernames_are_locked_out_too(self, client):
        for _ in range(5):
            sign_in(client, "nobody", "wrong")
        assert sign_in(client, "nobody", "wrong").status_code == 429

    def test_the_lock_lifts_after_the_cool_off(self, client, settings):
        admin = admin_with_password()
        for _ in range(5):
            sign_in(client, admin.username, "wrong")
        assert sign_in(client, admin.username).status_code == 429
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
        assert sign_in(client, admin.username).status_code == 302

    def test_a_success_resets_the_count(self, client):
        admin = admin_with_password()
        for _ in range(4):
            sign_in(client, admin.username, "wrong")
        assert sign_in(client, admin.username).status_code == 302
        client.logout()
        for _ in range(4):
            assert sign_in(client, admin.username, "wrong").status_code == 422

    def test_a_forged_x_forwarded_for_does_not_escape_the_lock_without_trusted_proxies(self, client, settings):
        settings.TRUSTED_PROXIES = 0
        admin = admin_with_password()
        for n in range(5):
            sign_in_from(client, {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n}"}, admin.username, "wrong")
        assert sign_in_from(client, {"HTTP_X_FORWARDED_FOR": "198.51.100.99"}, admin.username).status_code == 429

    def test_behind_a_trusted_proxy_the_lock_is_per_visitor(self, client, settings):
        """Every visitor arrives from the router's address: locking that would lock everyone out."""
        settings.TRUSTED_PROXIES = 1
        admin = admin_with_password()
        visitor_a = {"REMOTE_ADDR": ROUTER, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
        for _ in range(5):
            sign_in_from(client, visitor_a, admin.username, "wrong")
        assert sign_in_from(client, visitor_a, admin.username).status_code == 429
        # Visitor A cannot get round it by sending an address of their own either.
        forged = {"REMOTE_ADDR": ROUTER, "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5"}
        assert sign_in_from(client, forged, admin.username).status_code == 429
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}

        visitor_b = {"REMOTE_ADDR": ROUTER, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
        assert sign_in_from(client, visitor_b, admin.username).status_code == 302
