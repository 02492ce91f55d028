"""What "executing an order" means, chosen by the ORDER_EXECUTOR setting (a dotted path,
or "simulated" / "webhook" / "instant").

An executor's `execute(order)` returns when the work is done and raises
`ExecutionFailed` (or anything else) when it is not. It may be called again for the
same order after a failure or a crash, so it must be safe to repeat: the order
number is the idempotency key a real fulfilment service receives.
"""

import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.request
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from orders.models import Order

ALIASES = {
    "simulated": "orders.executors.SimulatedExecutor",
    "webhook": "orders.executors.WebhookExecutor",
    "instant": "orders.executors.InstantExecutor",
}


class Executor(Protocol):
    def execute(self, order: Order) -> None: ...


class ExecutionFailed(Exception):
    pass


class SimulatedExecutor:
    """A stand-in for real fulfilment, for demos and tests: it does nothing but wait
    AGENT_SIMULATED_SECONDS_PER_UNIT per unit (at most AGENT_SIMULATED_MAX_SECONDS) and
    fail with probability AGENT_SIMULATED_FAILURE_RATE. The UI says so."""

    label = "Simulated (no real fulfilment)"
    simulated = True

    def __init__(self) -> None:
        self.seconds_per_unit = settings.AGENT_SIMULATED_SECONDS_PER_UNIT
        self.max_seconds = settings.AGENT_SIMULATED_MAX_SECONDS
        self.failure_rate = settings.AGENT_SIMULATED_FAILURE_RATE

    def execute(self, order: Order) -> None:
        time.sleep(min(order.quantity * self.seconds_per_unit, self.max_seconds))
        if random.random() < self.failure_rate:
            raise ExecutionFailed("simulated failure")


class InstantExecutor(SimulatedExecutor):
    """Completes every order at once: for measuring the agent itself."""

    label = "Instant (simulated, for benchmarks)"

    def execute(self, order: Order) -> None:
        return None


class WebhookExecutor:
    """POSTs the order as JSON to ORDER_WEBHOOK_URL; any 2xx answer means done.

    The body is signed: `X-Signature: sha256=<hex HMAC-SHA256 of the body with
    ORDER_WEBHOOK_SECRET>`; `Idempotency-Key` is the order number, so the receiver can
    recognise a repeat after a retry or a crash.
    """

    label = "Webhook"
    simulated = False

    def __init__(self) -> None:
        if not settings.ORDER_WEBHOOK_URL or not settings.ORDER_WEBHOOK_SECRET:
            raise ImproperlyConfigured("ORDER_EXECUTOR=webhook needs ORDER_WEBHOOK_URL and ORDER_WEBHOOK_SECRET.")
        self.url = settings.ORDER_WEBHOOK_URL
        self.secret = settings.ORDER_WEBHOOK_SECRET.encode()
        self.timeout = settings.ORDER_WEBHOOK_TIMEOUT

    def body(self, order: Order) -> bytes:
        return json.dumps(
            {
                "order_no": order.order_no,
                "product": order.product.name,
                "quantity": order.quantity,
                "target": order.target,
                "memo": order.memo,
                "amount": str(order.amount),
                "attempt": order.attempts,
            },
            separators=(",", ":"),
        ).encode()

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def execute(self, order: Order) -> None:
        body = self.body(order)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": order.order_no,
                "X-Signature": self.signature(body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise ExecutionFailed(f"the webhook answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ExecutionFailed(f"the webhook could not be reached: {getattr(error, 'reason', error)}") from error


def executor_class(path: str | None = None) -> type:
    path = path or settings.ORDER_EXECUTOR
    try:
        return import_string(ALIASES.get(path, path))
    except ImportError as exc:
        raise ImproperlyConfigured(f"ORDER_EXECUTOR={path!r} is not an executor.") from exc


def get_executor(path: str | None = None) -> Executor:
    return executor_class(path)()
