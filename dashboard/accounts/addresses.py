"""The visitor's address, as lockouts, SMS limits and the request log see it."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip_address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address, the one that lockouts, SMS limits and the request log use.

    Each of the TRUSTED_PROXIES proxies in front appends the address it was reached
    from to X-Forwarded-For, so the N-th entry from the right was written by the
    outermost one and is the visitor; entries further left come from the visitor and
    may be anything. With no trusted proxy the header is ignored, since anyone can
    send it. With fewer entries than trusted proxies the request did not come through
    all of them, so no entry can be trusted, and an entry that is not an address is
    not one either: both fall back to REMOTE_ADDR, the peer that connected.
    """
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= proxies and (visitor := _ip_address(forwarded[-proxies])):
            return visitor
    return _ip_address(request.META.get("REMOTE_ADDR", ""))
