"""How values are written for people (rounding is the domain's: orders.money)."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


def format_money(value: Decimal | int | None) -> str:
    """`1234.5` → `CNY 1,234.50`: two places, thousands separated, with the currency (settings.CURRENCY)."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        raise TypeError("format_money() takes Decimal or int, never float")
    return f"{settings.CURRENCY} {Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,}"
