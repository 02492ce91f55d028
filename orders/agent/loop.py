"""The loop of one agent. Each turn: collect what the worker threads finished and report
it; every third of a lease renew the leases, beat and sweep; claim up to the free
threads; wait. Worker threads only run the executor: every write is the loop's,
through the services.
"""

import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.db import close_old_connections, connection, connections

from orders import selectors, services
from orders.agent.leases import Leases
from orders.agent.outcomes import Outcome, Tally
from orders.agent.retrying import DATABASE_ERRORS, Backoff, retry_delay
from orders.agent.settings import AgentSettings
from orders.errors import IllegalTransition
from orders.executors import Executor, get_executor
from orders.models import Order

logger = logging.getLogger("orders.agent")


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class AgentLoop:
    """One agent: `run` works until `stop` is called, or with `once` until the queue is empty."""

    def __init__(
        self,
        *,
        settings: AgentSettings | None = None,
        worker_id: str | None = None,
        executor: Executor | None = None,
        once: bool = False,
    ) -> None:
        self.settings = settings or AgentSettings()
        self.worker_id = worker_id or new_worker_id()
        self.executor = executor or get_executor()
        self.once = once
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="agent")
        self.in_flight: dict[Order, Future[Outcome]] = {}
        self.outcomes: list[Outcome] = []
        self.leases = Leases(self.settings.lease_seconds)
        self.backoff = Backoff(self.settings.poll_seconds)
        self.tally = Tally()
        self.unfinished: list[int] = []

    def stop(self, *_: object) -> None:
        """Stop claiming; `run` then finishes or releases what it holds and returns."""
        self.stopping.set()

    def run(self) -> None:
        self._start()
        next_beat = time.monotonic() + self.settings.beat_seconds
        while not self.stopping.is_set():
            try:
                close_old_connections()
                self._collect()
                if time.monotonic() >= next_beat:
                    self._beat_and_sweep()
                    next_beat = time.monotonic() + self.settings.beat_seconds
                claimed = self._claim()
                # Between claims, one batch of a bulk action (orders.services.bulk).
                bulk_done = services.bulk_work()
                self.backoff.reset()
                if not claimed and not bulk_done and self.once and self._drained():
                    break
                if not claimed and not bulk_done:
                    self._wait(self.settings.poll_seconds)
            except DATABASE_ERRORS as error:
                self._wait_out(error)
        self._shut_down()

    def _start(self) -> None:
        while not self.stopping.is_set():
            try:
                close_old_connections()
                services.agent_start(
                    worker_id=self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    executor=type(self.executor).__name__,
                    concurrency=self.settings.concurrency,
                )
                break
            except DATABASE_ERRORS as error:
                self._wait_out(error)
        self.backoff.reset()
        logger.info(
            "agent %s started: executor %s, %d at a time",
            self.worker_id,
            type(self.executor).__name__,
            self.settings.concurrency,
        )

    def _wait_out(self, error: Exception) -> None:
        seconds = self.backoff.next_wait()
        logger.warning("agent %s: database unavailable (%s); retrying in %.1f s", self.worker_id, error, seconds)
        connections.close_all()
        self.stopping.wait(seconds)

    def _claim(self) -> list[Order]:
        free = self.settings.concurrency - len(self.in_flight)
        if free <= 0:
            return []
        asked_at = time.monotonic()
        claimed = services.order_claim(
            worker_id=self.worker_id,
            lease_seconds=self.settings.lease_seconds,
            limit=min(self.settings.batch_size, free),
        )
        self.leases.claim([order.pk for order in claimed], asked_at=asked_at)
        for order in claimed:
            self.in_flight[order] = self.pool.submit(self._execute, order)
        return claimed

    def _drained(self) -> bool:
        return not self.in_flight and not self.outcomes and not selectors.orders_left_to_run()

    def _wait(self, seconds: float) -> None:
        """Until an order finishes, a stop is asked for, or `seconds` pass."""
        if self.in_flight:
            wait(list(self.in_flight.values()), timeout=seconds, return_when=FIRST_COMPLETED)
        else:
            self.stopping.wait(seconds)

    def _collect(self) -> None:
        """Takes the outcomes of finished orders and reports them."""
        for order, future in list(self.in_flight.items()):
            if future.done():
                del self.in_flight[order]
                self.outcomes.append(future.result())
        self._report()

    def _beat_and_sweep(self) -> None:
        """Renews this agent's leases and beats; sweeps the leases dead agents left, and unpaid payments."""
        if self.leases:
            asked_at = time.monotonic()
            held = services.order_renew_leases(
                worker_id=self.worker_id, order_ids=self.leases.order_ids(), lease_seconds=self.settings.lease_seconds
            )
            for order_id in self.leases.renew(held, asked_at=asked_at):
                logger.warning(
                    "agent %s lost the lease of order %s; its result will not be reported", self.worker_id, order_id
                )
            self.outcomes = [o for o in self.outcomes if o.order.pk in self.leases]
        services.agent_heartbeat(worker_id=self.worker_id, **self.tally.take())
        services.order_expire_leases(max_attempts=self.settings.max_attempts)
        services.payment_expire_unpaid(older_than_minutes=self.settings.payment_timeout_minutes)

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
            if self.leases.expired(outcome.order.pk, now=now):
                logger.error(
                    "agent %s: could not report order %s while it held it; its lease will return it",
                    self.worker_id,
                    outcome.order.order_no,
                )
                self.leases.lose(outcome.order.pk)
        # Without a lease (lost at a renewal, or run out above) the result is not ours to report.
        self.outcomes = [o for o in self.outcomes if o.order.pk in self.leases]
        done = [o.order for o in self.outcomes if o.error is None]
        if done:
            completed = services.order_complete_many(orders=done, worker_id=self.worker_id)
            self.outcomes = [o for o in self.outcomes if o.error is not None]
            self.tally.add("completed", len(completed))
            for order in done:
                self.leases.lose(order.pk)
                if order.pk in completed:
                    logger.info("agent %s: order %s completed", self.worker_id, order.order_no)
                else:
                    logger.warning("agent %s: order %s was no longer ours to report", self.worker_id, order.order_no)
        while self.outcomes:
            order, error = self.outcomes[0]
            self._report_failure(order, error)
            self.outcomes.pop(0)
            self.leases.lose(order.pk)

    def _report_failure(self, order: Order, error: str) -> None:
        try:
            if order.attempts >= self.settings.max_attempts:
                services.order_fail(order=order, worker_id=self.worker_id, error=error)
                outcome = "failed"
            else:
                delay = retry_delay(attempts=order.attempts, base_seconds=self.settings.retry_base_seconds)
                services.order_retry(order=order, worker_id=self.worker_id, error=error, delay_seconds=delay)
                outcome = "retried"
        except IllegalTransition:
            logger.warning("agent %s: order %s was no longer ours to report", self.worker_id, order.order_no)
            return
        self.tally.add(outcome)
        logger.info("agent %s: order %s %s", self.worker_id, order.order_no, outcome)

    # --- stopping --------------------------------------------------------------------

    def _shut_down(self) -> None:
        """Lets running orders finish for up to `shutdown_seconds`, then releases the rest."""
        deadline = time.monotonic() + self.settings.shutdown_seconds
        while (self.in_flight or self.outcomes) and time.monotonic() < deadline:
            if self.in_flight:
                wait(list(self.in_flight.values()), timeout=min(1.0, max(deadline - time.monotonic(), 0)))
            try:
                self._collect()
            except DATABASE_ERRORS:
                connections.close_all()
                self.stopping.wait(0.5)
        unfinished = list(self.in_flight)
        for order in unfinished:
            self._release(order)
        self.pool.shutdown(wait=False, cancel_futures=True)
        try:
            services.agent_heartbeat(worker_id=self.worker_id, **self.tally.take())
            services.agent_stop(worker_id=self.worker_id)
        except DATABASE_ERRORS:
            pass
        logger.info("agent %s stopped (%d orders released)", self.worker_id, len(unfinished))
        self.unfinished = [order.pk for order in unfinished]

    def _release(self, order: Order) -> None:
        try:
            services.order_release(order=order, worker_id=self.worker_id, error="the agent is stopping")
        except IllegalTransition:
            pass  # no longer ours: its lease ran out and a sweep took it back
        except DATABASE_ERRORS:
            logger.error("agent %s: could not release order %s; its lease will return it", self.worker_id, order.pk)
