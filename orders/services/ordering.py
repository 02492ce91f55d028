"""Placing and cancelling orders, and settling what a gateway says of their payment.

Placing locks the customer, looks the idempotency key up under that lock, and writes
the order with its charge: from the balance, charged and queued (`pending`); by card
or ATM, waiting for the gateway (`awaiting_payment`) with a pending charge.
`payment_settle` locks the charge by its token, then the order.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orders import gateways
from orders.errors import (
    IdempotencyConflict,
    InvalidAmount,
    InvalidRequest,
    ProductUnavailable,
    QuantityBelowMinimum,
)
from orders.gateways.base import Gateway
from orders.models import (
    Customer,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    PriceTier,
    Product,
)
from orders.money import MAX_MONEY, round_money
from orders.pricing import Quote, quote
from orders.references import new_order_no, new_payment_no
from orders.services.ledger import (
    Actor,
    _check_idempotency_key,
    _check_text,
    _lock_customer,
    _refund,
    _transition,
    _write_ledger,
)

# What the column holds; a larger quantity is refused here with a clear error rather
# than by the database (PostgreSQL raises, SQLite would store it).
MAX_QUANTITY = 2_147_483_647


def order_quote(*, customer: Customer, product: Product, quantity: int) -> Quote:
    """What `quantity` units of `product` cost `customer` (I6), or the domain error
    saying why they cannot be ordered."""
    if not product.active:
        raise ProductUnavailable
    if quantity < 1:
        raise QuantityBelowMinimum("Enter a quantity of at least 1.")
    if quantity > MAX_QUANTITY:
        raise InvalidRequest(f"Enter a quantity of at most {MAX_QUANTITY:,}.")
    tier = PriceTier.objects.filter(product=product, min_quantity__lte=quantity).order_by("-min_quantity").first()
    if tier is None:
        smallest = PriceTier.objects.filter(product=product).order_by("min_quantity").first()
        if smallest is None:
            raise ProductUnavailable
        raise QuantityBelowMinimum(f"The minimum quantity for {product} is {smallest.min_quantity}.")
    priced = quote(tier=tier, quantity=quantity, percent=customer.level.percent)
    if priced.list_amount > MAX_MONEY:
        raise InvalidAmount("This order is too large; order a smaller quantity.")
    if priced.amount <= 0:
        raise InvalidAmount("This order's amount rounds to zero; order a larger quantity.")
    return priced


def order_place(
    *,
    customer: Customer,
    product: Product,
    quantity: int,
    target: str,
    memo: str = "",
    idempotency_key: str,
    actor: Actor = None,
    method: str = PaymentMethod.BALANCE,
    callback_url: str = "",
    return_url: str = "",
) -> Order:
    """Places an order, or writes nothing.

    Paid from the balance, the order is charged and queued as pending. By card or
    ATM nothing is charged: the order waits for the gateway (`awaiting_payment`) with
    a pending charge, which gets the gateway's token and pay URL (or ATM account);
    `payment_settle` takes it from there.
    """
    _check_idempotency_key(idempotency_key)
    _check_text(target, field="target", max_length=Order._meta.get_field("target").max_length, required=True)
    _check_text(memo, field="memo", max_length=Order._meta.get_field("memo").max_length)
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        previous = Order.objects.filter(customer=locked, idempotency_key=idempotency_key).first()
        if previous is not None:
            charge = previous.payments.filter(kind=PaymentKind.CHARGE).first()
            placed = (previous.product_id, previous.quantity, previous.target, previous.memo, charge and charge.method)
            if placed != (product.pk, quantity, target, memo, method):
                raise IdempotencyConflict
            return previous
        from_balance = method == PaymentMethod.BALANCE
        # After the replay: an order placed before its gateway was switched off is still its key's answer.
        gateway = None if from_balance else _gateway_taking(method)
        # The caller's copy may predate a deactivation.
        product = Product.objects.get(pk=product.pk)
        priced = order_quote(customer=locked, product=product, quantity=quantity)
        order = Order.objects.create(
            order_no=new_order_no(),
            customer=locked,
            product=product,
            quantity=quantity,
            target=target,
            memo=memo,
            unit_price=priced.unit_price,
            list_amount=priced.list_amount,
            percent=priced.percent,
            amount=priced.amount,
            status=OrderStatus.PENDING if from_balance else OrderStatus.AWAITING_PAYMENT,
            idempotency_key=idempotency_key,
        )
        charge = Payment.objects.create(
            payment_no=new_payment_no(),
            order=order,
            method=method,
            kind=PaymentKind.CHARGE,
            status=PaymentStatus.SUCCEEDED if from_balance else PaymentStatus.PENDING,
            amount=order.amount,
        )
        if from_balance:
            _write_ledger(
                customer=locked,
                kind=LedgerKind.CHARGE,
                amount=-order.amount,
                idempotency_key=f"order:{order.order_no}:charge",
                actor=actor,
                order=order,
            )
        OrderEvent.objects.create(
            order=order,
            from_status="",
            to_status=order.status,
            actor=actor,
            note="Placed" if from_balance else f"Placed; awaiting the {_paying_by(method)}",
        )
        if gateway is not None:
            token, pay_url = gateway.create_payment(
                charge, callback_url=callback_url, return_url=return_url.replace("ORDER_NO", order.order_no)
            )
            Payment.objects.filter(pk=charge.pk).update(provider_token=token, pay_url=pay_url)
        return order


def _gateway_taking(method: str) -> Gateway:
    gateway = gateways.get_gateway()
    if gateway is None or method not in gateway.methods:
        raise InvalidRequest("This payment method is not available; pay from your balance.")
    return gateway


def _paying_by(method: str) -> str:
    return "card payment" if method == PaymentMethod.CARD else "ATM transfer"


def payment_callback_receive(*, gateway, body: bytes, headers) -> Payment:
    """Settles what a gateway's signed callback reports. Raises CallbackRefused (bad
    signature, stale, malformed) or a domain error, and then changes nothing."""
    settlement = gateway.verify_callback(body, headers)
    return payment_settle(
        token=settlement.token, paid=settlement.paid, amount=settlement.amount, source=f"{gateway.label} callback"
    )


def payment_settle(*, token: str, paid: bool, amount: Decimal, source: str) -> Payment:
    """Records what the gateway says of a pending charge: paid → the order is queued
    (pending); declined or expired → the order is cancelled. Nothing was charged from
    the balance, so nothing is refunded. A repeat changes nothing; a different amount
    is refused (InvalidAmount) and changes nothing."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(provider_token=token, kind=PaymentKind.CHARGE)
            .exclude(provider_token="")
            .first()
        )
        if payment is None:
            raise InvalidRequest("No payment has this token.")
        if payment.status != PaymentStatus.PENDING:
            return payment
        if round_money(amount) != payment.amount:
            raise InvalidAmount(f"The gateway reports {amount}, the payment is {payment.amount}.")
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        now = timezone.now()
        label = PaymentMethod(payment.method).label
        if paid:
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED, updated_at=now)
            _transition(
                order,
                expected=OrderStatus.AWAITING_PAYMENT,
                to=OrderStatus.PENDING,
                actor=None,
                note=f"{label} payment received ({source})",
            )
        else:
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED, updated_at=now)
            _transition(
                order,
                expected=OrderStatus.AWAITING_PAYMENT,
                to=OrderStatus.CANCELLED,
                actor=None,
                note=f"{label} payment not made ({source})",
                finished_at=now,
            )
        payment.refresh_from_db()
        return payment


def payment_expire_unpaid(*, older_than_minutes: int, limit: int = 100) -> int:
    """Asks the gateway about charges still pending after the timeout: paid ones are
    settled as paid, the rest cancelled. Returns how many were settled."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    due = list(
        Payment.objects.filter(kind=PaymentKind.CHARGE, status=PaymentStatus.PENDING, created_at__lt=cutoff)
        .exclude(provider_token="")
        .order_by("created_at")[:limit]
    )
    gateway = gateways.get_gateway()
    if gateway is None:
        # Nobody can say whether they were paid: they wait for their gateway to be configured again.
        return 0
    for payment in due:
        paid = gateway.query_status(payment) == "paid"
        payment_settle(
            token=payment.provider_token,
            paid=paid,
            amount=payment.amount,
            source="found paid by the expiry sweep" if paid else f"expired after {older_than_minutes} minutes",
        )
    return len(due)


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Cancels a pending order and refunds it in full. Callers check who may cancel."""
    order = _transition(
        order,
        expected=OrderStatus.PENDING,
        to=OrderStatus.CANCELLED,
        actor=actor,
        note=note or "Cancelled",
        finished_at=timezone.now(),
    )
    _refund(order, actor=actor, memo=f"Refund of cancelled order {order.order_no}")
    return order
