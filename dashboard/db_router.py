"""Primary/replica routing with read-your-writes.

Writes and migrations go to the primary (`default`). Reads go to a replica, except:
- inside a transaction on the primary (a read there is part of a write: it must see
  the transaction's own rows and take its row locks on the primary);
- once the current request or thread has written (the router sees every write), and
  for `REPLICA_PIN_SECONDS` afterwards for the same browser, through a signed cookie
  set by `ReadYourWritesMiddleware`, so a replica's lag never hides a user's own change.
"""

import random
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

PIN_COOKIE = "primary_until"
PIN_SALT = "dashboard.db_router.pin"

_pinned: ContextVar[bool] = ContextVar("read_from_primary", default=False)
_wrote: ContextVar[bool] = ContextVar("wrote_to_primary", default=False)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias != DEFAULT_DB_ALIAS]


def pin_to_primary() -> None:
    """Read from the primary for the rest of this request or thread."""
    _pinned.set(True)


def is_pinned() -> bool:
    return _pinned.get()


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        replicas = replica_aliases()
        if not replicas or is_pinned() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        # Related objects follow the instance they hang off, once it is safe to.
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return instance._state.db
        return random.choice(replicas)

    def db_for_write(self, model, **hints):
        pin_to_primary()
        _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """Pins a browser to the primary for a few seconds after a request that wrote."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_aliases():
            return self.get_response(request)
        pinned = _pinned.set(self._recently_wrote(request))
        wrote = _wrote.set(False)
        try:
            response = self.get_response(request)
            if _wrote.get():
                until = int(time.time()) + settings.REPLICA_PIN_SECONDS
                response.set_signed_cookie(
                    PIN_COOKIE,
                    str(until),
                    salt=PIN_SALT,
                    max_age=settings.REPLICA_PIN_SECONDS,
                    httponly=True,
                    samesite="Lax",
                    secure=request.is_secure(),
                )
            return response
        finally:
            _pinned.reset(pinned)
            _wrote.reset(wrote)

    @staticmethod
    def _recently_wrote(request) -> bool:
        # Signed, so a client cannot pin itself to the primary by setting the cookie.
        value = request.get_signed_cookie(PIN_COOKIE, default="0", salt=PIN_SALT)
        try:
            return int(value) > time.time()
        except ValueError:
            return False
