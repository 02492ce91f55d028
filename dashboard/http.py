"""Responses shared by the views."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django_htmx.http import HttpResponseClientRedirect


def redirect_after_post(request: HttpRequest, to: str, *args) -> HttpResponse:
    """POST/redirect/GET; for htmx, a client-side redirect, so the next page is loaded
    whole and shows the messages the POST left."""
    url = resolve_url(to, *args)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
