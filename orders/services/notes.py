"""Notes on an order: what an admin writes, for staff only or for the customer too."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from dashboard.accounts.audit import AuditAction, audit_record
from orders.models import Order, OrderNote
from orders.services.ledger import _check_text

NOTE_MAX = OrderNote._meta.get_field("body").max_length


def order_note_add(*, order: Order, author: AbstractBaseUser, body: str, for_customer: bool) -> OrderNote:
    """Adds a note to the order's timeline. Callers check who may write one (admins)."""
    _check_text(body, field="note", max_length=NOTE_MAX, required=True)
    with transaction.atomic():
        note = OrderNote.objects.create(order=order, author=author, body=body.strip(), for_customer=for_customer)
        audit_record(
            actor=author,
            action=AuditAction.ORDER_NOTED,
            target=order,
            detail=f"{'To the customer' if for_customer else 'Internal'}: {note.body}",
        )
    return note
