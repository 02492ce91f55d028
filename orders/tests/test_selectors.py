"""The reads the agent, the Agents page and the order and customer pages make (issue 15),
and that views and tables read through selectors only."""

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from django.http import Http404

from orders import selectors, services
from orders.models import LedgerEntry, OrderStatus
from orders.tests.factories import key, make_admin, make_customer, make_level, make_product, place

ROOT = Path(__file__).resolve().parents[2]


def orders_for(count: int):
    customer = make_customer(str(count))
    product = make_product(tiers=((1, "1.00"),))
    return [place(customer, product) for _ in range(count)]


@pytest.mark.django_db
def test_orders_running_on_names_what_each_agent_holds_and_nothing_else(django_assert_num_queries):
    first, second, third, _pending = orders_for(4)
    services.order_claim(worker_id="a", lease_seconds=60, limit=2)
    services.order_claim(worker_id="b", lease_seconds=60, limit=1)
    (finished,) = services.order_claim(worker_id="c", lease_seconds=60, limit=1)
    services.order_complete(order=finished, worker_id="c")
    with django_assert_num_queries(1):
        held = selectors.orders_running_on(["a", "b", "c", "nobody"])
    assert {worker: sorted(numbers) for worker, numbers in held.items()} == {
        "a": sorted([first.order_no, second.order_no]),
        "b": [third.order_no],
    }
    assert selectors.orders_running_on(["b"]) == {"b": [third.order_no]}


@pytest.mark.django_db
def test_orders_left_to_run_until_every_order_is_final():
    assert not selectors.orders_left_to_run()
    (order,) = orders_for(1)
    assert selectors.orders_left_to_run()
    (claimed,) = services.order_claim(worker_id="a", lease_seconds=60)
    assert claimed.status == OrderStatus.RUNNING and selectors.orders_left_to_run()
    services.order_retry(order=claimed, worker_id="a", error="x", delay_seconds=3600)
    assert selectors.orders_left_to_run(), "an order waiting for its retry is still to run"
    services.order_cancel(order=order, actor=order.customer.user)
    assert not selectors.orders_left_to_run()


@pytest.mark.django_db
def test_agents_all_lists_every_agent_stopped_or_not():
    services.agent_start(worker_id="alive", host="h", pid=1, executor="InstantExecutor", concurrency=1)
    services.agent_start(worker_id="gone", host="h", pid=2, executor="InstantExecutor", concurrency=1)
    services.agent_stop(worker_id="gone")
    assert sorted(selectors.agents_all().values_list("worker_id", flat=True)) == ["alive", "gone"]


@pytest.mark.django_db
def test_an_exact_order_number_is_found_as_typed_only_by_whoever_sees_the_order():
    mine, theirs = orders_for(1)[0], orders_for(1)[0]
    owner = mine.customer.user
    assert selectors.order_find_exact(owner, f"  {mine.order_no.lower()} ") == mine
    assert selectors.order_find_exact(owner, theirs.order_no) is None
    assert selectors.order_find_exact(owner, mine.order_no[:-1]) is None
    assert selectors.order_find_exact(make_admin(), theirs.order_no) == theirs


@pytest.mark.django_db
def test_orders_numbered_leaves_out_what_the_user_does_not_see():
    first, second = orders_for(2)
    theirs = orders_for(1)[0]
    numbers = [first.order_no, second.order_no, theirs.order_no, "NOSUCHORDER00"]
    assert {o.pk for o in selectors.orders_numbered(first.customer.user, numbers)} == {first.pk, second.pk}
    assert {o.pk for o in selectors.orders_numbered(make_admin(), numbers)} == {first.pk, second.pk, theirs.pk}


@pytest.mark.django_db
def test_orders_recent_of_a_customer_newest_first_as_the_viewer_sees_them():
    orders = orders_for(4)
    customer = orders[0].customer
    orders_for(1)  # someone else's
    assert selectors.orders_recent_of(customer, make_admin(), count=3) == orders[:0:-1]
    assert selectors.orders_recent_of(customer, customer.user) == orders[::-1]
    assert selectors.orders_recent_of(customer, make_customer().user) == []


@pytest.mark.django_db
def test_ledger_of_a_customer_holds_only_theirs_as_the_viewer_sees_them():
    admin = make_admin()
    customer, other = make_customer("10", actor=admin), make_customer("20")
    services.balance_deduct(customer=customer, amount=Decimal("1"), memo="", idempotency_key=key(), actor=admin)
    entries = selectors.ledger_of(customer, admin)
    assert set(entries) == set(LedgerEntry.objects.filter(customer=customer)) and entries.count() == 2
    assert {entry.actor_name for entry in selectors.ledger_of(customer, customer.user)} == {selectors.SUPPORT}
    assert not selectors.ledger_of(customer, other.user).exists()


@pytest.mark.django_db
def test_a_level_or_product_that_does_not_exist_is_404():
    level, product = make_level(), make_product()
    assert selectors.level_get(level.pk) == level and selectors.product_get(product.pk) == product
    for get in (selectors.level_get, selectors.product_get):
        with pytest.raises(Http404):
            get(999_999)


# What reading the ORM looks like from a view or a table: a manager, a queryset method
# or the shortcuts that query.
QUERYING = {
    "objects",
    "filter",
    "exclude",
    "annotate",
    "select_related",
    "prefetch_related",
    "order_by",
    "values_list",
    "aggregate",
    "refresh_from_db",
    "raw",
}
SHORTCUTS = {"get_object_or_404", "get_list_or_404"}


def test_views_tables_and_the_agent_loop_read_through_selectors_only():
    sources = [
        *(ROOT / "orders" / "views").glob("*.py"),
        *(ROOT / "orders" / "agent").glob("*.py"),
        ROOT / "orders" / "sandbox" / "views.py",
        ROOT / "orders" / "tables.py",
        *(ROOT / "dashboard" / "accounts" / "views").glob("*.py"),
        ROOT / "dashboard" / "accounts" / "tables.py",
        ROOT / "dashboard" / "views.py",
    ]
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.Attribute) and node.attr in QUERYING)
        or (isinstance(node, ast.Name) and node.id in SHORTCUTS)
    ]
    assert found == []
