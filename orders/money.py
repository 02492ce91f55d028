"""Money is Decimal with two places, rounded half up, in one place only."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MAX_DIGITS = 12
DECIMAL_PLACES = 2


def round_money(value: Decimal | int | str) -> Decimal:
    """Round to cents, half up. Floats are refused: they cannot hold money exactly."""
    if isinstance(value, float):
        raise TypeError("round_money() takes Decimal, int or str, never float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def order_amount(*, unit_price: Decimal, quantity: int, percent: int) -> Decimal:
    """What a customer pays: list price times quantity times their level's percent (I6, docs/invariants.md)."""
    return round_money(unit_price * quantity * percent / Decimal(100))


# The largest value a money column (12 digits, 2 decimal places) holds.
MAX_MONEY = Decimal("9999999999.99")
