from decimal import Decimal

from django import template
from django.conf import settings

from orders.money import round_money

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    """`1234.5` → `CNY 1,234.50`: two places, thousands separated, with the currency."""
    if value is None or value == "":
        return ""
    return f"{settings.CURRENCY} {round_money(value):,}"
