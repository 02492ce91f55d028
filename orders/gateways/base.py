"""What the platform needs from a payment gateway, and the signature every callback carries."""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from orders.models import Payment


class CallbackRefused(Exception):
    """A callback that must change nothing: `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Settlement:
    token: str
    paid: bool
    amount: Decimal


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Gateway:
    """One payment provider. `name` is the `<provider>` of the callback URL."""

    name = ""
    label = ""
    secret = ""
    # The payment methods this provider takes (orders.models.PaymentMethod).
    methods: tuple[str, ...] = ()
    # How old a callback's timestamp may be (either way), in seconds.
    freshness = 300

    def create_payment(self, payment: Payment, *, callback_url: str, return_url: str = "") -> tuple[str, str]:
        """(provider token, pay URL or ATM account number) for a new pending charge.
        The provider calls `callback_url` when it settles and sends the customer back
        to `return_url` from its card page.

        Called once the charge is committed, outside any transaction. Whatever it
        raises means the payment did not start: the order is cancelled."""
        raise NotImplementedError

    def query_status(self, payment: Payment) -> str:
        """ "paid", "unpaid" or "failed", as the provider knows it now.

        Also asked of a charge without a token, whose `create_payment` never answered:
        a provider that finds payments by our `payment_no` can say; one that cannot
        answers "failed" (or raises), and the charge is cancelled."""
        raise NotImplementedError

    def verify_callback(self, body: bytes, headers) -> Settlement:
        """The settlement a callback reports, if its signature and timestamp hold.

        Signature: HMAC-SHA256 with the provider's secret over `<timestamp>.<raw body>`,
        hex, in `X-Signature`; the Unix time in `X-Timestamp`; compared in constant time.
        """
        timestamp = headers.get("X-Timestamp", "")
        signature = headers.get("X-Signature", "")
        if not timestamp.isdigit() or not signature:
            raise CallbackRefused("missing signature or timestamp", 401)
        if not hmac.compare_digest(sign(self.secret, timestamp, body), signature):
            raise CallbackRefused("bad signature", 401)
        if abs(time.time() - int(timestamp)) > self.freshness:
            raise CallbackRefused("stale timestamp", 401)
        try:
            data = json.loads(body)
            return Settlement(
                token=str(data["token"]), paid=data["status"] == "paid", amount=Decimal(str(data["amount"]))
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise CallbackRefused("malformed body") from exc
