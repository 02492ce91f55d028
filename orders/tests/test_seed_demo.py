import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from orders.invariants import run_checks
from orders.models import Customer, LedgerEntry, Order, OrderStatus, Payment, PaymentMethod

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
