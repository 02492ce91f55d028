"""Every read a view makes starts here, from a queryset scoped to the user.

A customer's querysets are filtered to their own rows before anything else, so a
view cannot reach another customer's object by id (it gets a 404).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Sum
from django.shortcuts import get_object_or_404

from orders.models import Customer, LedgerEntry, Order, OrderStatus, Payment
from orders.money import money


def sees_everything(user: AbstractBaseUser) -> bool:
    return user.has_perm("orders.view_all_orders")


def customer_for(user: AbstractBaseUser) -> Customer | None:
    return Customer.objects.select_related("level").filter(user=user).first()


def orders_visible_to(user: AbstractBaseUser):
    orders = Order.objects.select_related("customer__user", "customer__level", "product")
    if sees_everything(user):
        return orders
    return orders.filter(customer__user=user)


def order_get_for(user: AbstractBaseUser, order_no: str) -> Order:
    return get_object_or_404(orders_visible_to(user), order_no=order_no)


def payments_visible_to(user: AbstractBaseUser):
    payments = Payment.objects.select_related("order__customer", "order__product")
    if sees_everything(user):
        return payments
    return payments.filter(order__customer__user=user)


def ledger_visible_to(user: AbstractBaseUser):
    entries = LedgerEntry.objects.select_related("customer", "order", "actor")
    if sees_everything(user):
        return entries
    return entries.filter(customer__user=user)


def home_summary(user: AbstractBaseUser) -> dict[str, object]:
    """The figures the home page shows for the user's role."""
    orders = orders_visible_to(user)
    summary: dict[str, object] = {
        "open_orders": orders.open().count(),
        "completed_orders": orders.filter(status=OrderStatus.COMPLETED).count(),
    }
    if sees_everything(user):
        total = Customer.objects.aggregate(total=Sum("balance"))["total"] or 0
        # SQLite sums decimals in floating point: round back to cents.
        summary.update(customers=Customer.objects.count(), total_balance=money(total))
    elif customer := customer_for(user):
        summary["balance"] = customer.balance
    return summary
