import pytest
from django.db import IntegrityError, connection, transaction

from dashboard.accounts.audit import audit_record
from dashboard.accounts.models import AuditEntry
from orders.tests.factories import make_admin, make_customer

pytestmark = pytest.mark.django_db


def test_an_entry_names_the_actor_the_action_and_the_target_as_it_was_called():
    admin, customer = make_admin(), make_customer()
    entry = audit_record(actor=admin, action="test.action", target_user=customer.user, detail="why")
    entry.refresh_from_db()
    assert (entry.actor, entry.action, entry.target_user, entry.detail) == (admin, "test.action", customer.user, "why")
    assert entry.target_repr == customer.user.username and entry.at is not None


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
