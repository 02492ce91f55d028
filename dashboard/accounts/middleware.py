"""Session lifetime, the second-factor step, and the client address of audit entries."""

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from dashboard.accounts import two_factor
from dashboard.accounts.addresses import client_ip
from dashboard.accounts.audit import client_address
from dashboard.accounts.services import LAST_SEEN, SIGNED_IN_AT

# How stale the session's "last seen" may get before it is written again: the idle
# timeout is checked on every request but costs a database write once a minute.
LAST_SEEN_RESOLUTION = 60


class SessionLifetimeMiddleware:
    """Ends a session that has been idle too long, outlived its absolute lifetime,
    or belongs to a user who can no longer sign in (deactivated): the session row
    is deleted and the browser is sent to the sign-in page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            if not request.user.is_authenticated:
                # The user was deactivated (or deleted) since the session began.
                return self.end(request, "Your session has ended. Please sign in again.")
            # A session from before these keys existed starts its clocks now.
            signed_in_at = session.setdefault(SIGNED_IN_AT, now)
            last_seen = session.setdefault(LAST_SEEN, now)
            if (
                now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS
                or now - last_seen > settings.SESSION_IDLE_SECONDS
            ):
                return self.end(request, "Your session has expired. Please sign in again.")
            if now - last_seen >= LAST_SEEN_RESOLUTION:
                session[LAST_SEEN] = now
        return self.get_response(request)

    def end(self, request: HttpRequest, message: str) -> HttpResponse:
        logout(request)
        messages.info(request, message)
        if request.htmx:
            # Back to the page the fragment belongs to, after signing in again.
            page = urlsplit(request.htmx.current_url or "/")
            return HttpResponseClientRedirect(
                redirect_to_login(page.path + (f"?{page.query}" if page.query else "")).url
            )
        return redirect_to_login(request.get_full_path())


class SecondFactorMiddleware:
    """Holds a signed-in user at the second-factor step until it is done: the code
    step for anyone enrolled, enrolment for an admin while it is required. Every
    other page redirects there, except signing out; the shell is not drawn meanwhile
    (`request.second_factor_step`, read by dashboard.menu.shell)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        step = request.second_factor_step = two_factor.pending_step(request)
        if step is None or request.path_info in (reverse(step), reverse("logout")):
            return self.get_response(request)
        if request.htmx:
            # The page the fragment belongs to is where to go back to.
            page = urlsplit(request.htmx.current_url or "/")
            then = page.path + (f"?{page.query}" if page.query else "")
            return HttpResponseClientRedirect(f"{reverse(step)}?{urlencode({'next': then})}")
        if request.method == "GET":
            return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        return redirect(step)


class AuditAddressMiddleware:
    """Every audit entry written while a request is served carries its client address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with client_address(client_ip(request)):
            return self.get_response(request)
