"""Production readiness (issue 8): the deploy checklist, health, and what logs may hold."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from dashboard import sms
from dashboard.logs import JsonFormatter
from orders.tests.factories import make_customer

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7Qm2vR9xZ4pL8wT1nB6yH3jF5sD0aGcE7uI2oP9qW4eR6tY8uI1oP3aS5dF7gH",
    "DJANGO_ALLOWED_HOSTS": "orders.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://orders.example.com",
    "DATABASE_URL": "postgres://user:pass@db.example.com:5432/orders?sslmode=require",
}


def test_the_deploy_checklist_is_clean_with_the_production_variables():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**environment, **PRODUCTION}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_healthz_answers_without_sign_in():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok", "migrations": "applied"}
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
        browser.post("/logout/")
        browser.post("/login/", {"username": customer.user.username, "password": "wrong guess 1234"})
        browser.post("/login/sms/", {"mobile": customer.mobile})
        code = re.search(r"\b(\d{6})\b", sms.outbox[-1][1]).group(1)
        browser.post("/login/sms/", {"mobile": customer.mobile, "code": code})
    lines = [formatter.format(record) for record in caplog.records]
    requests = [json.loads(line) for line in lines if '"logger": "dashboard.request"' in line]
    assert [(r["method"], r["path"], r["status"]) for r in requests][:3] == [("POST", "/login/", 302), ("GET", "/orders/", 200), ("POST", "/logout/", 302)]
    assert requests[1]["user_id"] == customer.user_id and requests[1]["duration_ms"] >= 0
    everything = "\n".join(lines)
    for secret in ["a very secret passphrase 42", "wrong guess 1234", code, session_id, "anything", settings.SECRET_KEY]:
        assert secret not in everything, secret


@pytest.mark.django_db
def test_the_request_line_names_the_client_address_behind_a_trusted_proxy(settings, caplog):
    settings.TRUSTED_PROXIES = 1
    with caplog.at_level(logging.INFO, logger="dashboard.request"):
        Client().get("/login/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.5")
    [line] = [record for record in caplog.records if record.name == "dashboard.request"]
    assert line.client_ip == "203.0.113.5"
