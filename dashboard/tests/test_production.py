"""Production readiness (issue 8): the deploy checklist, health, and what logs may hold."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from dashboard.accounts import sms
from dashboard.logs import JsonFormatter
from dashboard.settings import LOGGING
from orders.tests.factories import make_customer

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7Qm2vR9xZ4pL8wT1nB6yH3jF5sD0aGcE7uI2oP9qW4eR6tY8uI1oP3aS5dF7gH",
    "DJANGO_ALLOWED_HOSTS": "orders.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://orders.example.com",
    "DATABASE_URL": "postgres://user:pass@db.example.com:5432/orders?sslmode=require",
    "PUBLIC_URL": "https://orders.example.com",
}


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE", "SMS_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**environment, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_deploy_checklist_is_clean_with_the_production_variables():
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("backend", ["console", "locmem", "dashboard.accounts.sms.ConsoleSmsBackend"])
def test_the_deploy_checklist_refuses_an_sms_backend_that_prints_or_keeps_codes(backend):
    """Sign-in codes and set-password links would end up in the logs (or nowhere)."""
    result = deploy_check(SMS_BACKEND=backend)
    assert result.returncode != 0
    assert "dashboard.E001" in result.stderr and f"SMS_BACKEND={backend!r}" in result.stderr


def test_the_deploy_checklist_takes_a_real_sms_gateway():
    result = deploy_check(SMS_BACKEND="http", SMS_HTTP_URL="https://sms.example/send")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_healthz_answers_without_sign_in():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "applied",
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_does_not_answer(monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)
    response = Client().get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_one_json_line_per_request_and_no_secret_in_any_line(settings, caplog):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    customer = make_customer("10")
    customer.user.set_password("a very secret passphrase 42")
    customer.user.save()
    formatter = JsonFormatter()
    with caplog.at_level(logging.DEBUG):
        browser = Client()
        browser.post("/login/", {"username": customer.user.username, "password": "a very secret passphrase 42"})
        session_id = browser.cookies["sessionid"].value
        browser.get("/orders/?q=anything")
        browser.get("/orders/NOSUCHORDER01/?q=anything")  # Django warns about the 404 itself
        browser.post("/logout/")
        browser.post("/login/", {"username": customer.user.username, "password": "wrong guess 1234"})
        browser.post("/login/sms/", {"mobile": customer.mobile})
        code = re.search(r"\b(\d{6})\b", sms.outbox[-1][1]).group(1)
        browser.post("/login/sms/", {"mobile": customer.mobile, "code": code})
    lines = [formatter.format(record) for record in caplog.records]
    requests = [json.loads(line) for line in lines if '"logger": "dashboard.request"' in line]
    assert [(r["method"], r["route"], r["status"]) for r in requests][:4] == [
        ("POST", "/login/", 302),
        ("GET", "/orders/", 200),
        ("GET", "/orders/<str:order_no>/", 404),
        ("POST", "/logout/", 302),
    ]
    assert requests[1]["user_id"] == customer.user_id and requests[1]["duration_ms"] >= 0
    everything = "\n".join(lines)
    for secret in [
        "a very secret passphrase 42",
        "wrong guess 1234",
        code,
        session_id,
        "anything",
        settings.SECRET_KEY,
    ]:
        assert secret not in everything, secret


@pytest.mark.django_db
def test_the_request_line_names_the_client_address_behind_a_trusted_proxy(settings, caplog):
    settings.TRUSTED_PROXIES = 1
    with caplog.at_level(logging.INFO, logger="dashboard.request"):
        Client().get("/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5")
    [line] = [record for record in caplog.records if record.name == "dashboard.request"]
    assert line.client_ip == "203.0.113.5"


def every_line(records) -> str:
    """The records as the JSON and the text formatter of production and development write them."""
    text = logging.Formatter(LOGGING["formatters"]["text"]["format"])
    return "\n".join(f"{JsonFormatter().format(record)}\n{text.format(record)}" for record in records)


@pytest.mark.django_db
def test_the_set_password_token_is_in_no_log_line(caplog):
    customer = make_customer()
    customer.user.set_unusable_password()
    customer.user.save()
    uid, token = urlsafe_base64_encode(force_bytes(customer.user.pk)), default_token_generator.make_token(customer.user)
    link = f"/account/set-password/{uid}/{token}/"
    with caplog.at_level(logging.DEBUG):
        browser = Client()
        form = browser.get(link, follow=True)
        assert "Set your password" in form.text
        done = browser.post(
            form.redirect_chain[-1][0],
            {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"},
        )
        assert done.status_code == 302
        assert "This link no longer works" in browser.get(link).text
        assert browser.get(link + "trailing/").status_code == 404  # a link mangled on its way
    lines = every_line(caplog.records)
    assert token not in lines
    assert '"route": "/account/set-password/<uidb64>/<token>/"' in lines


def test_gunicorn_writes_no_query_string_and_no_token(tmp_path):
    """The production web process's whole output: gunicorn's own lines and the app's."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE", "SMS_"))}
    env = {
        **env,
        **PRODUCTION,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        "DJANGO_PLAIN_STATIC": "true",  # no collectstatic here
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    output = tmp_path / "gunicorn.log"
    with output.open("w") as log:
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "dashboard.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base)
        for path in [
            "/login/?next=/orders/%3Fq%3Dsecret-query",
            "/orders/?q=secret-query",
            "/account/set-password/MQ/secret-token-1a2b3c/",
        ]:
            urllib.request.urlopen(base + path, timeout=10).read()
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
    written = output.read_text()
    assert "secret-query" not in written and "secret-token" not in written, written
    requests = [json.loads(line) for line in written.splitlines() if '"logger": "dashboard.request"' in line]
    assert [r["route"] for r in requests if r["route"] != "/healthz"] == [
        "/login/",
        "/orders/",
        "/login/",
        "/account/set-password/<uidb64>/<token>/",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(base: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")
