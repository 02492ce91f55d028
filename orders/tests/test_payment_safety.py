"""Issue 14, points 1 and 2: no balance from nothing through the sandbox, and no
absolute URL taken from the Host header.

In-process tests run with the test settings (debug on, so the sandbox is
installed); what a production process gets is checked in a process of its own.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from dashboard.accounts import sms
from orders.models import Order, Payment
from orders.tests.factories import key, make_admin, make_customer, make_product

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k7Qm2vR9xZ4pL8wT1nB6yH3jF5sD0aGcE7uI2oP9qW4eR6tY8uI1oP3aS5dF7gH"
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "orders.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://orders.example.com",
    "PUBLIC_URL": "https://orders.example.com",
}
PRINT_PAYMENTS = """
import json, django
from django.apps import apps
from django.conf import settings
django.setup()
from orders import gateways
print(json.dumps({
    "gateway": settings.PAYMENT_GATEWAY,
    "sandbox_installed": apps.is_installed("orders.sandbox"),
    "methods": [str(m) for m in gateways.active_methods()],
}))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE", "PAYMENT_", "PUBLIC_URL", "SMS_"))
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def production_payments(**env: str) -> dict:
    import json

    result = run(["-c", PRINT_PAYMENTS], **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class TestProductionDefaults:
    def test_with_debug_off_no_gateway_is_active_and_the_sandbox_is_not_installed(self):
        assert production_payments() == {"gateway": "", "sandbox_installed": False, "methods": ["balance"]}

    def test_with_debug_on_the_sandbox_is_there_for_newcomers(self):
        loaded = production_payments(DJANGO_DEBUG="true")
        assert loaded == {"gateway": "sandbox", "sandbox_installed": True, "methods": ["balance", "card", "atm"]}

    def test_the_sandbox_runs_with_debug_off_only_when_asked_for_and_the_deploy_check_fails(self):
        assert production_payments(PAYMENT_GATEWAY="sandbox")["sandbox_installed"] is True
        deploy = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        env = {**PRODUCTION, "SMS_BACKEND": "http", "SMS_HTTP_URL": "https://sms.example.com/send"}
        result = run(deploy, **env, PAYMENT_GATEWAY="sandbox")
        assert result.returncode != 0
        assert "orders.sandbox.W001" in result.stdout + result.stderr

    def test_debug_off_without_public_url_refuses_to_start(self):
        result = run(["-c", PRINT_PAYMENTS], **{**PRODUCTION, "PUBLIC_URL": ""})
        assert result.returncode != 0 and "PUBLIC_URL" in result.stderr

    @pytest.mark.parametrize("value", ["orders.example.com", "ftp://orders.example.com", "https://"])
    def test_a_public_url_that_is_not_an_http_base_is_refused(self, value):
        result = run(["-c", PRINT_PAYMENTS], **{**PRODUCTION, "PUBLIC_URL": value})
        assert result.returncode != 0 and "PUBLIC_URL" in result.stderr


def order_post(client: Client, product, method: str, **extra):
    data = {"product": product.pk, "quantity": 1, "target": "t", "idempotency_key": key(), "method": method}
    return client.post("/orders/new/", data, **extra)


@pytest.mark.django_db
class TestMethodsFollowTheGateway:
    @pytest.fixture
    def customer_client(self):
        customer = make_customer("0")
        client = Client()
        client.force_login(customer.user)
        return customer, client

    @pytest.mark.parametrize("method", ["card", "atm"])
    def test_without_a_gateway_a_posted_gateway_method_is_refused_and_nothing_written(
        self, settings, customer_client, method
    ):
        settings.PAYMENT_GATEWAY = ""
        customer, client = customer_client
        response = order_post(client, make_product(tiers=((1, "1000.00"),)), method)
        assert response.status_code == 422
        assert not Order.objects.exists() and not Payment.objects.exists()

    def test_without_a_gateway_only_the_balance_is_offered(self, settings, customer_client):
        settings.PAYMENT_GATEWAY = ""
        _, client = customer_client
        make_product()
        page = client.get("/orders/new/").text
        assert 'value="card"' not in page and 'value="atm"' not in page and "by card" not in page

    def test_with_the_sandbox_card_and_atm_are_offered(self, customer_client):
        _, client = customer_client
        make_product()
        page = client.get("/orders/new/").text
        assert 'value="card"' in page and 'value="atm"' in page and "by card or by ATM transfer" in page


@pytest.mark.django_db
class TestPublicUrl:
    """Django's host check ignores the port: `Host: localhost:<any>` passes it."""

    def test_gateway_callback_and_return_urls_ignore_the_host_header(self, settings):
        settings.PUBLIC_URL = "https://orders.example.com"
        customer = make_customer("0")
        client = Client()
        client.force_login(customer.user)
        order_post(client, make_product(), "card", HTTP_HOST="localhost:6666")
        from orders.sandbox.models import SandboxCharge

        charge = SandboxCharge.objects.get()
        order = Order.objects.get()
        assert charge.callback_url == "https://orders.example.com/payments/callback/sandbox/"
        assert charge.return_url == f"https://orders.example.com/orders/{order.order_no}/"

    def test_the_set_password_link_sent_by_sms_ignores_the_host_header(self, settings):
        settings.PUBLIC_URL = "https://orders.example.com"
        settings.SMS_BACKEND = "locmem"
        sms.outbox.clear()
        make_customer("0")  # a level to choose
        from orders.models import Level

        admin = Client()
        admin.force_login(make_admin())
        response = admin.post(
            "/customers/new/",
            {
                "username": "newbie",
                "name": "New Bie",
                "mobile": "+8613700000001",
                "level": Level.objects.first().pk,
                "password_choice": "link",
            },
            HTTP_HOST="localhost:6666",
        )
        assert response.status_code == 302
        ((mobile, message),) = sms.outbox
        assert "https://orders.example.com/account/set-password/" in message and "localhost" not in message
