"""htmx helpers: the request type views take, the answers they give, and Django
messages delivered to htmx requests as toasts."""

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """What a view receives: django-htmx's HtmxMiddleware sets `htmx` on every request."""

    htmx: HtmxDetails


def redirect_after_post(request: HtmxHttpRequest, to: str, *args) -> HttpResponse:
    """POST/redirect/GET; for htmx, a client-side redirect, so the next page is loaded
    whole and shows the messages the POST left."""
    url = resolve_url(to, *args)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def row_action_done(
    request: HtmxHttpRequest, *, region: str, redirect_to: str, events: Iterable[str] = ()
) -> HttpResponse:
    """The answer of every row action in a list, once it has left its message (done or
    refused) with Django messages.

    For htmx: no content, and a `<region>-changed` event (and `events`), on which the
    list's region (`ui/list_region.html`) reloads itself with its filters, sort and
    page; the message arrives as a toast (HtmxMessagesMiddleware). Without JavaScript:
    POST/redirect/GET back to the page the form was on, else to `redirect_to`.
    """
    if request.htmx:
        response = HttpResponse(status=204)
        for event in (f"{region}-changed", *events):
            trigger_client_event(response, event)
        return response
    return redirect(_page_posted_from(request) or resolve_url(redirect_to))


def _page_posted_from(request: HttpRequest) -> str | None:
    """The path and query of the page that posted (its Referer), if it is one of ours."""
    referer = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    page = urlsplit(referer)
    return f"{page.path}?{page.query}" if page.query else page.path or None


class HtmxMessagesMiddleware:
    """Delivers Django messages to htmx requests as a `messages` event in HX-Trigger,
    which static/js/app.js shows as toasts. A full page renders them itself; a
    redirect keeps them for the page it leads to."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or request.htmx.boosted:
            return response
        if 300 <= response.status_code < 400 or any(
            header in response for header in ("HX-Redirect", "HX-Location", "HX-Refresh")
        ):
            return response
        pending = [{"message": str(m), "tags": m.tags} for m in messages.get_messages(request)]
        if pending:
            trigger_client_event(response, "messages", pending)
        return response
