"""Customers: their accounts, profiles and levels.

A set-password link is texted only after the customer is committed, outside any
transaction of this service: a creation that rolls back texts nothing.
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from dashboard.accounts import services as accounts
from dashboard.accounts import sms
from dashboard.accounts.audit import AuditAction, audit_record, changes_between
from dashboard.accounts.roles import CUSTOMER_GROUP
from dashboard.ui.links import public_url
from orders.models import Customer, Level
from orders.services.ledger import Actor

logger = logging.getLogger(__name__)


def customer_create(
    *,
    username: str,
    password: str | None,
    name: str,
    mobile: str,
    level: Level,
    created_by: Actor = None,
    send_set_password_link: bool = False,
) -> Customer:
    """A user in the `customer` group and their profile. No password: unusable until set.

    With `send_set_password_link`, a one-time link to set one is texted to `mobile`
    once the customer is committed. `customer.set_password_link_sent` says whether a
    text went: a provider that is down or not configured does not undo the creation.
    Call it outside a transaction, or the text could go for a creation rolled back later.
    """
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password)
        user.groups.add(Group.objects.get(name=CUSTOMER_GROUP))
        customer = Customer.objects.create(user=user, name=name, mobile=mobile, level=level, created_by=created_by)
        audit_record(
            actor=created_by,
            action=AuditAction.CUSTOMER_CREATED,
            target=customer,
            changes=changes_between({}, _profile(customer) | {"username": username}),
        )
    customer.set_password_link_sent = send_set_password_link and _text_set_password_link(customer)
    return customer


def _text_set_password_link(customer: Customer) -> bool:
    link = public_url(
        "password_set",
        urlsafe_base64_encode(force_bytes(customer.user.pk)),
        default_token_generator.make_token(customer.user),
    )
    try:
        sms.get_backend().send(
            customer.mobile, f"Welcome to Order Platform. Set your password (the link works once): {link}"
        )
    except OSError as error:
        # Never the message: the link in it sets the password.
        logger.warning("set-password link for customer %s could not be texted: %s", customer.pk, type(error).__name__)
        return False
    return True


def _profile(customer: Customer) -> dict[str, str]:
    return {"name": customer.name, "mobile": customer.mobile, "level": customer.level.name}


@transaction.atomic
def customer_change_level(*, customer: Customer, level: Level, actor: Actor) -> Customer:
    """Changes what the customer pays from now on; orders already placed keep their price."""
    return _customer_edit(customer, actor=actor, level=level)


@transaction.atomic
def customer_update(
    *, customer: Customer, name: str, mobile: str, level: Level, active: bool, actor: Actor
) -> Customer:
    """Name, mobile and level; and deactivation, which also ends the customer's sessions."""
    customer = _customer_edit(customer, actor=actor, name=name, mobile=mobile, level=level)
    if active and not customer.user.is_active:
        accounts.user_activate(user=customer.user, actor=actor)
    elif not active and customer.user.is_active:
        accounts.user_deactivate(user=customer.user, actor=actor)
    return customer


def _customer_edit(customer: Customer, *, actor: Actor, **fields) -> Customer:
    before = _profile(customer)
    Customer.objects.filter(pk=customer.pk).update(**fields)
    for field, value in fields.items():
        setattr(customer, field, value)
    if changes := changes_between(before, _profile(customer)):
        audit_record(actor=actor, action=AuditAction.CUSTOMER_EDITED, target=customer, changes=changes)
    return customer
