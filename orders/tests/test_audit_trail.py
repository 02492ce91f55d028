"""Every admin action is in the audit trail, written by the service that does it, in
its transaction: who, what, the object, the fields changed, the client address."""

from decimal import Decimal

import pytest

from dashboard.accounts.audit import AuditAction
from dashboard.accounts.models import AuditEntry
from orders import services
from orders.errors import InsufficientBalance, InUse
from orders.tests.factories import key, make_admin, make_customer, make_level, make_product, place

pytestmark = pytest.mark.django_db


def last(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


def completed(customer):
    place(customer, make_product(tiers=((1, "5.00"),)))
    [claimed] = services.order_claim(worker_id="w", lease_seconds=60)
    return services.order_complete(order=claimed, worker_id="w")


def test_top_ups_and_deductions_name_the_customer_and_the_balance_before_and_after():
    admin, customer = make_admin(), make_customer("10")
    services.balance_top_up(customer=customer, amount=Decimal("5"), memo="cash", idempotency_key="k1", actor=admin)
    entry = last(AuditAction.TOP_UP)
    assert (entry.actor, entry.object_type, entry.object_id) == (admin, "customer", str(customer.pk))
    assert entry.changes == {"balance": ["10.00", "15.00"]} and entry.detail.endswith(": cash")
    services.balance_deduct(customer=customer, amount=Decimal("15"), idempotency_key="k2", actor=admin)
    assert last(AuditAction.DEDUCTION).changes == {"balance": ["15.00", "0.00"]}


def test_a_replayed_or_refused_balance_change_writes_no_entry():
    admin, customer = make_admin(), make_customer("10")
    services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="k1", actor=admin)
    services.balance_top_up(customer=customer, amount=Decimal("5"), idempotency_key="k1", actor=admin)
    with pytest.raises(InsufficientBalance):
        services.balance_deduct(customer=customer, amount=Decimal("99"), idempotency_key="k2", actor=admin)
    about = AuditEntry.objects.filter(object_type="customer", object_id=str(customer.pk))
    # The factory's top-up of 10 and the first k1: the replay and the refusal wrote none.
    assert about.filter(action=AuditAction.TOP_UP).count() == 2
    assert not about.filter(action=AuditAction.DEDUCTION).exists()


def test_customers_created_and_edited_keep_the_fields_before_and_after():
    admin = make_admin()
    gold, silver = make_level(90, "Gold"), make_level(95, "Silver")
    customer = services.customer_create(
        username="ann", password=None, name="Ann", mobile="+8613800000001", level=gold, created_by=admin
    )
    created = last(AuditAction.CUSTOMER_CREATED)
    assert (
        created.actor == admin and created.changes["name"] == ["", "Ann"] and created.changes["level"] == ["", "Gold"]
    )
    services.customer_update(
        customer=customer, name="Ann Lee", mobile="+8613800000001", level=silver, active=False, actor=admin
    )
    edited = last(AuditAction.CUSTOMER_EDITED)
    assert edited.changes == {"name": ["Ann", "Ann Lee"], "level": ["Gold", "Silver"]}
    assert last(AuditAction.DEACTIVATED).target_user == customer.user
    services.customer_change_level(customer=customer, level=gold, actor=admin)
    assert last(AuditAction.CUSTOMER_EDITED).changes == {"level": ["Silver", "Gold"]}
    before = AuditEntry.objects.count()
    services.customer_change_level(customer=customer, level=gold, actor=admin)
    assert AuditEntry.objects.count() == before, "nothing changed, nothing written"


def test_levels_and_products_created_edited_and_deleted():
    admin = make_admin()
    level = services.level_save(name="Bronze", percent=100, actor=admin)
    services.level_save(level=level, name="Bronze", percent=98, actor=admin)
    assert last(AuditAction.LEVEL_CREATED).target_repr == "Bronze"
    assert last(AuditAction.LEVEL_EDITED).changes == {"percent": ["100", "98"]}
    services.level_delete(level=level, actor=admin)
    assert last(AuditAction.LEVEL_DELETED).object_id == str(last(AuditAction.LEVEL_CREATED).object_id)

    product = services.product_save(
        name="Likes", description="", active=True, tiers=[(1, Decimal("2.00"))], actor=admin
    )
    assert last(AuditAction.PRODUCT_CREATED).changes["tiers"] == ["", "1+ at 2.00"]
    services.product_save(
        product=product, name="Likes", description="", active=True, tiers=[(1, Decimal("1.50"))], actor=admin
    )
    assert last(AuditAction.PRODUCT_EDITED).changes == {"tiers": ["1+ at 2.00", "1+ at 1.50"]}
    services.product_set_active(product=product, active=False, actor=admin)
    assert last(AuditAction.PRODUCT_EDITED).changes == {"active": ["yes", "no"]}
    services.product_delete(product=product, actor=admin)
    assert last(AuditAction.PRODUCT_DELETED).target_repr == "Likes"


def test_a_refused_deletion_writes_no_entry():
    admin, customer = make_admin(), make_customer()
    with pytest.raises(InUse):
        services.level_delete(level=customer.level, actor=admin)
    assert not AuditEntry.objects.filter(action=AuditAction.LEVEL_DELETED).exists()


def test_order_cancelled_refunded_noted_and_placed_again():
    admin, customer = make_admin(), make_customer("50")
    pending = place(customer, make_product())
    services.order_cancel(order=pending, actor=admin, note="Customer asked")
    cancelled = last(AuditAction.ORDER_CANCELLED)
    assert (cancelled.object_type, cancelled.object_id, cancelled.target_repr) == (
        "order",
        str(pending.pk),
        pending.order_no,
    )
    assert cancelled.changes == {"status": ["pending", "cancelled"]} and cancelled.detail == "Customer asked"

    done = completed(customer)
    services.order_refund(order=done, actor=admin, reason="Not delivered")
    assert last(AuditAction.ORDER_REFUNDED).detail == "Not delivered"
    services.order_note_add(order=done, author=admin, body="Called them", for_customer=False)
    assert last(AuditAction.ORDER_NOTED).detail == "Internal: Called them"

    reorder_key = key()
    again = services.order_reorder(order=done, actor=admin, idempotency_key=reorder_key)
    services.order_reorder(order=done, actor=admin, idempotency_key=reorder_key)
    entries = AuditEntry.objects.filter(action=AuditAction.ORDER_REORDERED)
    assert [(e.object_id, e.detail) for e in entries] == [(str(done.pk), f"As {again.order_no}.")], "once per key"


def test_a_request_writes_its_client_address_and_sign_ins_are_recorded(client):
    admin = make_admin("boss")
    admin.set_password("a-long-password-1")
    admin.save()
    client.post("/login/", {"username": "boss", "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    failed = last(AuditAction.SIGN_IN_FAILED)
    assert (failed.actor, failed.target_repr, failed.client_address) == (None, "boss", "198.51.100.7")
    client.post("/login/", {"username": "boss", "password": "a-long-password-1"}, REMOTE_ADDR="198.51.100.7")
    signed_in = last(AuditAction.SIGNED_IN)
    assert (signed_in.actor, signed_in.target_user, signed_in.detail) == (admin, admin, "With password.")
    assert signed_in.client_address == "198.51.100.7"
