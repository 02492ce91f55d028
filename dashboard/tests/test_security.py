import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.tests.helpers import PASSWORD, admin_with_password
from orders.tests.factories import make_admin, make_customer

pytestmark = pytest.mark.django_db

# Server-to-server endpoints that authenticate by signature instead.
CSRF_EXEMPT: set[str] = {"/payments/callback/x/"}


def every_path(patterns=None, prefix: str = "") -> list[str]:
    """A concrete path for every URL pattern, with 1 / "x" for its parameters."""
    paths = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            paths += every_path(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            path = re.sub(r"<int:\w+>", "1", route)
            paths.append("/" + re.sub(r"<(?:\w+:)?\w+>", "x", path))
    return paths


@pytest.mark.parametrize("path", [p for p in every_path() if p not in CSRF_EXEMPT])
def test_every_post_needs_the_csrf_token(path):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_admin())
    response = browser.post(path, {"username": "x", "password": "y", "mobile": "+8613900000000"})
    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_the_htmx_header_from_body_is_enough():
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_admin())
    page = browser.get("/users/").text
    token = re.search(r'hx-headers=\'\{"x-csrftoken": "([^"]+)"\}\'', page).group(1)
    target = make_customer()
    response = browser.post(f"/users/{target.user_id}/sign-out/", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 204


def test_the_sign_in_form_works_with_its_token():
    admin = admin_with_password()
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post("/login/", {"username": admin.username, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def html_pages(client) -> list:
    """One response of every kind of HTML page there is, signed out, as customer and as admin."""
    responses = [client.get("/login/"), client.get("/login/sms/"), client.post("/login/", {})]
    for _ in range(5):
        responses.append(client.post("/login/", {"username": "locked", "password": "x"}))
    client.force_login(make_customer("5").user)
    responses += [client.get("/"), client.get("/account/password/"), client.get("/users/"), client.get("/nope/")]
    client.force_login(make_admin())
    responses += [client.get("/"), client.get("/users/"), client.get("/users/", headers={"HX-Request": "true"})]
    return responses


def test_security_headers_on_every_html_response(client):
    responses = html_pages(client)
    assert {r.status_code for r in responses} >= {200, 403, 404, 422, 429}
    for response in responses:
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and re.search(r"script-src 'self'( 'nonce-[^']+')?;", csp)
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_no_inline_script_or_style_and_every_script_carries_the_nonce(client):
    for response in html_pages(client):
        html = response.text
        scripts = re.findall(r"<script\b[^>]*>", html)
        if "<html" in html:
            assert scripts, "a full page loads htmx and app.js"
        for tag in scripts:
            nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
            assert 'src="' in tag and f'nonce="{nonce}"' in tag, tag
        assert not re.search(r"<script\b[^>]*>(?!</script>)", html), "inline script"
        assert " style=" not in html and "<style" not in html
        assert re.search(r"\son[a-z]+=", html) is None, "inline event handler"
