"""Structured logs: one JSON object per line, and one line per request.

Lines carry what an operator needs and nothing that would let someone in: never a
password, an SMS code, a session id, a token or a query string (which can carry any
of them). So a request is named by the URL pattern it matched (its route, such as
/account/set-password/<uidb64>/<token>/), never by its path, which may hold a token.
"""

import json
import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.http import escape_leading_slashes

request_logger = logging.getLogger("dashboard.request")

STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            {
                key: value
                for key, value in record.__dict__.items()
                if key not in STANDARD_ATTRIBUTES and not key.startswith("_")
            }
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


# What a request that matched no URL pattern is called: its path could be anything,
# a mangled link with a token in it too.
UNMATCHED = "<unmatched>"


def request_route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None else UNMATCHED


class RouteNotPath(logging.Filter):
    """Django's own lines about a request (a 404, a 500, a CSRF failure) name its path
    and carry the request, which prints as its path with the query string: both
    become the route, as in the request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            route = request_route(request)
            paths = {request.path, escape_leading_slashes(request.path)}
            if isinstance(record.args, tuple):
                record.args = tuple(route if isinstance(arg, str) and arg in paths else arg for arg in record.args)
            record.request = route
        return True


class RequestLogMiddleware:
    """One line per request: method, route, status, duration, user id, client address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Not at the top: logging is configured before the app registry is ready, and
        # dashboard.accounts imports models, which need it.
        from dashboard.accounts.addresses import client_ip

        start = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        route = request_route(request)
        request_logger.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "client_ip": client_ip(request),
                "htmx": bool(request.headers.get("HX-Request")),
            },
        )
        return response
