import pytest
from django.db import IntegrityError, connection, transaction

from dashboard.accounts.audit import audit_record, changes_between, client_address
from dashboard.accounts.models import AuditEntry
from orders.tests.factories import make_admin, make_customer

pytestmark = pytest.mark.django_db


def test_an_entry_names_the_actor_the_action_and_the_target_as_it_was_called():
    admin, customer = make_admin(), make_customer()
    entry = audit_record(actor=admin, action="test.action", target=customer.user, detail="why")
    entry.refresh_from_db()
    assert (entry.actor, entry.action, entry.target_user, entry.detail) == (admin, "test.action", customer.user, "why")
    assert (entry.object_type, entry.object_id) == ("user", str(customer.user.pk))
    assert entry.target_repr == customer.user.username and entry.at is not None


def test_any_object_can_be_the_target_and_the_changes_are_kept_as_text():
    admin, customer = make_admin(), make_customer()
    entry = audit_record(
        actor=admin,
        action="test.action",
        target=customer,
        changes=changes_between({"name": "Ann", "active": True, "same": 1}, {"name": "Bo", "active": False, "same": 1}),
    )
    entry.refresh_from_db()
    assert (entry.object_type, entry.object_id, entry.target_user) == ("customer", str(customer.pk), None)
    assert entry.target_repr == customer.name
    assert entry.changes == {"name": ["Ann", "Bo"], "active": ["yes", "no"]}


def test_an_entry_carries_the_client_address_it_was_written_under():
    with client_address("203.0.113.9"):
        inside = audit_record(actor=None, action="test.action")
    outside = audit_record(actor=None, action="test.action")
    assert (inside.client_address, outside.client_address) == ("203.0.113.9", None)


def test_entries_are_append_only():
    entry = audit_record(actor=None, action="test.action")
    with pytest.raises(IntegrityError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(detail="rewritten")
    with pytest.raises(IntegrityError, match="append-only: UPDATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE dashboard_auditentry SET action = %s", ["rewritten"])
    entry.refresh_from_db()
    assert (entry.action, entry.detail) == ("test.action", "")


@pytest.mark.postgres
def test_entries_cannot_be_deleted_on_postgresql():
    # SQLite lets DELETE through on purpose: Django's test flush empties tables with it.
    entry = audit_record(actor=None, action="test.action")
    with pytest.raises(IntegrityError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
