"""Notes on an order: written by admins, internal or for the customer, on the timeline."""

import pytest
from django.db import IntegrityError

from orders import selectors, services
from orders.errors import InvalidRequest
from orders.models import OrderNote
from orders.tests.factories import make_admin, make_customer, make_product, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return place(make_customer("50"), make_product())


def test_a_note_is_kept_as_written_and_an_empty_one_is_refused(order):
    admin = make_admin()
    note = services.order_note_add(order=order, author=admin, body="  Called the customer.\n", for_customer=False)
    assert (note.body, note.author, note.for_customer) == ("Called the customer.", admin, False)
    for body in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidRequest):
            services.order_note_add(order=order, author=admin, body=body, for_customer=True)
    assert OrderNote.objects.count() == 1


def test_the_database_refuses_an_empty_note(order):
    with pytest.raises(IntegrityError):
        OrderNote.objects.create(order=order, author=make_admin(), body="")


def test_customers_read_only_the_notes_written_for_them_and_not_who_wrote_them(order):
    admin = make_admin("ops-alice")
    services.order_note_add(order=order, author=admin, body="Refund approved by finance", for_customer=False)
    services.order_note_add(order=order, author=admin, body="We are on it", for_customer=True)
    admins_view = selectors.order_history(order, admin)["timeline"]
    customers_view = selectors.order_history(order, order.customer.user)["timeline"]
    assert [step.body for step in admins_view if hasattr(step, "body")] == [
        "Refund approved by finance",
        "We are on it",
    ]
    assert [(step.body, step.actor_name) for step in customers_view if hasattr(step, "body")] == [
        ("We are on it", "Support")
    ]
    assert [step.to_status for step in customers_view if hasattr(step, "to_status")] == ["pending"]


def test_an_admin_adds_notes_on_the_order_page_and_the_customer_reads_theirs(client, order):
    admin = make_admin()
    client.force_login(admin)
    assert b"Add a note" in client.get(f"/orders/{order.order_no}/").content
    client.post(f"/orders/{order.order_no}/notes/", {"body": "Checked the target by hand"})
    response = client.post(
        f"/orders/{order.order_no}/notes/", {"body": "Delivery <b>tomorrow</b>", "for_customer": "on"}, follow=True
    )
    page = response.content.decode()
    assert "Internal note" in page and "Note to the customer" in page and "Delivery &lt;b&gt;tomorrow&lt;/b&gt;" in page
    client.force_login(order.customer.user)
    page = client.get(f"/orders/{order.order_no}/").content.decode()
    assert "Delivery &lt;b&gt;tomorrow&lt;/b&gt;" in page and "Checked the target by hand" not in page
    assert "Add a note" not in page
    assert client.post(f"/orders/{order.order_no}/notes/", {"body": "mine"}).status_code == 403
    assert OrderNote.objects.count() == 2


def test_an_empty_note_from_the_page_says_why_and_adds_nothing(client, order):
    client.force_login(make_admin())
    response = client.post(f"/orders/{order.order_no}/notes/", {"body": ""}, follow=True)
    assert "No note was added: Write the note first." in response.content.decode()
    assert not OrderNote.objects.exists()
