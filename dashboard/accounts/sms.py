"""Where SMS sign-in codes go, chosen by the SMS_BACKEND setting, like Django's email backends.

- "console" (the default with debug on): prints each message to standard output, for development.
- "locmem": keeps messages in `outbox`, for tests.
- "http": `HttpSmsBackend`, the place to connect a real SMS gateway.
- any dotted path to a class with `send(mobile, message)`.
- "" (the default with debug off): none; nothing can be texted.
"""

import json
import sys
import urllib.request

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

ALIASES = {
    "console": "dashboard.accounts.sms.ConsoleSmsBackend",
    "locmem": "dashboard.accounts.sms.LocmemSmsBackend",
    "http": "dashboard.accounts.sms.HttpSmsBackend",
}

# LocmemSmsBackend's messages, as (mobile, message) pairs.
outbox: list[tuple[str, str]] = []


class ConsoleSmsBackend:
    def send(self, mobile: str, message: str) -> None:
        sys.stdout.write(f"SMS to {mobile}: {message}\n")
        sys.stdout.flush()


class LocmemSmsBackend:
    def send(self, mobile: str, message: str) -> None:
        outbox.append((mobile, message))


class HttpSmsBackend:
    """Sends through an HTTP SMS gateway: POST {"to", "message"} as JSON to SMS_HTTP_URL.

    Most providers take a request of this shape with a bearer token (SMS_HTTP_TOKEN).
    For one that does not, subclass this and override `request`, then point
    SMS_BACKEND at the subclass. Any non-2xx answer or a timeout raises; for a
    sign-in code it is logged, and the page answers as if the code was sent (it does
    not tell which numbers have accounts).
    """

    def __init__(self) -> None:
        if not settings.SMS_HTTP_URL:
            raise ImproperlyConfigured("SMS_BACKEND=http needs SMS_HTTP_URL (and usually SMS_HTTP_TOKEN).")
        self.url = settings.SMS_HTTP_URL
        self.token = settings.SMS_HTTP_TOKEN
        self.timeout = settings.SMS_HTTP_TIMEOUT

    def request(self, mobile: str, message: str) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"to": mobile, "message": message}).encode()
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def send(self, mobile: str, message: str) -> None:
        with urllib.request.urlopen(self.request(mobile, message), timeout=self.timeout) as response:
            response.read()


class SmsNotConfigured(OSError):
    """No SMS_BACKEND. An OSError, like a gateway that is down, so that whatever copes
    with a text that could not be sent copes with this too."""


def enabled() -> bool:
    return bool(settings.SMS_BACKEND)


def backend_path() -> str:
    return ALIASES.get(settings.SMS_BACKEND, settings.SMS_BACKEND)


def get_backend():
    if not enabled():
        raise SmsNotConfigured("SMS_BACKEND is not set: no text can be sent.")
    path = backend_path()
    try:
        backend_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_BACKEND={settings.SMS_BACKEND!r} is not a known backend.") from exc
    return backend_class()
