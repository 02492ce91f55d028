"""Server time of the order list at scale: every filter dimension, combinations,
sorts and deep pages, for the admin's order center and a customer's "My orders".

Run against a database made by `seed_demo --orders 1000000` (the copy `make bench`
leaves behind will do):

    DATABASE_URL=postgres://…/order_platform_bench DJANGO_DEBUG=false DJANGO_SECRET_KEY=bench PUBLIC_URL=http://127.0.0.1 \\
        .venv/bin/python bench/order_list.py [--repeat 9]

It calls the view in-process through Django's test client (middleware, session,
auth, rendering — no network), reports the median and the slowest of `--repeat`
requests and the number of SQL queries, and marks each case against the 50 ms goal.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DJANGO_SSL_REDIRECT", "false")  # the test client speaks plain HTTP

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.web import Session  # noqa: E402
from orders.models import Customer, Level, Order, Product  # noqa: E402

GOAL_MS = 50


def cases(customer: Customer) -> list[tuple[str, str, str]]:
    """(who, name, url)."""
    today = timezone.localdate()
    week, quarter = (today - timedelta(days=7)).isoformat(), (today - timedelta(days=90)).isoformat()
    product = Product.objects.order_by("pk").first().pk
    level = Level.objects.order_by("pk").first().pk
    some_order = Order.objects.order_by("-pk").values_list("order_no", flat=True).first()
    mine = Order.objects.filter(customer=customer).values_list("order_no", flat=True).first()
    return [
        ("admin", "newest first", "/orders/"),
        ("admin", "status pending", "/orders/?status=pending"),
        ("admin", "status failed+cancelled", "/orders/?status=failed&status=cancelled"),
        ("admin", "product", f"/orders/?product={product}"),
        ("admin", "level", f"/orders/?level={level}"),
        ("admin", "last 7 days", f"/orders/?created_after={week}&created_before={today}"),
        ("admin", "amount 100-200", "/orders/?amount_min=100&amount_max=200"),
        ("admin", "q: part of an order no", f"/orders/?q={some_order[3:8]}"),
        ("admin", "q: customer mobile", f"/orders/?q={customer.mobile}"),
        ("admin", "q: part of a name", f"/orders/?q={customer.name.split()[-1]}"),
        ("admin", "q: exact order no (jump)", f"/orders/?q={some_order}"),
        ("admin", "status+date range", f"/orders/?status=completed&created_after={quarter}&created_before={today}"),
        ("admin", "status+product+level", f"/orders/?status=completed&product={product}&level={level}"),
        (
            "admin",
            "everything at once",
            f"/orders/?status=completed&status=failed&product={product}&level={level}"
            f"&created_after={quarter}&created_before={today}&amount_min=10&amount_max=500",
        ),
        ("admin", "sort amount", "/orders/?sort=amount"),
        ("admin", "sort -amount + status", "/orders/?sort=-amount&status=failed"),
        ("admin", "sort amount + level", f"/orders/?sort=amount&level={level}"),
        ("admin", "sort oldest first", "/orders/?sort=created_at"),
        ("admin", "deepest page (5,000th row)", "/orders/?page=200"),
        ("admin", "deepest page, sort amount", "/orders/?sort=-amount&page=200"),
        ("admin", "100 a page, last page", "/orders/?per_page=100&page=50"),
        ("admin", "htmx: table only", "/orders/?status=running&page=2"),
        ("customer", "my orders", "/orders/"),
        ("customer", "my pending", "/orders/?status=pending"),
        ("customer", "my orders by amount", "/orders/?sort=-amount"),
        ("customer", "my order detail", f"/orders/{mine}/"),
        ("admin", "order detail", f"/orders/{some_order}/"),
    ]


def measure(client: Client, url: str, repeat: int, htmx: bool) -> tuple[float, float, int, int]:
    headers = {"HX-Request": "true"} if htmx else {}
    client.get(url, headers=headers)  # warm caches, as a second visit would
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, headers=headers)
    return statistics.median(times), max(times), len(queries), response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    total = Order.objects.count() if connection.vendor == "sqlite" else None
    if total is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'orders_order'")
            total = cursor.fetchone()[0]
    customer = Customer.objects.select_related("user").order_by("-balance").first()
    # Signed in as bench/run.py signs in: past the second-factor step where production asks for it.
    admin = get_user_model().objects.filter(groups__name="admin").first()
    clients = {"admin": Session.sign_in(admin).client(), "customer": Session.sign_in(customer.user).client()}
    print(f"{connection.vendor}, about {total:,} orders; median and slowest of {args.repeat}; goal {GOAL_MS} ms\n")
    print(f"{'who':9} {'case':32} {'median':>8} {'slowest':>8} {'queries':>7}  status")
    failures = 0
    for who, name, url in cases(customer):
        median, slowest, queries, status = measure(clients[who], url, args.repeat, htmx=name.startswith("htmx"))
        ok = median <= GOAL_MS and status in (200, 302)
        failures += not ok
        print(f"{who:9} {name:32} {median:6.1f}ms {slowest:6.1f}ms {queries:7}  {status} {'PASS' if ok else 'FAIL'}")
    print(f"\n{failures} case(s) over {GOAL_MS} ms" if failures else f"\nevery case within {GOAL_MS} ms")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
