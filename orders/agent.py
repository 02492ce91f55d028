"""The agent: claims pending orders, executes them, and reports the outcome through
the services (`manage.py run_agent`).

Any number of agents, on any number of machines, share the queue: a claim is a
conditional update (with `SKIP LOCKED` on PostgreSQL) that gives each order to one
agent, with a lease the agent renews while it works. An agent that dies stops
renewing; any agent's sweep then returns the order to the queue (or fails and
refunds it once its attempts are used up). Results are reported only by the agent
that still holds the claim, so no order is completed twice.
"""

import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections

from orders import services
from orders.errors import IllegalTransition
from orders.executors import get_executor
from orders.models import Order, OrderStatus

logger = logging.getLogger("orders.agent")

DATABASE_ERRORS = (OperationalError, InterfaceError)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass
class Tally:
    """Outcomes since the last heartbeat."""

    completed: int = 0
    failed: int = 0
    retried: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, count: int = 1) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + count)

    def take(self) -> dict[str, int]:
        with self.lock:
            counts = {"completed": self.completed, "failed": self.failed, "retried": self.retried}
            self.completed = self.failed = self.retried = 0
            return counts


class Outcome(NamedTuple):
    """What a worker thread found; the loop reports it while the lease lasts."""

    order: Order
    error: str | None  # None: done


class Agent:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        executor=None,
        concurrency: int | None = None,
        poll_seconds: float | None = None,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
        max_attempts: int | None = None,
        retry_base_seconds: float | None = None,
        shutdown_seconds: float | None = None,
        once: bool = False,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.executor = executor or get_executor()
        self.concurrency = concurrency or settings.AGENT_CONCURRENCY
        self.poll_seconds = settings.AGENT_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.batch_size = batch_size or settings.AGENT_BATCH_SIZE
        self.lease_seconds = lease_seconds or settings.AGENT_LEASE_SECONDS
        self.max_attempts = max_attempts or settings.AGENT_MAX_ATTEMPTS
        self.retry_base_seconds = (
            settings.AGENT_RETRY_BASE_SECONDS if retry_base_seconds is None else retry_base_seconds
        )
        self.shutdown_seconds = settings.AGENT_SHUTDOWN_SECONDS if shutdown_seconds is None else shutdown_seconds
        self.once = once
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="agent")
        self.in_flight: dict[int, Future] = {}
        self.outcomes: list[Outcome] = []
        # Until when (time.monotonic()) this agent holds each claimed order: set at the
        # claim, moved on at each renewal; past it, the order may be someone else's.
        self.leases: dict[int, float] = {}
        self.tally = Tally()
        self.unfinished: list[int] = []

    # --- the loop -------------------------------------------------------------------

    def stop(self, *_) -> None:
        """Stop claiming; `run` then finishes or releases what it holds and returns."""
        self.stopping.set()

    def run(self) -> None:
        self._until_database_answers(
            lambda: services.agent_start(
                worker_id=self.worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                executor=type(self.executor).__name__,
                concurrency=self.concurrency,
            )
        )
        logger.info(
            "agent %s started: executor %s, %d at a time",
            self.worker_id,
            type(self.executor).__name__,
            self.concurrency,
        )
        beat_every = self.lease_seconds / 3
        last_beat = time.monotonic()
        # Reconnection attempts back off, but never wait longer than one poll: work
        # resumes within a poll of the database coming back.
        first_backoff, max_backoff = max(self.poll_seconds / 4, 0.05), max(self.poll_seconds, 0.1)
        backoff = first_backoff
        while not self.stopping.is_set():
            try:
                close_old_connections()
                self._collect()
                if time.monotonic() - last_beat >= beat_every:
                    self._heartbeat()
                    services.order_expire_leases(max_attempts=self.max_attempts)
                    services.payment_expire_unpaid(older_than_minutes=settings.PAYMENT_TIMEOUT_MINUTES)
                    last_beat = time.monotonic()
                claimed = self._claim()
                backoff = first_backoff
                if self.once and not claimed and not self.in_flight and not self.outcomes and not self._work_left():
                    break
                if not claimed:
                    self._wait(self.poll_seconds)
            except DATABASE_ERRORS as error:
                logger.warning(
                    "agent %s: database unavailable (%s); retrying in %.1f s", self.worker_id, error, backoff
                )
                connections.close_all()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
        self._shut_down()

    def _claim(self) -> list[Order]:
        free = self.concurrency - len(self.in_flight)
        if free <= 0:
            return []
        claimed = services.order_claim(
            worker_id=self.worker_id, lease_seconds=self.lease_seconds, limit=min(self.batch_size, free)
        )
        held_until = time.monotonic() + self.lease_seconds
        for order in claimed:
            self.leases[order.pk] = held_until
            self.in_flight[order.pk] = self.pool.submit(self._execute, order)
        return claimed

    def _work_left(self) -> bool:
        return Order.objects.filter(status__in=[OrderStatus.PENDING, OrderStatus.RUNNING]).exists()

    def _wait(self, seconds: float) -> None:
        """Until an order finishes, a stop is asked for, or `seconds` pass."""
        if self.in_flight:
            wait(list(self.in_flight.values()), timeout=seconds, return_when=FIRST_COMPLETED)
        else:
            self.stopping.wait(seconds)

    def _collect(self) -> None:
        """Takes the outcomes of finished orders and reports them."""
        for pk, future in list(self.in_flight.items()):
            if future.done():
                del self.in_flight[pk]
                self.outcomes.append(future.result())
        self._report()

    def _heartbeat(self) -> None:
        if self.leases:
            renewed_until = time.monotonic() + self.lease_seconds
            held = services.order_renew_leases(
                worker_id=self.worker_id, order_ids=list(self.leases), lease_seconds=self.lease_seconds
            )
            for pk in list(self.leases):
                if pk in held:
                    self.leases[pk] = renewed_until
                else:
                    logger.warning(
                        "agent %s lost the lease of order %s; its result will not be reported", self.worker_id, pk
                    )
                    del self.leases[pk]
            self.outcomes = [o for o in self.outcomes if o.order.pk in self.leases]
        services.agent_heartbeat(worker_id=self.worker_id, **self.tally.take())

    # --- one order, in a worker thread -----------------------------------------------

    def _execute(self, order: Order) -> Outcome:
        """Runs the executor; the loop reports the outcome (workers write nothing)."""
        try:
            self.executor.execute(order)
        except Exception as error:  # the executor's failure is the order's, whatever it is
            return Outcome(order, str(error) or type(error).__name__)
        finally:
            connection.close()  # in case the executor used the database from this thread
        return Outcome(order, None)

    # --- reporting, in the loop ------------------------------------------------------

    def _report(self) -> None:
        """Completes the finished orders in one transaction; fails or retries the others.

        A database error leaves the unreported outcomes for the next turn of the loop,
        which waits the outage out; an outcome whose lease has run out meanwhile is
        dropped, as the lease sweep has returned (or will return) its order.
        """
        now = time.monotonic()
        for outcome in self.outcomes:
            if outcome.order.pk in self.leases and self.leases[outcome.order.pk] <= now:
                logger.error(
                    "agent %s: could not report order %s while it held it; its lease will return it",
                    self.worker_id,
                    outcome.order.order_no,
                )
                del self.leases[outcome.order.pk]
        # Without a lease (lost at a renewal, or run out above) the result is not ours to report.
        self.outcomes = [o for o in self.outcomes if o.order.pk in self.leases]
        done = [o.order for o in self.outcomes if o.error is None]
        if done:
            completed = services.order_complete_many(orders=done, worker_id=self.worker_id)
            self.outcomes = [o for o in self.outcomes if o.error is not None]
            self.tally.add("completed", len(completed))
            for order in done:
                self.leases.pop(order.pk, None)
                if order.pk in completed:
                    logger.info("agent %s: order %s completed", self.worker_id, order.order_no)
                else:
                    logger.warning("agent %s: order %s was no longer ours to report", self.worker_id, order.order_no)
        while self.outcomes:
            order, error = self.outcomes[0]
            self._report_failure(order, error)
            self.outcomes.pop(0)
            self.leases.pop(order.pk, None)

    def _report_failure(self, order: Order, error: str) -> None:
        try:
            if order.attempts >= self.max_attempts:
                services.order_fail(order=order, worker_id=self.worker_id, error=error)
                outcome = "failed"
            else:
                delay = self.retry_base_seconds * 2 ** (order.attempts - 1)
                services.order_retry(order=order, worker_id=self.worker_id, error=error, delay_seconds=delay)
                outcome = "retried"
        except IllegalTransition:
            logger.warning("agent %s: order %s was no longer ours to report", self.worker_id, order.order_no)
            return
        self.tally.add(outcome)
        logger.info("agent %s: order %s %s", self.worker_id, order.order_no, outcome)

    # --- stopping --------------------------------------------------------------------

    def _shut_down(self) -> None:
        deadline = time.monotonic() + self.shutdown_seconds
        while (self.in_flight or self.outcomes) and time.monotonic() < deadline:
            if self.in_flight:
                wait(list(self.in_flight.values()), timeout=min(1.0, max(deadline - time.monotonic(), 0)))
            try:
                self._collect()
            except DATABASE_ERRORS:
                connections.close_all()
                self.stopping.wait(0.5)
        unfinished = list(self.in_flight)
        for pk in unfinished:
            try:
                order = Order.objects.get(pk=pk)
                services.order_release(order=order, worker_id=self.worker_id, error="the agent is stopping")
            except (IllegalTransition, Order.DoesNotExist):
                pass
            except DATABASE_ERRORS:
                logger.error("agent %s: could not release order %s; its lease will return it", self.worker_id, pk)
        self.pool.shutdown(wait=False, cancel_futures=True)
        try:
            services.agent_heartbeat(worker_id=self.worker_id, **self.tally.take())
            services.agent_stop(worker_id=self.worker_id)
        except DATABASE_ERRORS:
            pass
        logger.info("agent %s stopped (%d orders released)", self.worker_id, len(unfinished))
        self.unfinished = unfinished

    def _until_database_answers(self, call) -> None:
        backoff = max(self.poll_seconds / 4, 0.05)
        while not self.stopping.is_set():
            try:
                close_old_connections()
                call()
                return
            except DATABASE_ERRORS as error:
                logger.warning(
                    "agent %s: database unavailable (%s); retrying in %.1f s", self.worker_id, error, backoff
                )
                connections.close_all()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, max(self.poll_seconds, 0.1))
