"""Every write of the domain, and the only place a balance changes.

Each service is atomic. Concurrency rests on two mechanisms that hold on both
databases:
- row locks (`select_for_update`) on PostgreSQL, always taken in the same order,
  order before customer, so two services never wait on each other in a cycle;
- conditional updates (`UPDATE … WHERE status = <expected>`, `WHERE balance >= x`),
  which stay correct where locks are no-ops: SQLite serializes writers through
  IMMEDIATE transactions, and the condition refuses whatever the lock missed.

Idempotency (SPEC I7): a key seen before with the same parameters returns the first
result and writes nothing; with other parameters it raises IdempotencyConflict.
Keys are checked after the customer's row is locked, so concurrent repeats of one
key are serialized and only the first one writes.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.accounts import services as accounts
from dashboard.accounts.roles import CUSTOMER_GROUP
from orders import gateways
from orders.errors import (
    ConcurrentUpdate,
    IdempotencyConflict,
    IllegalTransition,
    InsufficientBalance,
    InUse,
    InvalidAmount,
    InvalidRequest,
    ProductUnavailable,
    QuantityBelowMinimum,
)
from orders.models import (
    Agent,
    Customer,
    LedgerEntry,
    LedgerKind,
    Level,
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
from orders.money import MAX_MONEY, order_amount, round_money
from orders.references import new_entry_no, new_order_no, new_payment_no

Actor = AbstractBaseUser | None

# What the columns hold; a value beyond them is refused here with a clear error
# rather than by the database (PostgreSQL raises, SQLite would store it).
MAX_QUANTITY = 2_147_483_647
IDEMPOTENCY_KEY_MAX = Order._meta.get_field("idempotency_key").max_length


def _check_text(value: str, *, field: str, max_length: int, required: bool = False) -> None:
    if required and not value.strip():
        raise InvalidRequest(f"The {field} is required.")
    if len(value) > max_length:
        raise InvalidRequest(f"The {field} is too long: at most {max_length} characters.")


def _check_idempotency_key(idempotency_key: str) -> None:
    _check_text(idempotency_key, field="idempotency key", max_length=IDEMPOTENCY_KEY_MAX, required=True)


# --- customers -------------------------------------------------------------------


@transaction.atomic
def customer_create(
    *,
    username: str,
    password: str | None,
    name: str,
    mobile: str,
    level: Level,
    created_by: Actor = None,
) -> Customer:
    """A user in the `customer` group and their profile. No password: unusable until set."""
    user = get_user_model().objects.create_user(username=username, password=password)
    user.groups.add(Group.objects.get(name=CUSTOMER_GROUP))
    return Customer.objects.create(user=user, name=name, mobile=mobile, level=level, created_by=created_by)


@transaction.atomic
def customer_change_level(*, customer: Customer, level: Level) -> Customer:
    """Changes what the customer pays from now on; orders already placed keep their price."""
    Customer.objects.filter(pk=customer.pk).update(level=level)
    customer.level = level
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, name: str, mobile: str, level: Level, active: bool, actor: Actor
) -> Customer:
    """Name, mobile and level; and deactivation, which also ends the customer's sessions."""
    Customer.objects.filter(pk=customer.pk).update(name=name, mobile=mobile, level=level)
    customer.name, customer.mobile, customer.level = name, mobile, level
    if active and not customer.user.is_active:
        accounts.user_activate(user=customer.user, actor=actor)
    elif not active and customer.user.is_active:
        accounts.user_deactivate(user=customer.user, actor=actor)
    return customer


# --- levels and products ---------------------------------------------------------


@transaction.atomic
def level_save(*, level: Level | None = None, name: str, percent: int) -> Level:
    level = level or Level()
    level.name, level.percent = name, percent
    level.save()
    return level


@transaction.atomic
def level_delete(*, level: Level) -> None:
    """Only a level nobody is on: customers keep their level (PROTECT)."""
    if (count := level.customers.count()) > 0:
        raise InUse(f"{level.name} cannot be deleted: {count:,} customer{'s' if count != 1 else ''} are on it.")
    level.delete()


@transaction.atomic
def product_save(
    *, product: Product | None = None, name: str, description: str, active: bool, tiers: list[tuple[int, Decimal]]
) -> Product:
    """The product with exactly `tiers` (min quantity, unit price). Orders keep the
    price they were placed at, so tiers can be replaced freely."""
    if not tiers:
        raise InvalidRequest("A product needs at least one price tier.")
    if len({minimum for minimum, _ in tiers}) != len(tiers):
        raise InvalidRequest("Two price tiers start at the same quantity.")
    product = product or Product()
    product.name, product.description, product.active = name, description, active
    product.save()
    product.tiers.all().delete()
    PriceTier.objects.bulk_create(
        PriceTier(product=product, min_quantity=minimum, unit_price=price) for minimum, price in sorted(tiers)
    )
    return product


@transaction.atomic
def product_set_active(*, product: Product, active: bool) -> Product:
    Product.objects.filter(pk=product.pk).update(active=active)
    product.active = active
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Only a product never ordered; one with orders can only be deactivated."""
    if product.orders.exists():
        raise InUse(f"{product.name} has orders, so it can only be deactivated.")
    product.delete()


# --- balances --------------------------------------------------------------------


def _lock_customer(customer_id: int) -> Customer:
    return Customer.objects.select_for_update(of=("self",)).select_related("level").get(pk=customer_id)


def _move_balance(customer: Customer, delta: Decimal) -> Decimal:
    """Adds `delta` (signed) to a locked customer's balance and returns the new balance.

    The sum is computed here, in Decimal, and written with a compare-and-set
    (`WHERE balance = <the balance read under the lock>`): SQLite would evaluate
    `balance + delta` in floating point, and the condition keeps the write correct
    even where the lock is a no-op. The CHECK constraint is the last line behind it.
    """
    new_balance = customer.balance + delta
    if new_balance < 0:
        raise InsufficientBalance
    if new_balance > MAX_MONEY:
        raise InvalidAmount(f"The balance cannot exceed {MAX_MONEY}.")
    swapped = Customer.objects.filter(pk=customer.pk, balance=customer.balance).update(balance=new_balance)
    if swapped != 1:
        raise ConcurrentUpdate
    customer.balance = new_balance
    return new_balance


def _write_ledger(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    actor: Actor,
    memo: str = "",
    order: Order | None = None,
) -> LedgerEntry:
    balance_after = _move_balance(customer, amount)
    return LedgerEntry.objects.create(
        entry_no=new_entry_no(),
        customer=customer,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        order=order,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
    )


def _positive_money(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount
    rounded = round_money(amount)
    if rounded != amount or not 0 < rounded <= MAX_MONEY:
        raise InvalidAmount(f"Enter an amount between 0.01 and {MAX_MONEY} with at most two decimal places.")
    return rounded


def _balance_change(
    *,
    kind: str,
    customer: Customer,
    amount: Decimal,
    memo: str,
    idempotency_key: str,
    actor: Actor,
) -> LedgerEntry:
    amount = _positive_money(amount)
    _check_idempotency_key(idempotency_key)
    _check_text(memo, field="memo", max_length=LedgerEntry._meta.get_field("memo").max_length)
    signed = amount if kind == LedgerKind.TOP_UP else -amount
    # Keys are scoped to the customer: another customer's key never collides.
    key = f"balance:{customer.pk}:{idempotency_key}"
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        previous = LedgerEntry.objects.filter(idempotency_key=key).first()
        if previous is not None:
            if (previous.kind, previous.amount, previous.memo) != (kind, signed, memo):
                raise IdempotencyConflict
            return previous
        return _write_ledger(customer=locked, kind=kind, amount=signed, idempotency_key=key, actor=actor, memo=memo)


def balance_top_up(
    *, customer: Customer, amount: Decimal, memo: str = "", idempotency_key: str, actor: Actor
) -> LedgerEntry:
    return _balance_change(
        kind=LedgerKind.TOP_UP,
        customer=customer,
        amount=amount,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
    )


def balance_deduct(
    *, customer: Customer, amount: Decimal, memo: str = "", idempotency_key: str, actor: Actor
) -> LedgerEntry:
    """Refused with InsufficientBalance, writing nothing, if the balance is short."""
    return _balance_change(
        kind=LedgerKind.DEDUCT,
        customer=customer,
        amount=amount,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
    )


# --- orders ----------------------------------------------------------------------


def order_quote(*, customer: Customer, product: Product, quantity: int) -> tuple[PriceTier, Decimal]:
    """The tier that prices `quantity` units, and what the customer would pay (I6)."""
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
    if tier.unit_price * quantity > MAX_MONEY:
        raise InvalidAmount("This order is too large; order a smaller quantity.")
    amount = order_amount(unit_price=tier.unit_price, quantity=quantity, percent=customer.level.percent)
    if amount <= 0:
        raise InvalidAmount("This order's amount rounds to zero; order a larger quantity.")
    return tier, amount


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
    """Charges the balance and queues the order as pending, or writes nothing.

    With `method` card or ATM nothing is charged: the order waits for the gateway
    (`awaiting_payment`) with a pending charge payment carrying the gateway's token
    and pay URL (or ATM account); `payment_settle` takes it from there.
    """
    if method != PaymentMethod.BALANCE:
        return _order_place_through_gateway(
            customer=customer,
            product=product,
            quantity=quantity,
            target=target,
            memo=memo,
            idempotency_key=idempotency_key,
            actor=actor,
            method=method,
            callback_url=callback_url,
            return_url=return_url,
        )
    _check_idempotency_key(idempotency_key)
    _check_text(target, field="target", max_length=Order._meta.get_field("target").max_length, required=True)
    _check_text(memo, field="memo", max_length=Order._meta.get_field("memo").max_length)
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        previous = Order.objects.filter(customer=locked, idempotency_key=idempotency_key).first()
        if previous is not None:
            same = (previous.product_id, previous.quantity, previous.target, previous.memo)
            paid_from_balance = previous.payments.filter(kind=PaymentKind.CHARGE, method=PaymentMethod.BALANCE).exists()
            if same != (product.pk, quantity, target, memo) or not paid_from_balance:
                raise IdempotencyConflict
            return previous
        # The caller's copy may predate a deactivation.
        product = Product.objects.get(pk=product.pk)
        tier, amount = order_quote(customer=locked, product=product, quantity=quantity)
        balance_after = _move_balance(locked, -amount)
        order = Order.objects.create(
            order_no=new_order_no(),
            customer=locked,
            product=product,
            quantity=quantity,
            target=target,
            memo=memo,
            unit_price=tier.unit_price,
            list_amount=tier.unit_price * quantity,
            percent=locked.level.percent,
            amount=amount,
            status=OrderStatus.PENDING,
            idempotency_key=idempotency_key,
        )
        Payment.objects.create(
            payment_no=new_payment_no(),
            order=order,
            method=PaymentMethod.BALANCE,
            kind=PaymentKind.CHARGE,
            status=PaymentStatus.SUCCEEDED,
            amount=amount,
        )
        LedgerEntry.objects.create(
            entry_no=new_entry_no(),
            customer=locked,
            kind=LedgerKind.CHARGE,
            amount=-amount,
            balance_after=balance_after,
            order=order,
            actor=actor,
            idempotency_key=f"order:{order.order_no}:charge",
        )
        OrderEvent.objects.create(
            order=order, from_status="", to_status=OrderStatus.PENDING, actor=actor, note="Placed"
        )
        return order


def _order_place_through_gateway(
    *, customer, product, quantity, target, memo, idempotency_key, actor, method, callback_url, return_url
) -> Order:
    _check_idempotency_key(idempotency_key)
    _check_text(target, field="target", max_length=Order._meta.get_field("target").max_length, required=True)
    _check_text(memo, field="memo", max_length=Order._meta.get_field("memo").max_length)
    with transaction.atomic():
        locked = _lock_customer(customer.pk)
        previous = Order.objects.filter(customer=locked, idempotency_key=idempotency_key).first()
        if previous is not None:
            payment = previous.payments.filter(kind=PaymentKind.CHARGE).first()
            same = (previous.product_id, previous.quantity, previous.target, previous.memo, payment and payment.method)
            if same != (product.pk, quantity, target, memo, method):
                raise IdempotencyConflict
            return previous
        # After the replay: an order placed before its gateway was switched off is still its key's answer.
        gateway = gateways.get_gateway()
        if gateway is None or method not in gateway.methods:
            raise InvalidRequest("This payment method is not available; pay from your balance.")
        product = Product.objects.get(pk=product.pk)
        tier, amount = order_quote(customer=locked, product=product, quantity=quantity)
        order = Order.objects.create(
            order_no=new_order_no(),
            customer=locked,
            product=product,
            quantity=quantity,
            target=target,
            memo=memo,
            unit_price=tier.unit_price,
            list_amount=tier.unit_price * quantity,
            percent=locked.level.percent,
            amount=amount,
            status=OrderStatus.AWAITING_PAYMENT,
            idempotency_key=idempotency_key,
        )
        payment = Payment.objects.create(
            payment_no=new_payment_no(),
            order=order,
            method=method,
            kind=PaymentKind.CHARGE,
            status=PaymentStatus.PENDING,
            amount=amount,
        )
        return_url = return_url.replace("ORDER_NO", order.order_no)
        token, pay_url = gateway.create_payment(payment, callback_url=callback_url, return_url=return_url)
        Payment.objects.filter(pk=payment.pk).update(provider_token=token, pay_url=pay_url)
        OrderEvent.objects.create(
            order=order,
            from_status="",
            to_status=OrderStatus.AWAITING_PAYMENT,
            actor=actor,
            note="Placed; awaiting " + ("the card payment" if method == PaymentMethod.CARD else "the ATM transfer"),
        )
        return order


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


def _transition(
    order: Order,
    *,
    expected: str,
    to: str,
    actor: Actor,
    note: str = "",
    worker_id: str | None = None,
    **changes,
) -> Order:
    """Moves a locked order from `expected` to `to` with a conditional update and an event.

    The status is read again under the lock: the caller's copy may be stale. With
    `worker_id`, only the agent that holds the order's claim may move it.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if (
        locked.status != expected
        or not locked.can_transition_to(to)
        or (worker_id is not None and locked.claimed_by != worker_id)
    ):
        raise IllegalTransition(
            f"Order {locked.order_no} is {locked.get_status_display().lower()}; it cannot become {to}."
        )
    guard = Order.objects.filter(pk=locked.pk, status=locked.status)
    if worker_id is not None:
        guard = guard.filter(claimed_by=worker_id)
    if guard.update(status=to, updated_at=timezone.now(), **changes) != 1:
        raise IllegalTransition(f"Order {locked.order_no} changed meanwhile; try again.")
    OrderEvent.objects.create(order=locked, from_status=locked.status, to_status=to, actor=actor, note=note[:500])
    locked.refresh_from_db()
    return locked


def _refund(order: Order, *, actor: Actor, memo: str) -> None:
    """Returns an order's charge to the customer's balance (store credit), once (I3)."""
    charge = Payment.objects.filter(order=order, kind=PaymentKind.CHARGE, status=PaymentStatus.SUCCEEDED).first()
    if charge is None:
        return
    customer = _lock_customer(order.customer_id)
    Payment.objects.create(
        payment_no=new_payment_no(),
        order=order,
        method=PaymentMethod.BALANCE,
        kind=PaymentKind.REFUND,
        status=PaymentStatus.SUCCEEDED,
        amount=charge.amount,
    )
    _write_ledger(
        customer=customer,
        kind=LedgerKind.REFUND,
        amount=charge.amount,
        idempotency_key=f"order:{order.order_no}:refund",
        actor=actor,
        memo=memo,
        order=order,
    )


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


# --- the agent's transitions -----------------------------------------------------


@transaction.atomic
def order_claim(*, worker_id: str, lease_seconds: int, limit: int = 1) -> list[Order]:
    """Claims up to `limit` of the oldest pending orders for `worker_id`.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets any number of agents claim side by
    side without waiting on each other; the conditional update keeps SQLite (and any
    database without SKIP LOCKED) correct.
    """
    now = timezone.now()
    queue = (
        Order.objects.filter(status=OrderStatus.PENDING)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("created_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        queue = queue.select_for_update(skip_locked=True)
    candidates = list(queue.values_list("pk", flat=True)[:limit])
    if not candidates:
        return []
    lease = now + timedelta(seconds=lease_seconds)
    Order.objects.filter(pk__in=candidates, status=OrderStatus.PENDING).update(
        status=OrderStatus.RUNNING,
        claimed_by=worker_id,
        lease_expires_at=lease,
        attempts=F("attempts") + 1,
        retry_at=None,
        started_at=Coalesce("started_at", now),
        updated_at=now,
    )
    claimed = list(
        Order.objects.filter(
            pk__in=candidates, status=OrderStatus.RUNNING, claimed_by=worker_id, lease_expires_at=lease
        )
        .select_related("product")
        .order_by("created_at", "id")
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            from_status=OrderStatus.PENDING,
            to_status=OrderStatus.RUNNING,
            note=f"Claimed by {worker_id} (attempt {order.attempts})",
        )
        for order in claimed
    )
    return claimed


def order_complete(*, order: Order, worker_id: str, note: str = "") -> Order:
    if not order_complete_many(orders=[order], worker_id=worker_id, note=note):
        raise IllegalTransition(f"Order {order.order_no} is not running for {worker_id}; it cannot be completed.")
    order.refresh_from_db()
    return order


@transaction.atomic
def order_complete_many(*, orders: list[Order], worker_id: str, note: str = "") -> set[int]:
    """Completes the orders `worker_id` still holds, in one transaction; returns their ids.

    An order missing from the answer was taken away (its lease expired, or it was
    released): its result is not reported. The agent completes what its workers
    finished since it last looked, so a zero-time executor costs one transaction per
    batch rather than one per order.
    """
    held = list(
        Order.objects.select_for_update()
        .filter(pk__in=[order.pk for order in orders], status=OrderStatus.RUNNING, claimed_by=worker_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not held:
        return set()
    now = timezone.now()
    Order.objects.filter(pk__in=held).update(
        status=OrderStatus.COMPLETED, updated_at=now, finished_at=now, lease_expires_at=None
    )
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=pk,
            from_status=OrderStatus.RUNNING,
            to_status=OrderStatus.COMPLETED,
            at=now,
            note=(note or f"Completed by {worker_id}")[:500],
        )
        for pk in held
    )
    return set(held)


@transaction.atomic
def order_fail(*, order: Order, worker_id: str, error: str) -> Order:
    """Fails a running order for good and refunds it."""
    order = _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.FAILED,
        actor=None,
        worker_id=worker_id,
        note=f"Failed on {worker_id}: {error}",
        last_error=error,
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    _refund(order, actor=None, memo=f"Refund of failed order {order.order_no}")
    return order


@transaction.atomic
def order_release(*, order: Order, worker_id: str, error: str = "") -> Order:
    """Puts a running order back in the queue, for a retry or because its agent stops."""
    return _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.PENDING,
        actor=None,
        worker_id=worker_id,
        note=f"Released by {worker_id}" + (f": {error}" if error else ""),
        last_error=error,
        claimed_by="",
        lease_expires_at=None,
    )


@transaction.atomic
def order_retry(*, order: Order, worker_id: str, error: str, delay_seconds: float) -> Order:
    """Puts a failed attempt back in the queue, not to be claimed for `delay_seconds`."""
    return _transition(
        order,
        expected=OrderStatus.RUNNING,
        to=OrderStatus.PENDING,
        actor=None,
        worker_id=worker_id,
        note=f"Attempt {order.attempts} failed on {worker_id}: {error}; retry in {delay_seconds:.0f} s",
        last_error=error,
        claimed_by="",
        lease_expires_at=None,
        retry_at=timezone.now() + timedelta(seconds=delay_seconds),
    )


def order_renew_leases(*, worker_id: str, order_ids: list[int], lease_seconds: int) -> set[int]:
    """Extends the leases `worker_id` still holds; returns the ids it still holds.

    An order missing from the answer was taken away (its lease expired and the sweep
    returned it to the queue): its result must not be reported.
    """
    lease = timezone.now() + timedelta(seconds=lease_seconds)
    held = Order.objects.filter(pk__in=order_ids, status=OrderStatus.RUNNING, claimed_by=worker_id)
    held.update(lease_expires_at=lease)
    return set(held.values_list("pk", flat=True))


def order_expire_leases(*, max_attempts: int, limit: int = 100) -> int:
    """Running orders whose lease ran out (their agent died): back to the queue, or
    failed and refunded once their attempts are used up. Returns how many."""
    now = timezone.now()
    expired = 0
    with transaction.atomic():
        stale = Order.objects.filter(status=OrderStatus.RUNNING, lease_expires_at__lt=now).order_by("lease_expires_at")
        if connection.features.has_select_for_update_skip_locked:
            stale = stale.select_for_update(skip_locked=True)
        for order in list(stale[:limit]):
            worker = order.claimed_by
            error = f"The lease of {worker} expired (the agent stopped answering)"
            if order.attempts >= max_attempts:
                order_fail(order=order, worker_id=worker, error=error)
            else:
                _transition(
                    order,
                    expected=OrderStatus.RUNNING,
                    to=OrderStatus.PENDING,
                    actor=None,
                    worker_id=worker,
                    note=f"{error}; back in the queue",
                    last_error=error,
                    claimed_by="",
                    lease_expires_at=None,
                )
            expired += 1
    return expired


# --- agents ------------------------------------------------------------------------


def agent_start(*, worker_id: str, host: str, pid: int, executor: str, concurrency: int) -> Agent:
    return Agent.objects.create(worker_id=worker_id, host=host, pid=pid, executor=executor, concurrency=concurrency)


def agent_heartbeat(*, worker_id: str, completed: int = 0, failed: int = 0, retried: int = 0) -> None:
    Agent.objects.filter(worker_id=worker_id).update(
        last_heartbeat=timezone.now(),
        completed=F("completed") + completed,
        failed=F("failed") + failed,
        retried=F("retried") + retried,
    )


def agent_stop(*, worker_id: str) -> None:
    now = timezone.now()
    Agent.objects.filter(worker_id=worker_id).update(last_heartbeat=now, stopped_at=now)
