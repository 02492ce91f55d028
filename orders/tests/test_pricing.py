"""One computation of a price (I6): `quote` for arithmetic, `services.order_quote` with its checks."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import PriceTier
from orders.pricing import Quote, quote
from orders.tests.factories import make_customer, make_level, make_product


@pytest.mark.django_db
def test_a_quote_is_arithmetic_only(django_assert_num_queries):
    tier = PriceTier(min_quantity=10, unit_price=Decimal("8.00"))
    with django_assert_num_queries(0):
        priced = quote(tier=tier, quantity=12, percent=90)
    assert priced == Quote(tier=tier, quantity=12, list_amount=Decimal("96.00"), percent=90, amount=Decimal("86.40"))
    assert priced.unit_price == Decimal("8.00")


@pytest.mark.django_db
def test_the_service_quotes_the_tier_and_the_level_and_the_order_keeps_that_quote():
    customer = make_customer("100", level=make_level(percent=90))
    product = make_product(tiers=((1, "10.00"), (10, "8.00")))
    priced = services.order_quote(customer=customer, product=product, quantity=12)
    assert (priced.tier.min_quantity, priced.list_amount, priced.percent, priced.amount) == (
        10,
        Decimal("96.00"),
        90,
        Decimal("86.40"),
    )
    order = services.order_place(
        customer=customer, product=product, quantity=12, target="https://example.com", idempotency_key="k"
    )
    kept = (order.unit_price, order.list_amount, order.percent, order.amount)
    assert kept == (priced.unit_price, priced.list_amount, priced.percent, priced.amount)
