import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.invariants import run_checks
from orders.models import Customer, LedgerEntry, Level, Order, OrderStatus, Payment, PaymentMethod, Product
from orders.tests.factories import make_customer, make_product, place

pytestmark = pytest.mark.django_db


def seed(capsys, *args) -> str:
    call_command("seed_demo", *args)
    return capsys.readouterr().out


def test_history_is_consistent_and_covers_every_status(capsys):
    seed(capsys, "--orders", "1500", "--customers", "12", "--password", "demo pass 1", "--seed", "7")
    assert Order.objects.count() == 1500 and Customer.objects.count() == 12
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert set(Payment.objects.values_list("method", flat=True)) == set(PaymentMethod.values)
    broken = [f"{r.invariant}: {r.offenders}" for r in run_checks() if not r.ok]
    assert not broken


def test_second_run_adds_nothing_and_a_larger_one_appends(capsys):
    seed(capsys, "--orders", "200", "--customers", "5", "--password", "demo pass 1")
    counts = (Order.objects.count(), LedgerEntry.objects.count(), Customer.objects.count())
    assert "Nothing to add" in seed(capsys, "--orders", "200", "--customers", "5")
    assert (Order.objects.count(), LedgerEntry.objects.count(), Customer.objects.count()) == counts
    seed(capsys, "--orders", "350", "--customers", "7", "--password", "demo pass 1")
    assert Order.objects.count() == 350 and Customer.objects.count() == 7
    assert all(result.ok for result in run_checks())


def password_of(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


def test_without_password_generates_and_prints_them_once(capsys):
    out = seed(capsys, "--orders", "50", "--customers", "3")
    admin_password = re.search(r"Password for admin: (\S+)", out).group(1)
    customer_password = re.search(r"Password for customer00001 … customer00003: (\S+)", out).group(1)
    assert len(admin_password) >= 16 and admin_password != customer_password
    assert password_of("admin", admin_password)
    assert password_of("customer00002", customer_password)
    assert "Password for" not in seed(capsys, "--orders", "50", "--customers", "3")


def test_given_password_is_used_and_not_printed(capsys):
    out = seed(capsys, "--orders", "10", "--customers", "2", "--password", "s3cret-demo-pw")
    assert "s3cret-demo-pw" not in out
    assert password_of("customer00001", "s3cret-demo-pw")


def test_pending_makes_a_paid_queue_of_the_newest_orders(capsys):
    seed(capsys, "--orders", "300", "--customers", "4", "--password", "demo pass 1", "--pending", "120")
    newest = list(Order.objects.order_by("-created_at", "-id")[:120])
    assert {order.status for order in newest} == {OrderStatus.PENDING}
    assert all(order.attempts == 0 and not order.claimed_by for order in newest)
    assert LedgerEntry.objects.filter(order__in=newest, kind="charge").count() == 120
    assert all(result.ok for result in run_checks())


def test_pending_beyond_orders_is_refused():
    with pytest.raises(CommandError, match="--pending"):
        call_command("seed_demo", "--orders", "10", "--pending", "11")


def ledger_checked(capsys) -> bool:
    call_command("check_ledger")  # raises CommandError naming the broken invariants
    return "All invariants hold." in capsys.readouterr().out


@pytest.fixture
def operators_own_data():
    """What an operator made before any demo: a level, products (one without tiers
    yet) and customers with a history, one of them on the new level."""
    vip = Level.objects.create(name="VIP", percent=80)
    product = make_product(tiers=((1, "3.00"),))
    Product.objects.create(name="Coming soon")
    regular, favoured = make_customer("100"), make_customer("500", level=vip)
    place(regular, product)
    place(favoured, product, quantity=4)
    return vip


def test_an_operators_own_levels_products_and_customers_are_no_obstacle(capsys, operators_own_data):
    assert ledger_checked(capsys)
    seed(capsys, "--customers", "50", "--orders", "400", "--password", "demo pass 1", "--seed", "3")
    assert Customer.objects.count() == 50 and Order.objects.count() == 400
    # Demo customers join the demo's levels, never one of the operator's.
    assert Customer.objects.filter(level=operators_own_data).count() == 1
    assert ledger_checked(capsys)


def test_names_and_mobiles_taken_by_others_are_skipped(capsys):
    """An account named like a demo customer, and a customer with a demo-like mobile."""
    User = get_user_model()
    staff = User.objects.create_user(username="customer00002", password="theirs 1")
    Customer.objects.filter(pk=make_customer().pk).update(mobile="+8613900000004")
    seed(capsys, "--customers", "6", "--orders", "60", "--password", "demo pass 1")
    assert Customer.objects.count() == 6
    assert password_of("customer00002", "theirs 1") and not Customer.objects.filter(user=staff).exists()
    assert Customer.objects.filter(mobile="+8613900000004").count() == 1
    assert ledger_checked(capsys)


def test_seeding_twice_over_an_operators_data(capsys, operators_own_data):
    seed(capsys, "--customers", "10", "--orders", "100", "--password", "demo pass 1")
    assert "Nothing to add" in seed(capsys, "--customers", "10", "--orders", "100")
    seed(capsys, "--customers", "15", "--orders", "180", "--password", "demo pass 1")
    assert Customer.objects.count() == 15 and Order.objects.count() == 180
    assert Customer.objects.values("mobile").distinct().count() == 15
    assert ledger_checked(capsys)
