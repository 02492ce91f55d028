"""What the benchmark asks the web server for, as whom, and how it checks the writes.

Imported by bench/run.py after Django is set up against the run's copy of the
million-order database. Users are signed in by writing real sessions (the same rows
a sign-in writes); every request carries the session and CSRF cookies a browser
would, and htmx requests their `HX-Request` header.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.accounts import two_factor
from orders import demo, services
from orders.models import Customer, LedgerEntry, Level, Order, OrderStatus, Product

BENCH_CUSTOMERS = 16


@dataclass(frozen=True)
class Session:
    cookie: str
    csrf: str

    @classmethod
    def sign_in(cls, user) -> "Session":
        client = Client()
        client.force_login(user)
        if two_factor.required_for(user):
            # Production asks admins for a second factor: the session is past that step.
            device = two_factor.app_device(user) or TOTPDevice.objects.create(user=user, name="Benchmark")
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        client.get("/")  # sets the CSRF cookie, as the first page a browser loads does
        return cls(client.cookies[settings.SESSION_COOKIE_NAME].value, client.cookies[settings.CSRF_COOKIE_NAME].value)

    def client(self) -> Client:
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = self.cookie
        client.cookies[settings.CSRF_COOKIE_NAME] = self.csrf
        return client


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    session: Session | None = None
    body: str = ""  # "{uid}" becomes a value unique to the run (idempotency keys)
    htmx: bool = False

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.session:
            headers["Cookie"] = (
                f"{settings.SESSION_COOKIE_NAME}={self.session.cookie}; {settings.CSRF_COOKIE_NAME}={self.session.csrf}"
            )
            if self.method == "POST":
                headers["X-CSRFToken"] = self.session.csrf
        if self.body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.htmx:
            headers["HX-Request"] = "true"
        return headers

    def line(self) -> str:
        """One line of bench/requests.lua's requests file."""
        headers = "|".join(f"{name}: {value}" for name, value in self.headers().items())
        return "\t".join([self.method, self.path, headers, self.body])

    def queries(self, uid: str) -> tuple[int, int]:
        """(status, SQL queries) of this request served in-process, as wrk's would be.

        A request first touches the session, so that its once-a-minute "last seen"
        write is not counted against this one."""
        client = self.session.client() if self.session else Client()
        client.get("/bench/bare/")
        extra = {"HTTP_HX_REQUEST": "true"} if self.htmx else {}
        if self.session and self.method == "POST":
            extra["HTTP_X_CSRFTOKEN"] = self.session.csrf
        with CaptureQueriesContext(connection) as captured:
            response = client.generic(
                self.method,
                self.path,
                self.body.replace("{uid}", uid),
                content_type="application/x-www-form-urlencoded",
                **extra,
            )
        return response.status_code, len(captured)


@dataclass
class Scenario:
    name: str
    group: str  # "ceiling", "order list", "page" or "write"
    make: Callable[[int], list[Request]]  # the requests for a run expected to send about n
    verify: Callable[[str], int] | None = None  # writes a run with this prefix made


class Fixtures:
    """The people and things the scenarios act on, in the run's copy of the database."""

    def __init__(self, rng: random.Random) -> None:
        User = get_user_model()
        self.rng = rng
        self.admin = User.objects.get(username=demo.ADMIN_USERNAME)
        self.admin_session = Session.sign_in(self.admin)
        self.customers = list(
            Customer.objects.select_related("user", "level")
            .filter(user__is_active=True)
            .order_by("id")[:BENCH_CUSTOMERS]
        )
        self.sessions = {customer.pk: Session.sign_in(customer.user) for customer in self.customers}
        for customer in self.customers:  # enough for every order the benchmark places
            services.balance_top_up(
                customer=customer,
                amount=Decimal("1000000"),
                memo="Benchmark funds",
                idempotency_key=f"bench-funds-{timezone.now().timestamp()}",
                actor=self.admin,
            )
        self.product = Product.objects.filter(active=True).order_by("id").prefetch_related("tiers").first()
        self.quantity = min(tier.min_quantity for tier in self.product.tiers.all())
        self.level = Level.objects.order_by("id").first()
        newest = Order.objects.order_by("-id").values_list("id", flat=True).first()
        ids = rng.sample(range(1, newest + 1), 200)
        self.order_nos = list(Order.objects.filter(id__in=ids).values_list("order_no", flat=True)[:50])
        self.searches = list(Customer.objects.order_by("?").values_list("mobile", "name")[:5])

    # --- the scenarios -------------------------------------------------------------

    def scenarios(self) -> list[Scenario]:
        admin = self.admin_session
        today = timezone.localdate()
        week, quarter = (today - timedelta(days=7)).isoformat(), (today - timedelta(days=90)).isoformat()
        product, level = self.product.pk, self.level.pk

        def gets(*paths: str, session: Session = admin, htmx: bool = False) -> Callable[[int], list[Request]]:
            return lambda n: [Request("GET", path, session, htmx=htmx) for path in paths]

        return [
            Scenario("bare view (ceiling)", "ceiling", lambda n: [Request("GET", "/bench/bare/")]),
            Scenario("bare 25-row table (ceiling)", "ceiling", gets("/bench/table/")),
            Scenario("order list: newest first", "order list", gets("/orders/")),
            Scenario(
                "order list: filters",
                "order list",
                gets(
                    "/orders/?status=pending",
                    "/orders/?status=failed&status=cancelled",
                    f"/orders/?product={product}",
                    f"/orders/?level={level}",
                    f"/orders/?created_after={week}&created_before={today}",
                    "/orders/?amount_min=100&amount_max=200",
                    f"/orders/?status=completed&created_after={quarter}&created_before={today}",
                    f"/orders/?status=completed&product={product}&level={level}",
                    f"/orders/?status=completed&status=failed&product={product}&level={level}"
                    f"&created_after={quarter}&created_before={today}&amount_min=10&amount_max=500",
                ),
            ),
            Scenario(
                "order list: search",
                "order list",
                gets(
                    *(f"/orders/?q={order_no[2:8]}" for order_no in self.order_nos[:3]),
                    *(f"/orders/?q={mobile}" for mobile, _ in self.searches[:3]),
                    *(f"/orders/?q={name.split()[-1]}" for _, name in self.searches[:3]),
                ),
            ),
            Scenario(
                "order list: sorts",
                "order list",
                gets(
                    "/orders/?sort=amount",
                    "/orders/?sort=-amount&status=failed",
                    f"/orders/?sort=amount&level={level}",
                    "/orders/?sort=created_at",
                ),
            ),
            Scenario(
                "order list: deep pages",
                "order list",
                gets(
                    "/orders/?page=200",
                    "/orders/?sort=-amount&page=200",
                    "/orders/?per_page=100&page=50",
                ),
            ),
            Scenario(
                "order list: htmx table region",
                "order list",
                gets(
                    "/orders/?page=2",
                    "/orders/?status=running&page=2",
                    "/orders/?sort=-amount&page=3",
                    htmx=True,
                ),
            ),
            Scenario("order detail", "page", gets(*(f"/orders/{order_no}/" for order_no in self.order_nos))),
            Scenario("dashboard home (admin)", "page", gets("/")),
            Scenario(
                "customer: My orders",
                "page",
                lambda n: [
                    Request("GET", path, self.sessions[customer.pk])
                    for customer in self.customers
                    for path in ("/orders/", "/orders/?status=pending", "/orders/?sort=-amount")
                ],
            ),
            Scenario("place order", "write", self.place_requests, verify=self.placed),
            Scenario("cancel order", "write", self.cancel_requests, verify=self.cancelled),
            Scenario("admin top-up (htmx)", "write", self.top_up_requests, verify=self.topped_up),
        ]

    # --- writes ----------------------------------------------------------------------

    def place_requests(self, n: int) -> list[Request]:
        body = (
            f"product={self.product.pk}&quantity={self.quantity}&method=balance"
            "&target=https%3A%2F%2Fexample.com%2Fbench&memo=&idempotency_key={uid}"
        )
        return [Request("POST", "/orders/new/", self.sessions[customer.pk], body) for customer in self.customers]

    def placed(self, prefix: str) -> int:
        return Order.objects.filter(customer__in=self.customers, idempotency_key__startswith=f"{prefix}-").count()

    def cancel_requests(self, n: int) -> list[Request]:
        """Cancels `n` different pending orders of the bench customers, placing more if needed."""
        pending = list(
            Order.objects.filter(customer__in=self.customers, status=OrderStatus.PENDING)
            .order_by("id")
            .values_list("order_no", "customer_id")[:n]
        )
        by_pk = {customer.pk: customer for customer in self.customers}
        for index in range(n - len(pending)):
            customer = self.customers[index % len(self.customers)]
            order = services.order_place(
                customer=customer,
                product=self.product,
                quantity=self.quantity,
                target="https://example.com/bench",
                idempotency_key=f"bench-to-cancel-{timezone.now().timestamp()}-{index}",
                actor=customer.user,
            )
            pending.append((order.order_no, customer.pk))
        self._cancelling = [order_no for order_no, _ in pending]
        return [
            Request("POST", f"/orders/{order_no}/cancel/", self.sessions[by_pk[customer_id].pk], "row=1", htmx=True)
            for order_no, customer_id in pending
        ]

    def cancelled(self, prefix: str) -> int:
        return Order.objects.filter(order_no__in=self._cancelling, status=OrderStatus.CANCELLED).count()

    def top_up_requests(self, n: int) -> list[Request]:
        body = "kind=top_up&amount=1.00&memo=Benchmark+top-up&idempotency_key={uid}"
        return [
            Request("POST", f"/customers/{customer.pk}/balance/", self.admin_session, body, htmx=True)
            for customer in self.customers
        ]

    def topped_up(self, prefix: str) -> int:
        return LedgerEntry.objects.filter(customer__in=self.customers, idempotency_key__contains=f":{prefix}-").count()
