"""The catalog: levels, products and their price tiers.

Orders keep the price they were placed at (`Order.unit_price`, `percent`), so a
level's percent and a product's tiers can change freely; what has orders or
customers can only be deactivated, not deleted.
"""

from decimal import Decimal

from django.db import transaction

from orders.errors import InUse, InvalidRequest
from orders.models import Level, PriceTier, Product


@transaction.atomic
def level_save(*, level: Level | None = None, name: str, percent: int) -> Level:
    level = level or Level()
    level.name, level.percent = name, percent
    level.save()
    return level


@transaction.atomic
def level_delete(*, level: Level) -> None:
    """Only a level nobody is on: customers keep their level (PROTECT)."""
    if (count := level.customers.count()) > 0:
        raise InUse(f"{level.name} cannot be deleted: {count:,} customer{'s' if count != 1 else ''} are on it.")
    level.delete()


@transaction.atomic
def product_save(
    *, product: Product | None = None, name: str, description: str, active: bool, tiers: list[tuple[int, Decimal]]
) -> Product:
    """The product with exactly `tiers` (min quantity, unit price). Orders keep the
    price they were placed at, so tiers can be replaced freely."""
    if not tiers:
        raise InvalidRequest("A product needs at least one price tier.")
    if len({minimum for minimum, _ in tiers}) != len(tiers):
        raise InvalidRequest("Two price tiers start at the same quantity.")
    product = product or Product()
    product.name, product.description, product.active = name, description, active
    product.save()
    product.tiers.all().delete()
    PriceTier.objects.bulk_create(
        PriceTier(product=product, min_quantity=minimum, unit_price=price) for minimum, price in sorted(tiers)
    )
    return product


@transaction.atomic
def product_set_active(*, product: Product, active: bool) -> Product:
    Product.objects.filter(pk=product.pk).update(active=active)
    product.active = active
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Only a product never ordered; one with orders can only be deactivated."""
    if product.orders.exists():
        raise InUse(f"{product.name} has orders, so it can only be deactivated.")
    product.delete()
