"""The primary/replica router and read-your-writes (dashboard/db_router.py; docs/architecture.md)."""

import time
from collections.abc import Callable

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from dashboard.db_router import PIN_COOKIE, PIN_SALT, ReadYourWritesMiddleware, is_pinned, pin_to_primary
from orders.models import Level

pytestmark = pytest.mark.usefixtures("unpinned")

PRIMARY = DEFAULT_DB_ALIAS


def write_a_level() -> None:
    Level.objects.create(name="Written", percent=90)


def pin_to_primary_by_writing() -> None:
    """What the ORM does before every write; used where the row itself does not matter."""
    router.db_for_write(Level)


def read_database() -> str:
    """Where a plain read would run, as the ORM asks the router."""
    return Level.objects.all().db


def saved_level(loaded_from: str) -> Level:
    """A level as if a query on `loaded_from` had returned it: routing needs no row."""
    level = Level(pk=1, name="Gold", percent=90)
    level._state.adding = False
    level._state.db = loaded_from
    return level


class TestRouter:
    def test_reads_go_to_the_replica_when_nothing_was_written(self, replica):
        assert router.db_for_read(Level) == replica
        assert read_database() == replica
        assert not is_pinned()

    def test_reads_spread_over_replicas_and_never_hit_the_primary(self, two_replicas):
        assert {read_database() for _ in range(200)} == set(two_replicas)

    def test_writes_and_locking_reads_go_to_the_primary(self, replica):
        assert router.db_for_write(Level) == PRIMARY
        assert Level.objects.select_for_update().db == PRIMARY

    def test_reads_after_a_write_go_to_the_primary(self, primary_db, replica):
        assert read_database() == replica
        write_a_level()
        assert not connections[PRIMARY].in_atomic_block
        assert read_database() == PRIMARY
        assert is_pinned()

    def test_reads_inside_a_transaction_on_the_primary_go_to_the_primary(self, primary_db, replica):
        assert read_database() == replica
        with transaction.atomic():
            assert read_database() == PRIMARY
        assert read_database() == replica, "a transaction that wrote nothing must not pin"

    def test_pin_to_primary_sends_later_reads_to_the_primary(self, replica):
        pin_to_primary()
        assert is_pinned()
        assert read_database() == PRIMARY

    def test_without_replicas_everything_goes_to_the_primary(self, no_replica):
        assert read_database() == PRIMARY
        assert router.db_for_write(Level) == PRIMARY

    def test_only_the_primary_is_migrated(self, replica):
        assert router.allow_migrate(PRIMARY, "orders", model_name="level")
        assert not router.allow_migrate(replica, "orders", model_name="level")
        assert router.allow_migrate_model(PRIMARY, Level)
        assert not router.allow_migrate_model(replica, Level)

    def test_an_instance_reads_its_relations_from_the_database_it_came_from(self, two_replicas):
        for loaded_from in (PRIMARY, *two_replicas):
            level = saved_level(loaded_from)
            assert router.db_for_read(Level, instance=level) == loaded_from
            assert level.customers.all().db == loaded_from

    def test_after_a_write_an_instance_from_the_replica_reads_from_the_primary(self, replica):
        level = saved_level(replica)
        router.db_for_write(Level)
        assert level.customers.all().db == PRIMARY

    def test_inside_a_transaction_an_instance_from_the_replica_reads_from_the_primary(self, primary_db, replica):
        level = saved_level(replica)
        with transaction.atomic():
            assert level.customers.all().db == PRIMARY


class TestReadYourWritesMiddleware:
    @pytest.fixture
    def visitor(self) -> RequestFactory:
        """Keeps cookies between requests like a visitor: set `visitor.cookies`."""
        return RequestFactory()

    @staticmethod
    def serve(view: Callable[[], None], request: HttpRequest) -> tuple[HttpResponse, list[str]]:
        """Runs `view` behind the middleware; returns the response and where it read."""
        reads: list[str] = []

        def view_function(request: HttpRequest) -> HttpResponse:
            view()
            reads.append(read_database())
            return HttpResponse()

        return ReadYourWritesMiddleware(view_function)(request), reads

    def test_a_request_that_writes_pins_the_browser_to_the_primary(self, primary_db, replica, visitor, settings):
        settings.REPLICA_PIN_SECONDS = 7
        before = int(time.time())
        response, reads = self.serve(write_a_level, visitor.post("/customers/1/balance/"))

        assert reads == [PRIMARY]
        cookie = response.cookies[PIN_COOKIE]
        assert cookie["max-age"] == 7
        until = visitor.get("/", headers={"cookie": f"{PIN_COOKIE}={cookie.value}"}).get_signed_cookie(
            PIN_COOKIE, salt=PIN_SALT
        )
        assert before + 7 <= int(until) <= int(time.time()) + 7
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"

        visitor.cookies[PIN_COOKIE] = cookie.value
        response, reads = self.serve(lambda: None, visitor.get("/customers/1/"))
        assert reads == [PRIMARY]
        assert PIN_COOKIE not in response.cookies, "reading must not extend the pin"

    def test_a_write_does_not_pin_the_next_request_without_the_cookie(self, primary_db, replica, visitor):
        self.serve(write_a_level, visitor.post("/levels/new/"))
        assert not is_pinned()

        response, reads = self.serve(lambda: None, visitor.get("/levels/"))
        assert reads == [replica]
        assert PIN_COOKIE not in response.cookies

    def test_a_request_that_only_reads_reads_from_the_replica_and_sets_no_cookie(self, replica, visitor):
        response, reads = self.serve(lambda: None, visitor.get("/orders/"))
        assert reads == [replica]
        assert PIN_COOKIE not in response.cookies

    def test_the_pin_cookie_is_secure_over_https(self, replica, visitor):
        response, _ = self.serve(pin_to_primary_by_writing, visitor.post("/orders/new/", secure=True))
        assert response.cookies[PIN_COOKIE]["secure"] is True

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(str(int(time.time()) - 1), id="expired"),
            pytest.param("0", id="zero"),
            pytest.param("", id="empty"),
            pytest.param("tomorrow", id="words"),
            pytest.param("1e12", id="float-notation"),
            pytest.param("9" * 5000, id="too-many-digits"),
            # Any client can set a cookie: an unsigned future time must not pin it.
            pytest.param(str(int(time.time()) + 3600), id="forged-future"),
        ],
    )
    def test_an_expired_or_garbage_cookie_does_not_pin(self, replica, visitor, value):
        visitor.cookies[PIN_COOKIE] = value
        response, reads = self.serve(lambda: None, visitor.get("/orders/"))
        assert response.status_code == 200
        assert reads == [replica]
        assert PIN_COOKIE not in response.cookies

    def test_without_replicas_it_passes_the_response_through(self, db, no_replica, visitor):
        def view(request: HttpRequest) -> HttpResponse:
            Level.objects.create(name="Written", percent=90)
            return view_response

        view_response = HttpResponse("unchanged")
        response = ReadYourWritesMiddleware(view)(visitor.post("/levels/new/"))
        assert response is view_response
        assert PIN_COOKIE not in response.cookies
