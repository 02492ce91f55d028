"""Each invariant check must name the row that breaks it (data corrupted behind the services' back)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from orders import services
from orders.invariants import (
    check_charges_and_refunds,
    check_final_orders,
    check_ledger_append_only,
    check_ledger_chain,
    check_order_amounts,
    run_checks,
)
from orders.models import (
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from orders.tests.factories import make_customer, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    customer = make_customer("100")
    return place(customer, make_product(tiers=((1, "10.00"),)), quantity=2)


def offenders(result) -> str:
    assert not result.ok, f"{result.invariant} found nothing wrong"
    return "\n".join(result.offenders)


def test_a_consistent_database_passes(order):
    services.order_cancel(order=order, actor=None)
    assert all(result.ok for result in run_checks())


def test_i1_balance_that_disagrees_with_the_ledger(order):
    Customer.objects.filter(pk=order.customer_id).update(balance=Decimal("999.00"))
    assert f"customer {order.customer_id}" in offenders(check_ledger_chain())


def test_i1_broken_balance_after_chain(order):
    entry = LedgerEntry.objects.create(
        entry_no="BROKENCHAIN001",
        customer=order.customer,
        kind=LedgerKind.TOP_UP,
        amount=Decimal("5.00"),
        balance_after=Decimal("500.00"),
        idempotency_key="broken",
    )
    assert entry.entry_no in offenders(check_ledger_chain())


def test_i3_refund_of_an_open_order(order):
    Payment.objects.create(
        payment_no="REFUNDOPEN0001",
        order=order,
        method=PaymentMethod.BALANCE,
        kind=PaymentKind.REFUND,
        status=PaymentStatus.SUCCEEDED,
        amount=order.amount,
    )
    found = offenders(check_charges_and_refunds())
    assert f"order {order.order_no} is pending but was refunded" in found
    assert f"order {order.order_no} refund payment and refund ledger entry disagree" in found


def test_i3_refund_that_differs_from_the_charge(order):
    services.order_cancel(order=order, actor=None)
    Payment.objects.filter(order=order, kind=PaymentKind.REFUND).update(amount=Decimal("1.00"))
    assert f"order {order.order_no} refund 1.00 differs from its charge 20.00" in offenders(check_charges_and_refunds())


def test_i3_cancelled_charged_order_without_refund(order):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED, finished_at=timezone.now())
    assert f"order {order.order_no} is cancelled and charged but was never refunded" in offenders(
        check_charges_and_refunds()
    )


def test_i3_open_order_never_charged(order):
    Payment.objects.filter(order=order).update(status=PaymentStatus.FAILED)
    assert f"order {order.order_no} is pending but was never charged" in offenders(check_charges_and_refunds())


def test_i4_missing_trigger():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER orders_ledger_append_only ON orders_ledgerentry")
        else:
            cursor.execute("DROP TRIGGER orders_ledger_append_only")
    assert "append-only trigger" in offenders(check_ledger_append_only())


def test_i5_move_out_of_a_final_status(order):
    services.order_cancel(order=order, actor=None)
    OrderEvent.objects.create(order=order, from_status=OrderStatus.CANCELLED, to_status=OrderStatus.PENDING)
    found = offenders(check_final_orders())
    assert f"order {order.order_no} moved from final status cancelled to pending" in found
    assert f"order {order.order_no} is cancelled but its timeline ends at pending" in found


def test_i5_status_changed_without_an_event(order):
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.COMPLETED, finished_at=timezone.now() + timedelta(seconds=1)
    )
    assert f"order {order.order_no} is completed but its timeline ends at pending" in offenders(check_final_orders())


def test_i6_amount_that_is_not_the_quote(order):
    Order.objects.filter(pk=order.pk).update(amount=Decimal("19.99"))
    assert f"order {order.order_no}: 10.00 × 2 × 100% should charge 20.00, charged 19.99" in offenders(
        check_order_amounts()
    )


def test_check_ledger_command_fails_naming_the_row(order, capsys):
    Order.objects.filter(pk=order.pk).update(amount=Decimal("19.99"))
    with pytest.raises(CommandError, match="invariant"):
        call_command("check_ledger")
    out = capsys.readouterr().out
    assert "FAIL I6" in out and order.order_no in out and "ok   I1" in out


def test_check_ledger_command_passes(order, capsys):
    call_command("check_ledger")
    assert "All invariants hold." in capsys.readouterr().out
