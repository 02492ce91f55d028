"""The sandbox gateway: everything it shows says "Sandbox"; no money moves.

It keeps its own records (`SandboxCharge`), like a real provider, and settles the
way one does, with a signed callback; but it hands the callback to the platform in
the same process instead of POSTing it to our own URL, so a request never waits for
another worker of the same server to be free to answer it.
"""

import json
import secrets
import time

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from orders import services
from orders.gateways.base import Gateway, sign
from orders.models import Payment, PaymentMethod
from orders.sandbox.models import SandboxCharge


class SandboxGateway(Gateway):
    name = "sandbox"
    label = "Sandbox"
    methods = (PaymentMethod.CARD, PaymentMethod.ATM)

    def __init__(self) -> None:
        self.secret = settings.PAYMENT_SANDBOX_SECRET

    def create_payment(self, payment: Payment, *, callback_url: str, return_url: str = "") -> tuple[str, str]:
        token = f"sbx_{secrets.token_hex(12)}"
        account = f"6222 0208 {secrets.randbelow(10**8):08d}" if payment.method == PaymentMethod.ATM else ""
        SandboxCharge.objects.create(
            token=token,
            method=payment.method,
            amount=payment.amount,
            callback_url=callback_url,
            return_url=return_url,
            account=account,
        )
        if payment.method == PaymentMethod.ATM:
            return token, account
        return token, reverse("sandbox_card", args=[token])

    def query_status(self, payment: Payment) -> str:
        charge = SandboxCharge.objects.filter(token=payment.provider_token).first()
        if charge is None or charge.status == SandboxCharge.DECLINED:
            return "failed"
        return "paid" if charge.status == SandboxCharge.PAID else "unpaid"

    @transaction.atomic
    def settle(self, charge: SandboxCharge, *, paid: bool) -> Payment:
        """Records the outcome and delivers its signed callback, which the platform
        verifies exactly as it verifies one that arrives over HTTP."""
        SandboxCharge.objects.filter(pk=charge.pk).update(status=SandboxCharge.PAID if paid else SandboxCharge.DECLINED)
        body = json.dumps(
            {"token": charge.token, "status": "paid" if paid else "declined", "amount": str(charge.amount)}
        ).encode()
        timestamp = str(int(time.time()))
        headers = {"X-Timestamp": timestamp, "X-Signature": sign(self.secret, timestamp, body)}
        return services.payment_callback_receive(gateway=self, body=body, headers=headers)
