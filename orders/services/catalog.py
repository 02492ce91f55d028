"""The catalog: levels, products and their price tiers.

Orders keep the price they were placed at (`Order.unit_price`, `percent`), so a
level's percent and a product's tiers can change freely; what has orders or
customers can only be deactivated, not deleted.
"""

from decimal import Decimal

from django.db import transaction

from dashboard.accounts.audit import AuditAction, audit_record, changes_between
from orders.errors import InUse, InvalidRequest
from orders.models import Level, PriceTier, Product
from orders.services.ledger import Actor


@transaction.atomic
def level_save(*, level: Level | None = None, name: str, percent: int, actor: Actor) -> Level:
    before = {"name": level.name, "percent": level.percent} if level else {}
    level = level or Level()
    level.name, level.percent = name, percent
    level.save()
    if changes := changes_between(before, {"name": name, "percent": percent}):
        action = AuditAction.LEVEL_EDITED if before else AuditAction.LEVEL_CREATED
        audit_record(actor=actor, action=action, target=level, target_repr=level.name, changes=changes)
    return level


@transaction.atomic
def level_delete(*, level: Level, actor: Actor) -> None:
    """Only a level nobody is on: customers keep their level (PROTECT)."""
    if (count := level.customers.count()) > 0:
        raise InUse(f"{level.name} cannot be deleted: {count:,} customer{'s' if count != 1 else ''} are on it.")
    audit_record(actor=actor, action=AuditAction.LEVEL_DELETED, target=level, target_repr=level.name)
    level.delete()


def _product_fields(product: Product, tiers) -> dict:
    return {
        "name": product.name,
        "description": product.description,
        "active": product.active,
        "tiers": ", ".join(f"{minimum}+ at {price}" for minimum, price in sorted(tiers)),
    }


@transaction.atomic
def product_save(
    *,
    product: Product | None = None,
    name: str,
    description: str,
    active: bool,
    tiers: list[tuple[int, Decimal]],
    actor: Actor,
) -> Product:
    """The product with exactly `tiers` (min quantity, unit price). Orders keep the
    price they were placed at, so tiers can be replaced freely."""
    if not tiers:
        raise InvalidRequest("A product needs at least one price tier.")
    if len({minimum for minimum, _ in tiers}) != len(tiers):
        raise InvalidRequest("Two price tiers start at the same quantity.")
    before = _product_fields(product, product.tiers.values_list("min_quantity", "unit_price")) if product else {}
    product = product or Product()
    product.name, product.description, product.active = name, description, active
    product.save()
    product.tiers.all().delete()
    PriceTier.objects.bulk_create(
        PriceTier(product=product, min_quantity=minimum, unit_price=price) for minimum, price in sorted(tiers)
    )
    if changes := changes_between(before, _product_fields(product, tiers)):
        action = AuditAction.PRODUCT_EDITED if before else AuditAction.PRODUCT_CREATED
        audit_record(actor=actor, action=action, target=product, changes=changes)
    return product


@transaction.atomic
def product_set_active(*, product: Product, active: bool, actor: Actor) -> Product:
    if Product.objects.filter(pk=product.pk).exclude(active=active).update(active=active):
        audit_record(
            actor=actor,
            action=AuditAction.PRODUCT_EDITED,
            target=product,
            changes=changes_between({"active": not active}, {"active": active}),
        )
    product.active = active
    return product


@transaction.atomic
def product_delete(*, product: Product, actor: Actor) -> None:
    """Only a product never ordered; one with orders can only be deactivated."""
    if product.orders.exists():
        raise InUse(f"{product.name} has orders, so it can only be deactivated.")
    audit_record(actor=actor, action=AuditAction.PRODUCT_DELETED, target=product)
    product.delete()
