"""What an order costs: the one place a quote is computed (I6).

`quote` is arithmetic only, so `seed_demo` prices its bulk rows with it from tiers it
already holds; `services.order_quote` finds the tier and refuses what cannot be
ordered, for the live quote and for placing an order.
"""

from dataclasses import dataclass
from decimal import Decimal

from orders.models import PriceTier
from orders.money import order_amount


@dataclass(frozen=True, slots=True)
class Quote:
    """The price snapshot an order keeps: its tier, the list amount (tier price ×
    quantity), the level's percent, and what is charged."""

    tier: PriceTier
    quantity: int
    list_amount: Decimal
    percent: int
    amount: Decimal

    @property
    def unit_price(self) -> Decimal:
        return self.tier.unit_price


def quote(*, tier: PriceTier, quantity: int, percent: int) -> Quote:
    return Quote(
        tier=tier,
        quantity=quantity,
        list_amount=tier.unit_price * quantity,
        percent=percent,
        amount=order_amount(unit_price=tier.unit_price, quantity=quantity, percent=percent),
    )
