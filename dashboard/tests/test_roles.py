import pytest
from django.contrib.auth.models import Group

from orders.tests.factories import make_admin, make_customer

pytestmark = pytest.mark.django_db

ADMIN_ONLY = ["orders.view_all_orders", "orders.manage_balances", "orders.add_customer", "orders.change_level"]
BOTH = ["orders.view_order", "orders.cancel_order", "orders.view_payment", "orders.view_ledgerentry"]


def test_the_migration_creates_both_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "customer"}


@pytest.mark.parametrize("permission", ADMIN_ONLY + BOTH)
def test_admin_has(permission):
    assert make_admin().has_perm(permission)


def test_customer_has_exactly_the_customer_permissions():
    user = make_customer().user
    assert all(user.has_perm(permission) for permission in BOTH + ["orders.place_order"])
    assert not any(user.has_perm(permission) for permission in ADMIN_ONLY)


def test_admins_do_not_place_orders():
    # An order is paid from a customer's balance; an operator has none.
    assert not make_admin().has_perm("orders.place_order")
