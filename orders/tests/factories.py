"""Test data, made through the services so that the ledger is consistent from the start."""

import itertools
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from dashboard.accounts.roles import ADMIN_GROUP
from orders import services
from orders.models import Customer, Level, PriceTier, Product

_sequence = itertools.count(1)


def key() -> str:
    return uuid.uuid4().hex


def make_admin(username: str | None = None):
    user = get_user_model().objects.create_user(username=username or f"admin{next(_sequence)}")
    user.groups.add(Group.objects.get(name=ADMIN_GROUP))
    return user


def make_level(percent: int = 100, name: str | None = None) -> Level:
    return Level.objects.create(name=name or f"Level {next(_sequence)}", percent=percent)


def make_product(tiers: tuple[tuple[int, str], ...] = ((1, "10.00"),), active: bool = True) -> Product:
    product = Product.objects.create(name=f"Product {next(_sequence)}", active=active)
    PriceTier.objects.bulk_create(
        PriceTier(product=product, min_quantity=minimum, unit_price=Decimal(price)) for minimum, price in tiers
    )
    return product


def make_customer(balance: str | Decimal = "0", level: Level | None = None, actor=None) -> Customer:
    n = next(_sequence)
    customer = services.customer_create(
        username=f"customer{n}",
        password=None,
        name=f"Customer {n}",
        mobile=f"+8613{n:09d}",
        level=level or make_level(),
    )
    if Decimal(balance) > 0:
        services.balance_top_up(customer=customer, amount=Decimal(balance), idempotency_key=key(), actor=actor)
        customer.refresh_from_db()
    return customer


def place(customer: Customer, product: Product, quantity: int = 1, **kwargs):
    return services.order_place(
        customer=customer,
        product=product,
        quantity=quantity,
        target=kwargs.pop("target", "https://example.com/target"),
        idempotency_key=kwargs.pop("idempotency_key", None) or key(),
        **kwargs,
    )
