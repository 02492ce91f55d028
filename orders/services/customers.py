"""Customers: their accounts, profiles and levels.

The user and its profile are made together; deactivating a customer goes through
`dashboard.accounts`, which also ends their sessions.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from dashboard import accounts
from dashboard.roles import CUSTOMER_GROUP
from orders.models import Customer, Level
from orders.services.ledger import Actor


@transaction.atomic
def customer_create(
    *,
    username: str,
    password: str | None,
    name: str,
    mobile: str,
    level: Level,
    created_by: Actor = None,
) -> Customer:
    """A user in the `customer` group and their profile. No password: unusable until set."""
    user = get_user_model().objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get(name=CUSTOMER_GROUP))
    return Customer.objects.create(user=user, name=name, mobile=mobile, level=level, created_by=created_by)


@transaction.atomic
def customer_change_level(*, customer: Customer, level: Level) -> Customer:
    """Changes what the customer pays from now on; orders already placed keep their price."""
    Customer.objects.filter(pk=customer.pk).update(level=level)
    customer.level = level
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, name: str, mobile: str, level: Level, active: bool, actor: Actor
) -> Customer:
    """Name, mobile and level; and deactivation, which also ends the customer's sessions."""
    Customer.objects.filter(pk=customer.pk).update(name=name, mobile=mobile, level=level)
    customer.name, customer.mobile, customer.level = name, mobile, level
    if active and not customer.user.is_active:
        accounts.user_activate(user=customer.user, actor=actor)
    elif not active and customer.user.is_active:
        accounts.user_deactivate(user=customer.user, actor=actor)
    return customer
