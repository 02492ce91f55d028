"""The database itself refuses rows that break an invariant (docs/domain.md, docs/invariants.md).

Every write here bypasses save() and the services (QuerySet.update(), bulk_create()
or raw SQL), because the constraints exist for the day a bug elsewhere, a data fix
or an operator at a SQL prompt tries to write what the services never would.
Each refusal is matched to the constraint that should have fired, so a row that
happens to be refused for another reason cannot make a test pass.
"""

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders import services
from orders.models import (
    ORDER_KINDS,
    Customer,
    LedgerEntry,
    LedgerKind,
    Level,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from orders.references import new_entry_no, new_order_no, new_payment_no
from orders.tests.factories import key, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


@contextmanager
def refused(reason: str):
    """Expects the database to refuse what runs inside, with an error matching `reason`.

    The savepoint is rolled back before pytest.raises sees the error, so the test's
    own transaction stays usable for the checks that follow.
    """
    with pytest.raises(IntegrityError, match=reason), transaction.atomic():
        yield


def duplicate(table: str, *columns: str) -> str:
    """The message a unique violation on `columns` produces on this database."""
    if connection.vendor == "postgresql":
        # Constraints declared with unique=True carry generated names, so match the key.
        return re.escape(f"Key ({', '.join(columns)})=")
    return re.escape("UNIQUE constraint failed: " + ", ".join(f"{table}.{column}" for column in columns))


def ledger_row(customer: Customer, **fields) -> LedgerEntry:
    """An unsaved ledger entry that satisfies every constraint until `fields` say otherwise."""
    return LedgerEntry(
        **{
            "entry_no": new_entry_no(),
            "customer": customer,
            "kind": LedgerKind.TOP_UP,
            "amount": Decimal("1.00"),
            "balance_after": customer.balance + 1,
            "idempotency_key": key(),
            **fields,
        }
    )


def payment_row(order: Order, **fields) -> Payment:
    """An unsaved payment that satisfies every constraint until `fields` say otherwise."""
    return Payment(
        **{
            "payment_no": new_payment_no(),
            "order": order,
            "method": PaymentMethod.BALANCE,
            "kind": PaymentKind.REFUND,
            "status": PaymentStatus.SUCCEEDED,
            "amount": order.amount,
            **fields,
        }
    )


def ledger_snapshot(entry: LedgerEntry) -> tuple:
    return (
        LedgerEntry.objects.filter(pk=entry.pk)
        .values_list("entry_no", "kind", "amount", "balance_after", "memo", "idempotency_key")
        .get()
    )


@pytest.fixture
def customer() -> Customer:
    return make_customer("100")


@pytest.fixture
def order(customer) -> Order:
    """A pending order, charged through the services: it has a charge but no refund."""
    return place(customer, make_product(tiers=((1, "10.00"),)))


@pytest.fixture
def uncharged_order(order) -> Order:
    """An order row without payments or ledger entries, so only the rule under test can refuse one."""
    row = Order.objects.get(pk=order.pk)
    row.pk, row.order_no, row.idempotency_key = None, new_order_no(), key()
    return Order.objects.bulk_create([row])[0]


@pytest.fixture
def cancelled_order(customer) -> Order:
    """An order with both its charge and its refund."""
    return services.order_cancel(order=place(customer, make_product()), actor=None)


def test_the_row_builders_are_valid_on_their_own(customer, order):
    # Otherwise a refusal below could come from the builder rather than the one bad field.
    LedgerEntry.objects.bulk_create([ledger_row(customer)])
    Payment.objects.bulk_create([payment_row(order)])
    assert customer.ledger_entries.count() == 3 and order.payments.count() == 2


class TestCustomer:
    def test_negative_balance_is_refused(self, customer):
        with refused("customer_balance_not_negative"):
            Customer.objects.filter(pk=customer.pk).update(balance=Decimal("-0.01"))
        assert Customer.objects.get(pk=customer.pk).balance == Decimal("100.00")

    def test_negative_balance_is_refused_from_raw_sql(self, customer):
        with refused("customer_balance_not_negative"), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders_customer SET balance = balance - %s WHERE id = %s",
                [Decimal("100.01"), customer.pk],
            )
        assert Customer.objects.get(pk=customer.pk).balance == Decimal("100.00")

    def test_zero_balance_is_accepted(self, customer):
        Customer.objects.filter(pk=customer.pk).update(balance=Decimal("0"))
        assert Customer.objects.get(pk=customer.pk).balance == 0


class TestLevel:
    @pytest.mark.parametrize("percent", [0, 101])
    def test_percent_outside_1_to_100_is_refused(self, percent):
        level = make_level(percent=90)
        with refused("level_percent_1_to_100"):
            Level.objects.filter(pk=level.pk).update(percent=percent)
        assert Level.objects.get(pk=level.pk).percent == 90

    @pytest.mark.parametrize("percent", [0, 101])
    def test_new_level_outside_1_to_100_is_refused(self, percent):
        with refused("level_percent_1_to_100"):
            Level.objects.bulk_create([Level(name="Out of range", percent=percent)])
        assert not Level.objects.filter(name="Out of range").exists()

    @pytest.mark.parametrize("percent", [1, 100])
    def test_percent_bounds_are_accepted(self, percent):
        level = make_level(percent=50)
        Level.objects.filter(pk=level.pk).update(percent=percent)
        assert Level.objects.get(pk=level.pk).percent == percent


class TestOrder:
    def test_zero_quantity_is_refused(self, order):
        with refused("order_quantity_positive"):
            Order.objects.filter(pk=order.pk).update(quantity=0)
        assert Order.objects.get(pk=order.pk).quantity == 1

    @pytest.mark.parametrize(
        "lease",
        [
            {},
            {"claimed_by": "agent-1"},
            {"lease_expires_at": timezone.now() + timedelta(minutes=1)},
        ],
        ids=["neither", "worker-only", "lease-only"],
    )
    def test_running_needs_both_a_worker_and_a_lease(self, order, lease):
        with refused("order_running_has_lease"):
            Order.objects.filter(pk=order.pk).update(status=OrderStatus.RUNNING, **lease)
        assert Order.objects.filter(pk=order.pk).values_list("status", "claimed_by", "lease_expires_at").get() == (
            OrderStatus.PENDING,
            "",
            None,
        )

    def test_same_idempotency_key_twice_for_one_customer_is_refused(self, customer, order):
        other = place(customer, order.product)
        with refused(duplicate("orders_order", "customer_id", "idempotency_key")):
            Order.objects.filter(pk=other.pk).update(idempotency_key=order.idempotency_key)
        assert Order.objects.get(pk=other.pk).idempotency_key == other.idempotency_key

    def test_same_idempotency_key_for_another_customer_is_accepted(self, order):
        other = place(make_customer("100"), order.product)
        Order.objects.filter(pk=other.pk).update(idempotency_key=order.idempotency_key)
        assert Order.objects.filter(idempotency_key=order.idempotency_key).count() == 2

    def test_duplicate_order_no_is_refused(self, customer, order):
        other = place(customer, order.product)
        with refused(duplicate("orders_order", "order_no")):
            Order.objects.filter(pk=other.pk).update(order_no=order.order_no)
        assert Order.objects.get(pk=other.pk).order_no == other.order_no


class TestPayment:
    def test_second_charge_for_one_order_is_refused(self, order):
        with refused(duplicate("orders_payment", "order_id", "kind")):
            Payment.objects.bulk_create([payment_row(order, kind=PaymentKind.CHARGE)])
        assert order.payments.filter(kind=PaymentKind.CHARGE).count() == 1

    def test_second_refund_for_one_order_is_refused(self, cancelled_order):
        with refused(duplicate("orders_payment", "order_id", "kind")):
            Payment.objects.bulk_create([payment_row(cancelled_order, kind=PaymentKind.REFUND)])
        assert cancelled_order.payments.filter(kind=PaymentKind.REFUND).count() == 1

    def test_duplicate_payment_no_is_refused(self, order, cancelled_order):
        charge = order.payments.get()
        refund = cancelled_order.payments.get(kind=PaymentKind.REFUND)
        with refused(duplicate("orders_payment", "payment_no")):
            Payment.objects.filter(pk=refund.pk).update(payment_no=charge.payment_no)
        assert Payment.objects.get(pk=refund.pk).payment_no == refund.payment_no


class TestLedgerEntry:
    def test_zero_amount_is_refused(self, customer):
        # Zero has no sign, so the sign rule refuses it as well; either name is the database's answer.
        with refused("ledger_amount_not_zero|ledger_amount_sign_matches_kind"):
            LedgerEntry.objects.bulk_create([ledger_row(customer, amount=Decimal("0"))])
        assert customer.ledger_entries.count() == 1

    @pytest.mark.parametrize(
        "kind, amount",
        [
            (LedgerKind.TOP_UP, "-1.00"),
            (LedgerKind.DEDUCT, "1.00"),
            (LedgerKind.CHARGE, "10.00"),
            (LedgerKind.REFUND, "-10.00"),
        ],
    )
    def test_amount_sign_must_match_kind(self, customer, uncharged_order, kind, amount):
        order = uncharged_order if kind in ORDER_KINDS else None
        row = ledger_row(customer, kind=kind, amount=Decimal(amount), order=order)
        with refused("ledger_amount_sign_matches_kind"):
            LedgerEntry.objects.bulk_create([row])
        assert not LedgerEntry.objects.filter(kind=kind, amount=Decimal(amount)).exists()

    @pytest.mark.parametrize(
        "kind, amount",
        [
            (LedgerKind.TOP_UP, "1.00"),
            (LedgerKind.DEDUCT, "-1.00"),
            (LedgerKind.CHARGE, "-10.00"),
            (LedgerKind.REFUND, "10.00"),
        ],
    )
    def test_order_is_set_exactly_for_order_kinds(self, customer, uncharged_order, kind, amount):
        order = None if kind in ORDER_KINDS else uncharged_order
        row = ledger_row(customer, kind=kind, amount=Decimal(amount), order=order)
        with refused("ledger_order_iff_order_kind"):
            LedgerEntry.objects.bulk_create([row])
        assert customer.ledger_entries.count() == 2

    @pytest.mark.parametrize("kind, amount", [(LedgerKind.CHARGE, "-10.00"), (LedgerKind.REFUND, "10.00")])
    def test_second_order_entry_of_a_kind_is_refused(self, customer, cancelled_order, kind, amount):
        row = ledger_row(customer, kind=kind, amount=Decimal(amount), order=cancelled_order)
        with refused(duplicate("orders_ledgerentry", "order_id", "kind")):
            LedgerEntry.objects.bulk_create([row])
        assert cancelled_order.ledger_entries.filter(kind=kind).count() == 1

    def test_duplicate_idempotency_key_is_refused(self, customer):
        existing = customer.ledger_entries.get()
        with refused(duplicate("orders_ledgerentry", "idempotency_key")):
            LedgerEntry.objects.bulk_create([ledger_row(customer, idempotency_key=existing.idempotency_key)])
        assert LedgerEntry.objects.filter(idempotency_key=existing.idempotency_key).count() == 1

    def test_duplicate_entry_no_is_refused(self, customer):
        existing = customer.ledger_entries.get()
        with refused(duplicate("orders_ledgerentry", "entry_no")):
            LedgerEntry.objects.bulk_create([ledger_row(customer, entry_no=existing.entry_no)])
        assert LedgerEntry.objects.filter(entry_no=existing.entry_no).count() == 1


class TestLedgerIsAppendOnly:
    @pytest.mark.parametrize(
        "change",
        [{"memo": "edited"}, {"amount": Decimal("1000.00")}, {"balance_after": Decimal("0")}],
        ids=["memo", "amount", "balance_after"],
    )
    def test_update_is_refused(self, customer, change):
        entry = customer.ledger_entries.get()
        before = ledger_snapshot(entry)
        with refused("append-only: UPDATE refused"):
            LedgerEntry.objects.filter(pk=entry.pk).update(**change)
        assert ledger_snapshot(entry) == before

    def test_update_is_refused_from_raw_sql(self, customer):
        entry = customer.ledger_entries.get()
        before = ledger_snapshot(entry)
        with refused("append-only: UPDATE refused"), connection.cursor() as cursor:
            cursor.execute("UPDATE orders_ledgerentry SET memo = %s", ["rewritten"])
        assert ledger_snapshot(entry) == before

    def test_upsert_onto_an_entry_is_refused(self, customer):
        # INSERT … ON CONFLICT DO UPDATE rewrites the existing row: an UPDATE by another name.
        entry = customer.ledger_entries.get()
        before = ledger_snapshot(entry)
        with refused("append-only: UPDATE refused"):
            LedgerEntry.objects.bulk_create(
                [ledger_row(customer, idempotency_key=entry.idempotency_key, amount=Decimal("500.00"))],
                update_conflicts=True,
                unique_fields=["idempotency_key"],
                update_fields=["amount", "balance_after"],
            )
        assert ledger_snapshot(entry) == before

    @pytest.mark.postgres
    def test_delete_is_refused_on_postgresql(self, customer):
        # SQLite lets DELETE through on purpose: Django's test flush empties tables with it.
        entry = customer.ledger_entries.get()
        with refused("append-only: DELETE refused"):
            LedgerEntry.objects.filter(pk=entry.pk).delete()
        with refused("append-only: DELETE refused"), connection.cursor() as cursor:
            cursor.execute("DELETE FROM orders_ledgerentry WHERE id = %s", [entry.pk])
        assert LedgerEntry.objects.filter(pk=entry.pk).exists()
