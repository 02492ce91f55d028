"""Bulk actions at a million orders: the list pages with their checkboxes and chosen
columns, "select all matching", and a bulk cancel of 10,000 pending orders.

    .venv/bin/python bench/bulk.py [--cancel 10000] [--orders 1000000] [--postgres URL] [--database order_platform_bench]

1. Copies `<database>_seed` (the million orders `make bench` seeds; seeded here if
   missing) to `<database>_bulk`, which it leaves behind and replaces at the next run.
2. Signed in as an admin, in-process (Django's test client, the production settings,
   no network), it counts the SQL queries of the orders, customers and payments lists
   at 25 and at 100 rows a page, with the default columns and with columns the admin
   reordered and hid: the counts must not change with the rows or the columns.
3. Posts "select all matching" for filters matching from a few thousand rows to all of
   them, and times the confirmation; it fails if a query of it reads order rows (every
   query on orders must be a COUNT, or fetch at most a page).
4. Places `--cancel` pending orders of a product of their own (through the services,
   for 200 customers topped up for it), selects all pending orders of that product and
   confirms; the agents' step, `services.bulk_work`, then runs to the end in one worker
   and the rate is printed. Then again with two workers sharing the action.
5. Checks that each of those orders is cancelled with one refund, that the balances are
   what they were, and that `check_ledger` passes. Exits 1 if any check fails.
"""

import argparse
import os
import re
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pg  # noqa: E402
from bench.run import ORDERS, log, production_env  # noqa: E402

# The confirmation may fetch rows for what it shows (a level's choices), never the selection.
PAGE = 100
CUSTOMERS = 200


def setup(database_url: str) -> None:
    os.environ.update({**production_env(database_url), "LOG_LEVEL": "WARNING"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", "--no-input", "-v", "0")  # the production pages' manifest


def list_queries(client, admin) -> list[tuple[str, str, int, int]]:
    """(list, columns, rows a page, queries) for each case."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.ui import services as ui
    from dashboard.ui.columns import arrange
    from dashboard.ui.listings import LISTINGS

    rows = []
    for name, url in (("orders", "/orders/"), ("customers", "/customers/"), ("payments", "/payments/")):
        listing = LISTINGS[name]
        for columns in ("default", "chosen"):
            if columns == "chosen":
                names = list(reversed(arrange(listing.table_class).names))
                ui.list_columns_save(user=admin, listing=listing, columns=names, shown=names[:-1])
            for per_page in (25, 100):
                client.get(url, {"per_page": per_page})
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url, {"per_page": per_page})
                assert response.status_code == 200, (url, response.status_code)
                assert "data-bulk-row" in response.text, f"the checkboxes are on {url} ({columns})"
                rows.append((name, columns, per_page, len(queries)))
        ui.list_columns_reset(user=admin, listing=listing)
    return rows


def loads_rows(sql: str) -> bool:
    """A query of the orders table that fetches more than a page of rows."""
    if '"orders_order"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
        return False
    if re.match(r"\s*SELECT\s+COUNT\(", sql, re.IGNORECASE):
        return False
    limit = re.search(r"\bLIMIT\s+(\d+)", sql)
    return limit is None or int(limit.group(1)) > PAGE


def select_all(client, query: str, repeat: int = 5) -> dict:
    """The confirmation of "select all matching" for the list filtered by `query`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    form = {"query": query, "all": "1", "action": "orders.cancel", "key": "b" * 32}
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.post("/bulk/orders/", form)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/bulk/orders/", form)
    shown = re.search(r'name="count" value="(\d+)"', response.text)
    count = int(shown.group(1)) if shown else -1
    counting = [q for q in queries if re.match(r"\s*SELECT\s+COUNT\(", q["sql"], re.IGNORECASE)]
    return {
        "query": query or "(no filter)",
        "count": count,
        "median_ms": statistics.median(times),
        "queries": len(queries),
        "count_ms": sum(float(q["time"]) * 1000 for q in counting),
        "loading": [q["sql"] for q in queries if loads_rows(q["sql"])],
        "status": response.status_code,
    }


def place_pending(count: int, product, customers, round_: int) -> None:
    from orders import services

    for n in range(count):
        services.order_place(
            customer=customers[n % len(customers)],
            product=product,
            quantity=1,
            target=f"https://example.com/bulk/{n}",
            idempotency_key=f"bench-bulk-{product.pk}-{round_}-{n}",
        )


def cancel_all_pending(client, product, expected: int, workers: int) -> dict:
    """Confirms the bulk cancel of the product's pending orders, then works it to the end."""
    from django.db import connection

    from orders import services
    from orders.models import BulkAction

    form = {
        "query": f"product={product.pk}&status=pending",
        "all": "1",
        "action": "orders.cancel",
        "key": f"bench-bulk-{product.pk}-{workers}-{time.time_ns()}",
        "confirm": "1",
        "count": str(expected),
    }
    started = time.perf_counter()
    response = client.post("/bulk/orders/", form)
    start_seconds = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    bulk = BulkAction.objects.get(key=form["key"])
    assert bulk.total == expected and bulk.finished_at is None, (bulk.total, expected)

    def work() -> None:
        try:
            while not BulkAction.objects.filter(pk=bulk.pk, finished_at__isnull=False).exists():
                services.bulk_work(bulk=bulk)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    bulk.refresh_from_db()
    return {
        "workers": workers,
        "total": bulk.total,
        "start_seconds": start_seconds,
        "seconds": seconds,
        "per_second": bulk.total / seconds,
        "done": bulk.done,
        "skipped": bulk.skipped,
        "failed": bulk.failed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cancel", type=int, default=10_000, help="Pending orders to cancel in bulk (default 10,000).")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--database", default="order_platform_bench", help="Name prefix of the benchmark's databases.")
    parser.add_argument("--orders", type=int, default=ORDERS, help="Orders in the seed database (default 1,000,000).")
    args = parser.parse_args()

    server = pg.Server(args.postgres)
    seed_db, work_db = f"{args.database}_seed", f"{args.database}_bulk"
    env = production_env(server.url(work_db))
    seeded = pg.ensure_seeded(
        server, seed_db, orders=args.orders, pending=0, customers=None, env=env, python=sys.executable, log=log
    )
    server.create(work_db, template=seed_db)
    server.query(work_db, "ANALYZE")
    log(f"{work_db}: a copy of {seed_db} ({seeded.orders:,} orders)")
    setup(server.url(work_db))

    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from bench.web import Session
    from orders import services
    from orders.models import Customer, LedgerKind, Order, OrderStatus, Product

    admin = get_user_model().objects.filter(groups__name="admin").order_by("pk").first()
    client = Session.sign_in(admin).client()
    failures = []

    log("list pages: queries at 25 and 100 rows, default and chosen columns")
    print(f"\n{'list':10} {'columns':8} {'rows':>5} {'queries':>8}")
    cases = list_queries(client, admin)
    for name, columns, per_page, queries in cases:
        print(f"{name:10} {columns:8} {per_page:5} {queries:8}")
    for name in {case[0] for case in cases}:
        counts = {queries for listed, _, _, queries in cases if listed == name}
        if len(counts) != 1:
            failures.append(f"the {name} list's queries vary with the rows or the columns: {sorted(counts)}")

    product = Product.objects.order_by("pk").first()
    log('"select all matching": the confirmation, median of 5')
    print(f"\n{'filter':36} {'count':>9} {'median':>8} {'COUNT(*)':>9} {'queries':>8}")
    for query in ("status=pending", f"product={product.pk}&status=completed", "status=completed", ""):
        result = select_all(client, query)
        print(
            f"{result['query']:36} {result['count']:9,} {result['median_ms']:6.0f}ms "
            f"{result['count_ms']:7.0f}ms {result['queries']:8}"
        )
        if result["loading"] or result["status"] != 200:
            failures.append(f"select all ({result['query']}) loaded rows or failed: {result}")

    bench_product = services.product_save(
        actor=admin,
        name="Bulk benchmark",
        description="Orders placed by bench/bulk.py to be cancelled in bulk",
        active=True,
        tiers=[(1, Decimal("1.00"))],
    )
    customers = list(Customer.objects.select_related("level").order_by("pk")[:CUSTOMERS])
    need = Decimal(args.cancel) * 2 / CUSTOMERS + 1
    for customer in customers:
        services.balance_top_up(
            customer=customer, amount=need, idempotency_key=f"bench-bulk-{customer.pk}", actor=admin
        )
    before = dict(Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("pk", "balance"))
    runs = []
    for workers in (1, 2):
        started = time.perf_counter()
        place_pending(args.cancel, bench_product, customers, workers)
        log(f"placed {args.cancel:,} pending orders in {time.perf_counter() - started:.0f} s")
        run = cancel_all_pending(client, bench_product, args.cancel, workers)
        log(
            f"bulk cancel, {workers} worker(s): {run['total']:,} in {run['seconds']:.1f} s = {run['per_second']:,.0f}/s "
            f"(started in {run['start_seconds'] * 1000:.0f} ms; done {run['done']:,}, skipped {run['skipped']}, "
            f"failed {run['failed']})"
        )
        runs.append(run)
        if (run["done"], run["skipped"], run["failed"]) != (args.cancel, 0, 0):
            failures.append(f"the bulk cancel did not cancel every order: {run}")

    cancelled = Order.objects.filter(product=bench_product, status=OrderStatus.CANCELLED).count()
    refunds = Order.objects.filter(product=bench_product, ledger_entries__kind=LedgerKind.REFUND).count()
    after = dict(Customer.objects.filter(pk__in=before).values_list("pk", "balance"))
    if cancelled != refunds or cancelled != 2 * args.cancel:
        failures.append(f"{cancelled:,} cancelled, {refunds:,} refunds, of {2 * args.cancel:,}")
    if after != before:
        failures.append("the customers' balances are not what they were")
    log("check_ledger")
    try:
        call_command("check_ledger")
    except CommandError as finding:
        failures.append(f"check_ledger: {finding}")
    for failure in failures:
        print(f"FAIL {failure}")
    print("\nPASS" if not failures else f"\n{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
