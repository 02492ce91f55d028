"""Absolute URLs for whoever is not looking at our pages: a payment provider, a
phone. They are built on settings.PUBLIC_URL, never on the request's Host header,
which a client chooses (and whose port Django's host check ignores)."""

from django.conf import settings
from django.urls import reverse


def public_url(viewname: str, *args) -> str:
    return settings.PUBLIC_URL + reverse(viewname, args=args)
