from django import template

from orders.models import OPEN_STATUSES

register = template.Library()


@register.filter
def open_order_numbers(rows) -> list[str]:
    """The order numbers among a table's rows that can still change status."""
    return [row.record.order_no for row in rows if row.record.status in OPEN_STATUSES]


@register.filter
def is_open(order) -> bool:
    return order.status in OPEN_STATUSES
