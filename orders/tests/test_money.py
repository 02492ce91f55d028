from decimal import Decimal

import pytest
from django.template import Context, Template

from orders.money import order_amount, round_money


@pytest.mark.parametrize(
    "value, expected",
    [("0.005", "0.01"), ("0.004", "0.00"), ("2.675", "2.68"), ("-2.675", "-2.68"), (7, "7.00")],
)
def test_money_rounds_half_up(value, expected):
    assert round_money(Decimal(value) if isinstance(value, str) else value) == Decimal(expected)


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(0.1)


def test_order_amount_rounds_once_at_the_end():
    # 0.33 × 3 × 50% = 0.495 → 0.50; rounding the unit price first would give 0.48.
    assert order_amount(unit_price=Decimal("0.33"), quantity=3, percent=50) == Decimal("0.50")


def test_money_filter_shows_currency_and_separators(settings):
    settings.CURRENCY = "CNY"
    rendered = Template("{% load money %}{{ a|money }}|{{ b|money }}|{{ c|money }}").render(
        Context({"a": Decimal("1234567.5"), "b": 0, "c": None})
    )
    assert rendered == "CNY 1,234,567.50|CNY 0.00|"
