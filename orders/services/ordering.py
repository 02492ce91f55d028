"""Placing and cancelling orders, and settling what a gateway says of their payment.

An order is placed one way, whatever pays for it: the checks, the customer's lock,
the idempotent replay, the order. Paid from the balance, it is charged and queued
(`pending`) in that same transaction. Paid by card or ATM, it is committed waiting
for the gateway (`awaiting_payment`) with a pending charge, and only then is the
gateway asked to start the payment: outside any transaction and row lock, so a slow
provider holds up no other write on the customer, and nothing the provider did can
be rolled back behind its back.

That leaves a window between the commit and the gateway's answer:
- the gateway raises (refused, down, timed out): the order is cancelled and its
  charge failed at once, and `order_place` raises PaymentNotStarted;
- the process dies during the call, or the answer is lost: the order is left
  awaiting payment with a charge that has no provider token. No callback can find
  it, and the customer was never shown where to pay. `payment_expire_unpaid` settles
  it once the payment timeout has passed: paid if the gateway can tell it was,
  cancelled otherwise. Whatever the provider may have opened on its side is
  abandoned.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.audit import AuditAction, audit_record
from orders import gateways
from orders.errors import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidAmount,
    InvalidRequest,
    PaymentNotStarted,
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

logger = logging.getLogger(__name__)

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
    again_of: Order | None = None,
) -> Order:
    """Places an order, or writes nothing. `again_of` is the order it repeats (a
    re-order), whose audit trail records it with the new order.

    Paid from the balance, the order is charged and queued as pending. By card or
    ATM nothing is charged: the order waits for the gateway (`awaiting_payment`) with
    a pending charge, which gets the gateway's token and pay URL (or ATM account);
    `payment_settle` takes it from there. If the gateway cannot start the payment, the
    order is cancelled and PaymentNotStarted raised.

    Call it outside a transaction: the gateway is asked once the order is committed.
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
        if again_of is not None:
            audit_record(
                actor=actor, action=AuditAction.ORDER_REORDERED, target=again_of, detail=f"As {order.order_no}."
            )
    if gateway is None:
        return order
    return _payment_start(
        order,
        charge,
        gateway=gateway,
        callback_url=callback_url,
        return_url=return_url.replace("ORDER_NO", order.order_no),
    )


def _gateway_taking(method: str) -> Gateway:
    gateway = gateways.get_gateway()
    if gateway is None or method not in gateway.methods:
        raise InvalidRequest("This payment method is not available; pay from your balance.")
    return gateway


def _payment_start(order: Order, charge: Payment, *, gateway: Gateway, callback_url: str, return_url: str) -> Order:
    """Asks the gateway for the committed pending charge's token and pay URL, and
    keeps them; or cancels the order if it cannot start the payment."""
    try:
        token, pay_url = gateway.create_payment(charge, callback_url=callback_url, return_url=return_url)
    except Exception as error:  # whatever the provider's client raises, the payment did not start
        logger.warning("payment %s could not be started by %s: %r", charge.payment_no, gateway.label, error)
        label = PaymentMethod(charge.method).label
        _settle_tokenless(charge, paid=False, note=f"{label} payment could not be started by {gateway.label}")
        raise _not_started(order, charge) from error
    started = Payment.objects.filter(pk=charge.pk, status=PaymentStatus.PENDING, provider_token="").update(
        provider_token=token, pay_url=pay_url
    )
    if not started:
        # The expiry sweep gave up on it while the gateway took its time; the provider's payment is abandoned.
        logger.warning("payment %s was started by %s after it had expired", charge.payment_no, gateway.label)
        raise _not_started(order, charge)
    return order


def _not_started(order: Order, charge: Payment) -> PaymentNotStarted:
    order.refresh_from_db()
    return PaymentNotStarted(
        f"The {_paying_by(charge.method)} could not be started, so order {order.order_no} was cancelled; "
        "nothing was charged. Try again, or pay from your balance.",
        order=order,
    )


def _paying_by(method: str) -> str:
    return "card payment" if method == PaymentMethod.CARD else "ATM transfer"


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, note: str = "") -> Order:
    """Cancels a pending order and refunds it in full. Callers check who may cancel."""
    return _end_with_refund(
        order,
        expected=OrderStatus.PENDING,
        to=OrderStatus.CANCELLED,
        actor=actor,
        note=note or "Cancelled",
        memo=f"Refund of cancelled order {order.order_no}",
        audit=AuditAction.ORDER_CANCELLED,
        detail=note,
        finished_at=timezone.now(),
    )


def _end_with_refund(
    order: Order, *, expected: str, to: str, actor: Actor, note: str, memo: str, audit: str, detail: str, **changes
) -> Order:
    """Moves a locked order to a final status, refunds its charge, and audits the move."""
    order = _transition(order, expected=expected, to=to, actor=actor, note=note, **changes)
    _refund(order, actor=actor, memo=memo)
    audit_record(actor=actor, action=audit, target=order, changes={"status": [expected, to]}, detail=detail)
    return order


# What an admin writes as the reason for a refund: kept on the order's timeline event.
REFUND_REASON_MAX = 300


@transaction.atomic
def order_refund(*, order: Order, actor: Actor, reason: str) -> Order:
    """Refunds a completed order in full to the customer's balance (store credit, also
    for a card or ATM payment), once: the order becomes `refunded`, which is final.
    Callers check who may refund."""
    _check_text(reason, field="reason", max_length=REFUND_REASON_MAX, required=True)
    reason = reason.strip()
    return _end_with_refund(
        order,
        expected=OrderStatus.COMPLETED,
        to=OrderStatus.REFUNDED,
        actor=actor,
        note=f"Refunded: {reason}",
        memo=f"Refund of order {order.order_no}: {reason}",
        audit=AuditAction.ORDER_REFUNDED,
        detail=reason,
    )


REORDERABLE_STATUSES = (OrderStatus.FAILED, OrderStatus.REFUNDED)


def order_reorder(*, order: Order, actor: Actor, idempotency_key: str) -> Order:
    """Places the same product, quantity and target again for the order's customer, at
    today's price, charged to their balance (refused as usual when it is short). Only
    from a failed or refunded order; the new order's memo names the one it repeats."""
    # The caller's copy may predate a refund.
    order = Order.objects.select_related("customer", "product").get(pk=order.pk)
    if order.status not in REORDERABLE_STATUSES:
        raise IllegalTransition(
            f"Order {order.order_no} is {order.get_status_display().lower()}; "
            "only a failed or refunded order can be placed again."
        )
    return order_place(
        customer=order.customer,
        product=order.product,
        quantity=order.quantity,
        target=order.target,
        memo=f"Re-order of {order.order_no}",
        idempotency_key=idempotency_key,
        actor=actor,
        again_of=order,
    )


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
        label = PaymentMethod(payment.method).label
        note = f"{label} payment received ({source})" if paid else f"{label} payment not made ({source})"
        return _settle(payment, paid=paid, note=note)


def payment_expire_unpaid(*, older_than_minutes: int, limit: int = 100) -> int:
    """Settles charges still pending after the timeout, as the gateway knows them:
    paid ones are queued, the rest cancelled. Returns how many were settled.

    A charge without a provider token is one whose gateway call never answered (see
    the module's docstring). It is cancelled unless the gateway can tell it was paid:
    a provider that finds payments by our payment number may; one that cannot, or
    whose query fails, has nothing to say of it. With no gateway configured, charges
    with a token wait for it to come back; those without one are cancelled.
    """
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    gateway = gateways.get_gateway()
    due = Payment.objects.filter(kind=PaymentKind.CHARGE, status=PaymentStatus.PENDING, created_at__lt=cutoff)
    if gateway is None:
        due = due.filter(provider_token="")
    due = list(due.order_by("created_at")[:limit])
    for payment in due:
        if payment.provider_token:
            paid = gateway.query_status(payment) == "paid"
            payment_settle(
                token=payment.provider_token,
                paid=paid,
                amount=payment.amount,
                source="found paid by the expiry sweep" if paid else f"expired after {older_than_minutes} minutes",
            )
            continue
        paid = gateway is not None and _found_paid(gateway, payment)
        label = PaymentMethod(payment.method).label
        _settle_tokenless(
            payment,
            paid=paid,
            note=f"{label} payment received (found paid by the expiry sweep)"
            if paid
            else f"{label} payment not made (the gateway never confirmed it was started; "
            f"expired after {older_than_minutes} minutes)",
        )
    return len(due)


def _found_paid(gateway: Gateway, payment: Payment) -> bool:
    try:
        return gateway.query_status(payment) == "paid"
    except Exception as error:  # a provider that only knows tokens may refuse the question
        logger.warning(
            "gateway %s cannot tell about tokenless payment %s: %r", gateway.label, payment.payment_no, error
        )
        return False


def _settle_tokenless(payment: Payment, *, paid: bool, note: str) -> None:
    """Settles a charge the gateway never gave a token, unless it got one or was
    settled meanwhile (the placing request and the expiry sweep may race)."""
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update()
            .filter(pk=payment.pk, status=PaymentStatus.PENDING, provider_token="")
            .first()
        )
        if locked is not None:
            _settle(locked, paid=paid, note=note)


def _settle(payment: Payment, *, paid: bool, note: str) -> Payment:
    """Moves a locked pending charge and then its order: paid → the order is queued, not → cancelled."""
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    now = timezone.now()
    if paid:
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED, updated_at=now)
        _transition(order, expected=OrderStatus.AWAITING_PAYMENT, to=OrderStatus.PENDING, actor=None, note=note)
    else:
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED, updated_at=now)
        _transition(
            order,
            expected=OrderStatus.AWAITING_PAYMENT,
            to=OrderStatus.CANCELLED,
            actor=None,
            note=note,
            finished_at=now,
        )
    payment.refresh_from_db()
    return payment
