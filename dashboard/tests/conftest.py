"""Fixtures for testing the primary/replica router inside a suite that has one database."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from dashboard import db_router

REPLICA = "replica1"


@contextmanager
def replicas_configured(*aliases: str) -> Iterator[None]:
    """Exactly `aliases` as read replicas, each a test mirror of the primary.

    Settings are read once per process, so the aliases go into the live DATABASES
    dict, which `django.db.connections` shares: the router and the connection handler
    both see them. Django's test case refuses queries to an alias the test did not
    declare, so these tests observe where a query would go, not run it there.
    """
    databases = settings.DATABASES
    configured = {alias: databases.pop(alias) for alias in list(databases) if alias != DEFAULT_DB_ALIAS}
    primary = databases[DEFAULT_DB_ALIAS]
    for alias in aliases:
        databases[alias] = {**primary, "TEST": {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS}}
    try:
        yield
    finally:
        opened = {connection.alias for connection in connections.all(initialized_only=True)}
        for alias in aliases:
            if alias in opened:
                connections[alias].close()
                del connections[alias]
            del databases[alias]
        databases.update(configured)


@pytest.fixture
def replica() -> Iterator[str]:
    with replicas_configured(REPLICA):
        yield REPLICA


@pytest.fixture
def two_replicas() -> Iterator[tuple[str, str]]:
    with replicas_configured("replica1", "replica2"):
        yield "replica1", "replica2"


@pytest.fixture
def no_replica() -> Iterator[None]:
    with replicas_configured():
        yield


@pytest.fixture
def unpinned(request: pytest.FixtureRequest) -> Iterator[None]:
    """Start as a new request does: nothing written, nothing pinned.

    The router keeps that state in context variables and pytest runs every test in
    the same context, so a write in any earlier test would otherwise pin this one.
    The test's database comes first: restoring its rows is a write too.
    """
    for database in ("primary_db", "db"):
        if database in request.fixturenames:
            request.getfixturevalue(database)
    pinned, wrote = db_router._pinned.set(False), db_router._wrote.set(False)
    yield
    db_router._wrote.reset(wrote)
    db_router._pinned.reset(pinned)


@pytest.fixture
def primary_db(transactional_db, django_db_serialized_rollback) -> None:
    """The test database without the transaction that `db` wraps around each test.

    The router sends every read inside a transaction to the primary, so under `db`
    a replica could never be observed. Writes are committed and flushed afterwards;
    the serialized rollback puts back the rows the data migrations made.
    """
