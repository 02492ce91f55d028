"""Structured logs: one JSON object per line, and one line per request.

Lines carry what an operator needs and nothing that would let someone in: never a
password, an SMS code, a session id, a token or a query string (which can carry any
of them) — the request line has the path only.
"""

import json
import logging
import time

from django.http import HttpRequest, HttpResponse

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
        line.update({key: value for key, value in record.__dict__.items() if key not in STANDARD_ATTRIBUTES and not key.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, user id, client address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Not at the top: logging is configured before the app registry is ready, and
        # dashboard.accounts imports models, which need it.
        from dashboard.accounts import client_ip

        start = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        request_logger.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "client_ip": client_ip(request),
                "htmx": bool(request.headers.get("HX-Request")),
            },
        )
        return response
