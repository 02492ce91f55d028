"""The sandbox gateway: a payment provider that runs inside the app, for demos and
tests. Everything it shows says "Sandbox"; no money moves.

It keeps its own records (`SandboxCharge`), like a real provider, and settles the
way one does: by POSTing a signed callback over HTTP to our callback URL.
"""

import json
import logging
import secrets
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from orders.gateways.base import Gateway, sign
from orders.models import Payment, PaymentMethod, SandboxCharge

logger = logging.getLogger(__name__)


class SandboxGateway(Gateway):
    name = "sandbox"
    label = "Sandbox"

    def __init__(self) -> None:
        self.secret = settings.PAYMENT_SANDBOX_SECRET

    def create_payment(self, payment: Payment, *, callback_url: str, return_url: str = "") -> tuple[str, str]:
        token = f"sbx_{secrets.token_hex(12)}"
        account = f"6222 0208 {secrets.randbelow(10**8):08d}" if payment.method == PaymentMethod.ATM else ""
        SandboxCharge.objects.create(
            token=token, method=payment.method, amount=payment.amount, callback_url=callback_url,
            return_url=return_url, account=account,
        )
        if payment.method == PaymentMethod.ATM:
            return token, account
        return token, reverse("sandbox_card", args=[token])

    def query_status(self, payment: Payment) -> str:
        charge = SandboxCharge.objects.filter(token=payment.provider_token).first()
        if charge is None or charge.status == SandboxCharge.DECLINED:
            return "failed"
        return "paid" if charge.status == SandboxCharge.PAID else "unpaid"

    def settle(self, charge: SandboxCharge, *, paid: bool) -> int:
        """Records the outcome and sends the callback; returns the HTTP status it got."""
        charge.status = SandboxCharge.PAID if paid else SandboxCharge.DECLINED
        charge.save(update_fields=["status"])
        body = json.dumps({"token": charge.token, "status": "paid" if paid else "declined", "amount": str(charge.amount)}).encode()
        timestamp = str(int(time.time()))
        return self.deliver(charge.callback_url, body, {"X-Timestamp": timestamp, "X-Signature": sign(self.secret, timestamp, body)})

    def deliver(self, url: str, body: bytes, headers: dict) -> int:
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            logger.warning("sandbox callback to %s answered %s", url, error.code)
            return error.code
