"""Every table of the project renders its rows in Python (`ListTable.rows_html`) exactly
as django-tables2 renders them itself, for admins and customers, over rows that exercise
every branch a cell has (statuses, empty values, actions shown or not). A new table is
covered here before it can pass."""

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils import timezone
from django_tables2 import RequestConfig

from dashboard.accounts import selectors as account_selectors
from dashboard.accounts.tables import UserTable
from dashboard.ui.tables import ListTable
from dashboard.ui.tests.rendering import kit_rows, tables2_rows
from orders import selectors, services
from orders.models import Agent
from orders.tables import (
    AgentTable,
    AuditTable,
    CustomerOrderTable,
    CustomerTable,
    LedgerTable,
    LevelTable,
    OrderLedgerTable,
    OrderPaymentTable,
    OrderTable,
    PaymentTable,
    ProductTable,
    RecentOrderTable,
)
from orders.tests.factories import key, make_admin, make_customer, make_product, place


def project_tables() -> set[type[ListTable]]:
    """Every ListTable the project defines (the URLs import every view, and every table with them)."""
    import_module(settings.ROOT_URLCONF)
    found, todo = set(), [ListTable]
    while todo:
        for table in todo.pop().__subclasses__():
            if table not in found and ".tests" not in table.__module__:
                found.add(table)
                todo.append(table)
    return found


@pytest.fixture
def world(db):
    admin = make_admin()
    customer = make_customer(balance="500.00", actor=admin)
    make_customer()  # no orders, no balance
    product = make_product(tiers=((1, "10.00"), (10, "8.50")))
    make_product(active=False)
    pending = place(customer, product, quantity=2, memo="=HYPERLINK(1)")
    cancelled = place(customer, product, quantity=12)
    services.order_cancel(order=cancelled, actor=admin)
    [running] = services.order_claim(worker_id="host-1-ab12", lease_seconds=60, limit=1)
    services.agent_start(worker_id="host-1-ab12", host="host", pid=1, executor="InstantExecutor", concurrency=4)
    services.agent_start(worker_id="host-2-cd34", host="host", pid=2, executor="InstantExecutor", concurrency=4)
    services.agent_stop(worker_id="host-2-cd34")
    Agent.objects.filter(worker_id="host-1-ab12").update(last_heartbeat=timezone.now() - timedelta(hours=1))
    place(customer, product, quantity=1)
    services.balance_deduct(customer=customer, amount=Decimal("1.00"), memo="", idempotency_key=key(), actor=admin)
    get_user_model().objects.create_superuser(username="root")
    assert running.pk == pending.pk
    return {"admin": admin, "customer": customer.user}


def _order_pages(viewer, what: str) -> list:
    """`what` ("payments", "ledger_entries") of every order `viewer` sees, as each order's page has them."""
    return [
        row for order in selectors.orders_visible_to(viewer) for row in selectors.order_history(order, viewer)[what]
    ]


def _viewers_and_rows(world):
    admin, customer = world["admin"], world["customer"]
    buyer = selectors.customer_for(customer)
    return {
        OrderTable: [(admin, selectors.orders_visible_to(admin))],
        CustomerOrderTable: [(customer, selectors.orders_visible_to(customer))],
        LedgerTable: [(admin, selectors.ledger_visible_to(admin)), (customer, selectors.ledger_visible_to(customer))],
        PaymentTable: [
            (admin, selectors.payments_visible_to(admin)),
            (customer, selectors.payments_visible_to(customer)),
        ],
        CustomerTable: [(admin, selectors.customers_for_admin())],
        LevelTable: [(admin, selectors.levels_with_counts())],
        ProductTable: [(admin, selectors.products_with_tiers())],
        AgentTable: [(admin, Agent.objects.all())],
        UserTable: [(admin, account_selectors.users_matching())],
        AuditTable: [(admin, account_selectors.audit_entries())],
        RecentOrderTable: [
            (admin, selectors.orders_recent_of(buyer, admin, count=10)),
            (customer, selectors.orders_recent_of(buyer, customer)),
        ],
        OrderPaymentTable: [(admin, _order_pages(admin, "payments")), (customer, _order_pages(customer, "payments"))],
        OrderLedgerTable: [
            (admin, _order_pages(admin, "ledger_entries")),
            (customer, _order_pages(customer, "ledger_entries")),
        ],
    }


def test_every_table_is_covered_here(world):
    assert project_tables() == set(_viewers_and_rows(world))


@pytest.mark.parametrize(
    "table_class", sorted(project_tables(), key=lambda table: table.__name__), ids=lambda t: t.__name__
)
def test_rows_are_rendered_as_django_tables2_renders_them(world, table_class):
    for viewer, rows in _viewers_and_rows(world).get(table_class, []):
        request = RequestFactory().get("/")
        request.user = viewer
        table = table_class(rows)
        RequestConfig(request, paginate={"per_page": 25}).configure(table)
        expected = tables2_rows(table)
        assert len(expected) == len(rows) > 0
        for kit_row, tables2_row in zip(kit_rows(table), expected, strict=True):
            # Cell by cell, so that a failure names the cell that differs.
            assert kit_row.split("</td>") == tables2_row.split("</td>")
