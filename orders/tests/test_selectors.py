"""The reads the agent and the Agents page make (issue 15)."""

import pytest

from orders import selectors, services
from orders.models import OrderStatus
from orders.tests.factories import make_customer, make_product, place


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
