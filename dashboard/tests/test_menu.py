import pytest
from django.urls import resolve, reverse

from dashboard.menu import MENU, menu_for
from orders.tests.factories import make_admin, make_customer

pytestmark = pytest.mark.django_db


def labels(user) -> list[str]:
    return [entry.item.label for entry in menu_for(user)]


def test_each_role_sees_its_own_menu():
    assert labels(make_admin()) == [
        "Dashboard",
        "Orders",
        "Customers",
        "Levels",
        "Products",
        "Transactions",
        "Payments",
        "Agents",
        "Users",
        "Audit",
        "Password",
        "Two-factor authentication",
    ]
    assert labels(make_customer().user) == [
        "Dashboard",
        "Orders",
        "New order",
        "Transactions",
        "Payments",
        "Password",
        "Two-factor authentication",
    ]


@pytest.mark.parametrize("item", MENU, ids=lambda item: item.label)
def test_the_view_behind_each_item_requires_the_items_permission(item):
    view = resolve(reverse(item.url_name)).func
    assert getattr(view, "required_permission", None) == item.permission


@pytest.mark.parametrize("item", MENU, ids=lambda item: item.label)
def test_a_customer_gets_403_from_every_item_not_in_their_menu(client, item):
    user = make_customer().user
    client.force_login(user)
    expected = 200 if item.permission is None or user.has_perm(item.permission) else 403
    assert client.get(reverse(item.url_name)).status_code == expected


def test_the_current_page_is_marked_in_the_menu(client):
    client.force_login(make_admin())
    page = client.get("/users/").text
    assert '<a href="/users/" class="active" aria-current="page">' in page
    assert '<a href="/" class="active"' not in page
