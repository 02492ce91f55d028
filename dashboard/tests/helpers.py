"""Shared by the dashboard's tests."""

from dashboard.accounts.models import UserSession
from orders.tests.factories import make_admin, make_customer

PASSWORD = "correct horse battery staple"


def admin_with_password(username: str | None = None):
    user = make_admin(username)
    user.set_password(PASSWORD)
    user.save()
    return user


def customer_with_password(balance: str = "0"):
    customer = make_customer(balance)
    customer.user.set_password(PASSWORD)
    customer.user.save()
    return customer


def session_row(client) -> UserSession | None:
    cookie = client.cookies.get("sessionid")
    return UserSession.objects.filter(session_key=cookie.value).first() if cookie else None
