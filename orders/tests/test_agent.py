"""The agent (issue 6): claiming, executing, retrying, leases, shutdown — in-process on
both databases, and as real processes against PostgreSQL."""

import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from orders import services
from orders.agent import AgentLoop, AgentSettings
from orders.errors import IllegalTransition
from orders.executors import ExecutionFailed, InstantExecutor, WebhookExecutor
from orders.models import Agent, LedgerKind, Order, OrderEvent, OrderStatus, PaymentKind
from orders.tests.conftest import assert_invariants
from orders.tests.factories import make_admin, make_customer, make_product, place

ROOT = Path(__file__).resolve().parents[2]


class AlwaysFails:
    def execute(self, order):
        raise ExecutionFailed("the target refused")


def orders_for(count: int, quantity: int = 1):
    customer = make_customer(str(count * 10 * quantity))
    product = make_product(tiers=((1, "1.00"),))
    return [place(customer, product, quantity) for _ in range(count)]


def agent_loop(*, executor=None, once: bool = True, **settings) -> AgentLoop:
    defaults = {"poll_seconds": 0.01, "concurrency": 4, "retry_base_seconds": 0}
    return AgentLoop(
        executor=executor or InstantExecutor(), once=once, settings=AgentSettings(**{**defaults, **settings})
    )


# Worker threads have connections of their own: the data must be committed. Every
# transactional test here restores the serialized database, as test_concurrency does,
# so that the two kinds never meet a half-flushed database.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestInProcess:
    def test_drains_the_queue_and_completes_each_order_once(self):
        orders = orders_for(30)
        runner = agent_loop()
        runner.run()
        assert Counter(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED: 30}
        completed = OrderEvent.objects.filter(to_status=OrderStatus.COMPLETED)
        assert completed.count() == 30 and len({e.order_id for e in completed}) == 30
        row = Agent.objects.get(worker_id=runner.worker_id)
        assert row.completed == 30 and row.stopped_at is not None
        assert {o.attempts for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {1}
        assert_invariants()

    def test_failures_retry_then_fail_with_a_refund(self):
        (order,) = orders_for(1)
        agent_loop(executor=AlwaysFails(), max_attempts=3).run()
        order.refresh_from_db()
        assert order.status == OrderStatus.FAILED and order.attempts == 3 and order.last_error == "the target refused"
        notes = list(order.events.values_list("to_status", flat=True))
        assert notes == ["pending", "running", "pending", "running", "pending", "running", "failed"]
        assert order.payments.filter(kind=PaymentKind.REFUND).count() == 1
        assert order.ledger_entries.filter(kind=LedgerKind.REFUND).count() == 1
        assert_invariants()

    def test_a_retry_waits_for_its_backoff(self):
        (order,) = orders_for(1)
        (claimed,) = services.order_claim(worker_id="w", lease_seconds=30)
        services.order_retry(order=claimed, worker_id="w", error="x", delay_seconds=60)
        assert services.order_claim(worker_id="w2", lease_seconds=30) == []
        Order.objects.filter(pk=order.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
        assert [o.pk for o in services.order_claim(worker_id="w2", lease_seconds=30)] == [order.pk]

    def test_an_expired_lease_returns_the_order_or_fails_it_when_attempts_are_used_up(self):
        first, second = orders_for(2)
        claimed = services.order_claim(worker_id="dead", lease_seconds=30, limit=2)
        Order.objects.filter(pk__in=[o.pk for o in claimed]).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        Order.objects.filter(pk=second.pk).update(attempts=3)
        assert services.order_expire_leases(max_attempts=3) == 2
        first.refresh_from_db(), second.refresh_from_db()
        assert first.status == OrderStatus.PENDING and first.claimed_by == ""
        assert second.status == OrderStatus.FAILED and "lease of dead expired" in second.last_error
        assert second.payments.filter(kind=PaymentKind.REFUND).count() == 1
        # The dead agent, were it to wake up, can no longer report.
        with pytest.raises(IllegalTransition):
            services.order_complete(order=claimed[0], worker_id="dead")
        assert_invariants()

    def test_a_live_lease_is_renewed_and_not_expired(self):
        (order,) = orders_for(1)
        services.order_claim(worker_id="alive", lease_seconds=1)
        assert services.order_renew_leases(worker_id="alive", order_ids=[order.pk], lease_seconds=60) == {order.pk}
        assert services.order_renew_leases(worker_id="someone-else", order_ids=[order.pk], lease_seconds=60) == set()
        assert services.order_expire_leases(max_attempts=3) == 0

    def test_work_longer_than_a_lease_is_renewed_and_reported(self):
        (order,) = orders_for(1)

        class Slow:
            def execute(self, order):
                time.sleep(2.5)

        agent_loop(executor=Slow(), lease_seconds=1).run()
        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED and order.attempts == 1

    def test_stop_releases_what_is_unfinished(self):
        orders_for(2)
        gate = threading.Event()

        class Slow:
            def execute(self, order):
                gate.wait(10)

        runner = agent_loop(executor=Slow(), once=False, shutdown_seconds=0.2)
        thread = threading.Thread(target=runner.run)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while len(runner.in_flight) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            runner.stop()
            thread.join(5)
        gate.set()
        runner.pool.shutdown(wait=True)  # the released orders' executors finish; their results are refused
        assert not thread.is_alive()
        assert Counter(Order.objects.values_list("status", flat=True)) == {OrderStatus.PENDING: 2}
        assert sorted(runner.unfinished) == sorted(Order.objects.values_list("pk", flat=True))

    def test_a_database_outage_is_waited_out(self, monkeypatch):
        orders_for(3)
        real_claim, failures = services.order_claim, iter([True, True])

        def flaky_claim(**kwargs):
            if next(failures, False):
                raise OperationalError("server closed the connection unexpectedly")
            return real_claim(**kwargs)

        monkeypatch.setattr(services, "order_claim", flaky_claim)
        runner = agent_loop()
        started = time.monotonic()
        runner.run()
        assert Counter(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED: 3}
        assert time.monotonic() - started < 10

    def test_the_agents_page(self):
        Agent.objects.create(
            worker_id="gone-1",
            host="h",
            pid=1,
            executor="SimulatedExecutor",
            concurrency=4,
            last_heartbeat=timezone.now() - timedelta(hours=1),
        )
        client = Client()
        client.force_login(make_admin())
        page = client.get("/agents/")
        assert page.status_code == 200 and "gone-1" in page.text and "Stale" in page.text
        assert "Orders are not really fulfilled" in page.text
        customer = Client()
        customer.force_login(make_customer().user)
        assert customer.get("/agents/").status_code == 403


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(Receiver.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.django_db
def test_the_webhook_executor_posts_signed_json_with_the_order_no_as_key(settings):
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ORDER_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/fulfil"
    settings.ORDER_WEBHOOK_SECRET = "s3cret"
    (order,) = orders_for(1)
    try:
        WebhookExecutor().execute(order)
        headers, body = Receiver.received[-1]
        assert headers["Idempotency-Key"] == order.order_no
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Signature"], expected)
        assert json.loads(body)["order_no"] == order.order_no
        Receiver.status = 503
        with pytest.raises(ExecutionFailed, match="503"):
            WebhookExecutor().execute(order)
    finally:
        Receiver.status = 200
        server.shutdown()


# --- real processes on PostgreSQL ---------------------------------------------------


def spawn(*args: str, **env: str) -> subprocess.Popen:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "true",
        "CONN_MAX_AGE": "0",
        "AGENT_RETRY_BASE_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_agent", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def events_are_a_legal_path(order: Order) -> bool:
    """Each claim follows a pending state, at most one completion, nothing after a final state."""
    status = None
    for event in order.events.order_by("at", "id"):
        if status is not None and event.from_status != status:
            return False
        status = event.to_status
    completions = order.events.filter(to_status=OrderStatus.COMPLETED).count()
    return completions <= 1 and status == order.status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestProcesses:
    def test_four_agents_complete_a_thousand_orders_exactly_once(self):
        orders_for(1000)
        start = time.perf_counter()
        agents = [
            spawn(
                "--once", "--executor", "instant", "--concurrency", "4", "--batch-size", "20", "--poll-interval", "0.05"
            )
            for _ in range(4)
        ]
        for process in agents:
            assert process.wait(timeout=300) == 0, process.stderr.read().decode()[-2000:]
        elapsed = time.perf_counter() - start
        assert Counter(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED: 1000}
        assert not Order.objects.exclude(attempts=1).exists()
        completions = Counter(
            OrderEvent.objects.filter(to_status=OrderStatus.COMPLETED).values_list("order_id", flat=True)
        )
        assert len(completions) == 1000 and set(completions.values()) == {1}
        workers = set(Agent.objects.values_list("worker_id", flat=True))
        assert len(workers) == 4
        print(f"\n1,000 orders, 4 agent processes, instant executor: {elapsed:.1f} s, {1000 / elapsed:.0f} orders/s")
        assert_invariants()

    def test_kill_9_at_random_points_loses_and_doubles_nothing(self):
        orders_for(300, quantity=2)
        rng = random.Random(6)
        args = ("--executor", "simulated", "--concurrency", "3", "--lease-seconds", "2", "--poll-interval", "0.05")
        env = {
            "AGENT_SIMULATED_SECONDS_PER_UNIT": "0.01",
            "AGENT_SIMULATED_FAILURE_RATE": "0.1",
            "AGENT_MAX_ATTEMPTS": "3",
        }
        agents = [spawn(*args, **env) for _ in range(2)]
        for _ in range(20):
            time.sleep(rng.uniform(0.1, 0.6))
            victim = rng.randrange(2)
            agents[victim].send_signal(signal.SIGKILL)
            agents[victim].wait()
            agents[victim] = spawn(*args, **env)
        for process in agents:
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(2.5)  # every lease of the killed agents has run out
        drain = spawn("--once", *args, **env)
        assert drain.wait(timeout=240) == 0, drain.stderr.read().decode()[-2000:]
        statuses = Counter(Order.objects.values_list("status", flat=True))
        assert set(statuses) <= {OrderStatus.COMPLETED, OrderStatus.FAILED} and sum(statuses.values()) == 300
        assert all(events_are_a_legal_path(order) for order in Order.objects.all())
        assert_invariants()

    def test_sigterm_in_mid_work_exits_within_25_seconds_leaving_nothing_running(self):
        orders_for(6)
        process = spawn(
            "--executor",
            "simulated",
            "--concurrency",
            "2",
            "--lease-seconds",
            "60",
            AGENT_SIMULATED_SECONDS_PER_UNIT="40",
            AGENT_SIMULATED_MAX_SECONDS="40",
            AGENT_SIMULATED_FAILURE_RATE="0",
            AGENT_SHUTDOWN_SECONDS="3",
        )
        deadline = time.monotonic() + 30
        while Order.objects.filter(status=OrderStatus.RUNNING).count() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Order.objects.filter(status=OrderStatus.RUNNING).count() == 2
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=25) == 0, process.stderr.read().decode()[-2000:]
        assert time.monotonic() - sent < 25
        assert not Order.objects.filter(status=OrderStatus.RUNNING).exists()
        assert Counter(Order.objects.values_list("status", flat=True)) == {OrderStatus.PENDING: 6}
        assert Agent.objects.get().stopped_at is not None
        assert_invariants()
