"""htmx helpers: the request type views take, the answers they give, and Django
messages delivered to htmx requests as toasts."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
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
