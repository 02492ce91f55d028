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

    def add(self, outcome: str) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def take(self) -> dict[str, int]:
        with self.lock:
            counts = {"completed": self.completed, "failed": self.failed, "retried": self.retried}
            self.completed = self.failed = self.retried = 0
            return counts


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
        self.retry_base_seconds = settings.AGENT_RETRY_BASE_SECONDS if retry_base_seconds is None else retry_base_seconds
        self.shutdown_seconds = settings.AGENT_SHUTDOWN_SECONDS if shutdown_seconds is None else shutdown_seconds
        self.once = once
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="agent")
        self.in_flight: dict[int, Future] = {}
        self.tally = Tally()
        self.unfinished: list[int] = []

    # --- the loop -------------------------------------------------------------------

    def stop(self, *_) -> None:
        """Stop claiming; `run` then finishes or releases what it holds and returns."""
        self.stopping.set()

    def run(self) -> None:
        self._until_database_answers(lambda: services.agent_start(
            worker_id=self.worker_id, host=socket.gethostname(), pid=os.getpid(),
            executor=type(self.executor).__name__, concurrency=self.concurrency,
        ))
        logger.info("agent %s started: executor %s, %d at a time", self.worker_id, type(self.executor).__name__, self.concurrency)
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
                if self.once and not claimed and not self.in_flight and not self._work_left():
                    break
                if not claimed:
                    self._wait(self.poll_seconds)
            except DATABASE_ERRORS as error:
                logger.warning("agent %s: database unavailable (%s); retrying in %.1f s", self.worker_id, error, backoff)
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
        for order in claimed:
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
        for pk, future in list(self.in_flight.items()):
            if future.done():
                del self.in_flight[pk]

    def _heartbeat(self) -> None:
        if self.in_flight:
            held = services.order_renew_leases(
                worker_id=self.worker_id, order_ids=list(self.in_flight), lease_seconds=self.lease_seconds
            )
            for lost in set(self.in_flight) - held:
                logger.warning("agent %s lost the lease of order %s; its result will not be reported", self.worker_id, lost)
        services.agent_heartbeat(worker_id=self.worker_id, **self.tally.take())

    # --- one order, in a worker thread -----------------------------------------------

    def _execute(self, order: Order) -> None:
        try:
            try:
                self.executor.execute(order)
            except Exception as error:  # the executor's failure is the order's, whatever it is
                self._report_failure(order, str(error) or type(error).__name__)
            else:
                self._report(lambda: services.order_complete(order=order, worker_id=self.worker_id), "completed", order)
        finally:
            connection.close()

    def _report_failure(self, order: Order, error: str) -> None:
        if order.attempts >= self.max_attempts:
            self._report(lambda: services.order_fail(order=order, worker_id=self.worker_id, error=error), "failed", order)
        else:
            delay = self.retry_base_seconds * 2 ** (order.attempts - 1)
            self._report(
                lambda: services.order_retry(order=order, worker_id=self.worker_id, error=error, delay_seconds=delay),
                "retried", order,
            )

    def _report(self, write, outcome: str, order: Order) -> None:
        """Writes the outcome, waiting out a database restart while the lease lasts."""
        deadline = time.monotonic() + self.lease_seconds
        backoff = 0.5
        while True:
            try:
                write()
                self.tally.add(outcome)
                logger.info("agent %s: order %s %s", self.worker_id, order.order_no, outcome)
                return
            except IllegalTransition:
                logger.warning("agent %s: order %s was no longer ours to report", self.worker_id, order.order_no)
                return
            except DATABASE_ERRORS as error:
                connection.close()
                if time.monotonic() + backoff > deadline:
                    logger.error("agent %s: could not report order %s (%s); its lease will return it", self.worker_id, order.order_no, error)
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, 5)

    # --- stopping --------------------------------------------------------------------

    def _shut_down(self) -> None:
        deadline = time.monotonic() + self.shutdown_seconds
        while self.in_flight and time.monotonic() < deadline:
            wait(list(self.in_flight.values()), timeout=min(1.0, max(deadline - time.monotonic(), 0)))
            self._collect()
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
                logger.warning("agent %s: database unavailable (%s); retrying in %.1f s", self.worker_id, error, backoff)
                connections.close_all()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, max(self.poll_seconds, 0.1))
