"""Money services under random sequences of steps (docs/invariants.md).

A hypothesis state machine tops up and deducts balances, places and cancels orders,
runs the agent's claim / complete / fail / release, changes customer levels and
replays idempotency keys, in random order. A plain Python model predicts every
outcome. After each step the database must match the model and the global invariants
I1–I6 must hold; every refused step must have written nothing; I7 is asserted by the
replay rules themselves.

Each example runs inside its own savepoint, rolled back at teardown, so every example
starts from a clean database on SQLite and PostgreSQL alike.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial

import pytest
from django.db import transaction
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from orders import services
from orders.errors import (
    IdempotencyConflict,
    IllegalTransition,
    InsufficientBalance,
    InvalidAmount,
    QuantityBelowMinimum,
)
from orders.models import (
    FINAL_STATUSES,
    Customer,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
)
from orders.money import CENT, order_amount
from orders.tests.conftest import assert_invariants
from orders.tests.factories import key, make_admin, make_customer, make_level, make_product

# --- the shop every example sets up ---------------------------------------------

CUSTOMER_COUNT = 3
# (min_quantity, unit_price) per product, smallest tier first. Together they reach
# tier boundaries, a minimum above 1, and a penny price whose charge rounds to zero
# (or half up to one cent) at low level percents.
PRODUCT_TIERS: tuple[tuple[tuple[int, Decimal], ...], ...] = (
    ((1, Decimal("10.00")), (10, Decimal("8.00")), (100, Decimal("7.50"))),
    ((5, Decimal("0.35")), (20, Decimal("0.30"))),
    ((1, Decimal("0.01")),),
)
WORKERS = ("agent-1", "agent-2")
TARGET = "https://example.com/target"
BALANCE_SERVICES = {
    LedgerKind.TOP_UP: services.balance_top_up,
    LedgerKind.DEDUCT: services.balance_deduct,
}
AGENT_MOVES: dict[str, tuple[Callable[..., Order], str]] = {
    "complete": (services.order_complete, OrderStatus.COMPLETED),
    "fail": (partial(services.order_fail, error="target unreachable"), OrderStatus.FAILED),
    "release": (partial(services.order_release, error="lease lost"), OrderStatus.PENDING),
}


@dataclass(frozen=True)
class OrderDraft:
    customer: int
    product: int
    quantity: int
    memo: str


# --- strategies ---------------------------------------------------------------------

customers = st.sampled_from(range(CUSTOMER_COUNT))
products = st.sampled_from(range(len(PRODUCT_TIERS)))
# Tier boundaries and the quantities just below them are where pricing goes wrong.
quantities = st.one_of(
    st.sampled_from([-1, 0, 1, 4, 5, 9, 10, 19, 20, 49, 50, 99, 100]),
    st.integers(min_value=1, max_value=30),
)
memos = st.sampled_from(["", "rush"])
order_drafts = st.builds(OrderDraft, customer=customers, product=products, quantity=quantities, memo=memos)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=2)
percents = st.one_of(st.sampled_from([1, 33, 85, 90, 100]), st.integers(min_value=1, max_value=100))
# Hypothesis favours small numbers, which would leave most customers unable to order.
starting_balances = st.decimals(min_value=Decimal("100"), max_value=Decimal("5000"), places=2)


# --- the model ----------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceRequest:
    customer: int
    kind: str
    amount: Decimal
    memo: str
    idempotency_key: str
    entry_pk: int


@dataclass(frozen=True)
class OrderRequest:
    customer: int
    product: int
    quantity: int
    target: str
    memo: str
    idempotency_key: str


@dataclass
class ExpectedOrder:
    request: OrderRequest
    amount: Decimal
    # The instance order_place returned, passed to later services on purpose while it
    # is stale: they must read the status again under the lock.
    placed: Order
    status: str = OrderStatus.PENDING
    worker: str = ""
    attempts: int = 0


def tier_price(product: int, quantity: int) -> Decimal | None:
    eligible = [price for minimum, price in PRODUCT_TIERS[product] if minimum <= quantity]
    return eligible[-1] if eligible else None


def charge_oracle(unit_price: Decimal, quantity: int, percent: int) -> Decimal:
    """I6 in integer hundredths of a cent, rounded half up: independent of orders.money."""
    hundredths_of_cents = int(unit_price * 100) * quantity * percent
    return Decimal((hundredths_of_cents + 50) // 100) / 100


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row the money services write; bar the trigger catalog (I4), all the checks read."""
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in (Customer, Order, Payment, LedgerEntry, OrderEvent)
    }


def has_running_order(machine: "MoneyMachine") -> bool:
    return any(order.status == OrderStatus.RUNNING for order in machine.expected.values())


# --- the machine --------------------------------------------------------------------


class MoneyMachine(RuleBasedStateMachine):
    balance_requests = Bundle("balance_requests")
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.balances: list[Decimal] = []
        self.customer_levels: list[int] = []
        self.expected: dict[int, ExpectedOrder] = {}
        self.final_rows: dict[int, dict] = {}
        self.ledger_rows = 0
        self.payments = 0
        self.events = 0
        self.last_checked: dict[str, list[tuple]] | None = None

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    @initialize(
        target=orders,
        level_percents=st.lists(percents, min_size=CUSTOMER_COUNT, max_size=CUSTOMER_COUNT, unique=True),
        funded=st.lists(starting_balances, min_size=CUSTOMER_COUNT - 1, max_size=CUSTOMER_COUNT - 1),
        first_orders=st.lists(order_drafts, max_size=4),
        first_claims=st.lists(st.sampled_from(WORKERS), max_size=2),
    )
    def set_up(
        self,
        level_percents: list[int],
        funded: list[Decimal],
        first_orders: list[OrderDraft],
        first_claims: list[str],
    ):
        self.admin = make_admin()
        self.levels = [make_level(percent=percent) for percent in level_percents]
        self.products = [make_product(tiers=tiers) for tiers in PRODUCT_TIERS]
        # The first customer starts empty, so their orders are refused until a top-up.
        self.balances = [Decimal("0"), *funded]
        self.customers = [make_customer(balance, level=level) for balance, level in zip(self.balances, self.levels)]
        self.customer_levels = list(range(CUSTOMER_COUNT))
        self.ledger_rows = len(funded)
        # Swarm testing switches random rules off in each example; orders (some of them
        # already running) from the start leave the order and agent rules something to
        # act on whichever rules stay on.
        placed = [pk for draft in first_orders for pk in self._place_order(draft)]
        for worker in first_claims:
            self._claim(worker, limit=1)
        return multiple(*placed)

    # --- helpers: each call checks the service's answer and updates the model ------

    @contextmanager
    def _writes_nothing(self) -> Iterator[None]:
        before = database_snapshot()
        yield
        assert database_snapshot() == before

    def _refused(self, error: type[Exception], call: Callable[[], object]) -> None:
        with self._writes_nothing(), pytest.raises(error):
            call()

    def _move(self, pk: int, status: str) -> None:
        self.expected[pk].status = status
        self.events += 1
        if status in FINAL_STATUSES:
            self.final_rows[pk] = Order.objects.values().get(pk=pk)

    def _refund(self, pk: int) -> None:
        expected = self.expected[pk]
        self.balances[expected.request.customer] += expected.amount
        self.payments += 1
        self.ledger_rows += 1

    def _change_balance(self, customer: int, kind: str, amount: Decimal, memo: str) -> list[BalanceRequest]:
        """The request, to replay later, or nothing when the model expects a refusal."""
        request_key = key()
        call = partial(
            BALANCE_SERVICES[kind],
            customer=self.customers[customer],
            amount=amount,
            memo=memo,
            idempotency_key=request_key,
            actor=self.admin,
        )
        signed = amount if kind == LedgerKind.TOP_UP else -amount
        balance_after = self.balances[customer] + signed
        if amount <= 0:
            self._refused(InvalidAmount, call)
            return []
        if balance_after < 0:
            self._refused(InsufficientBalance, call)
            return []
        entry = call()
        assert (entry.kind, entry.amount, entry.balance_after) == (kind, signed, balance_after)
        self.balances[customer] = balance_after
        self.ledger_rows += 1
        return [BalanceRequest(customer, kind, amount, memo, request_key, entry.pk)]

    def _place(self, request: OrderRequest) -> Order:
        return services.order_place(
            customer=self.customers[request.customer],
            product=self.products[request.product],
            quantity=request.quantity,
            target=request.target,
            memo=request.memo,
            idempotency_key=request.idempotency_key,
        )

    def _place_order(self, draft: OrderDraft) -> list[int]:
        """The new order's pk, or nothing when the model expects a refusal."""
        request = OrderRequest(draft.customer, draft.product, draft.quantity, TARGET, draft.memo, key())
        call = partial(self._place, request)
        unit_price = tier_price(draft.product, draft.quantity)
        if unit_price is None:
            self._refused(QuantityBelowMinimum, call)
            return []
        percent = self.levels[self.customer_levels[draft.customer]].percent
        amount = charge_oracle(unit_price, draft.quantity, percent)
        if amount == 0:
            self._refused(InvalidAmount, call)
            return []
        if amount > self.balances[draft.customer]:
            self._refused(InsufficientBalance, call)
            return []
        order = call()
        assert (order.status, order.unit_price, order.quantity, order.percent) == (
            OrderStatus.PENDING,
            unit_price,
            draft.quantity,
            percent,
        )
        assert order.list_amount == unit_price * draft.quantity
        # I6, against the project's rounding helper and against the model's own.
        assert order.amount == order_amount(unit_price=unit_price, quantity=draft.quantity, percent=percent)
        assert order.amount == amount
        self.balances[draft.customer] -= amount
        self.expected[order.pk] = ExpectedOrder(request=request, amount=amount, placed=order)
        self.payments += 1
        self.ledger_rows += 1
        self.events += 1
        return [order.pk]

    def _claim(self, worker: str, limit: int) -> None:
        # Oldest first: a released order keeps its place, a cancelled one is never run.
        pending = sorted(pk for pk, order in self.expected.items() if order.status == OrderStatus.PENDING)
        chosen = pending[:limit]
        if not chosen:
            with self._writes_nothing():
                assert services.order_claim(worker_id=worker, lease_seconds=60, limit=limit) == []
            return
        claimed = services.order_claim(worker_id=worker, lease_seconds=60, limit=limit)
        assert [order.pk for order in claimed] == chosen
        for order in claimed:
            expected = self.expected[order.pk]
            expected.worker = worker
            expected.attempts += 1
            assert (order.status, order.claimed_by, order.attempts) == (
                OrderStatus.RUNNING,
                worker,
                expected.attempts,
            )
            self._move(order.pk, OrderStatus.RUNNING)

    def _agent_move(self, pk: int, worker: str, move: str) -> None:
        service, to_status = AGENT_MOVES[move]
        expected = self.expected[pk]
        call = partial(service, order=expected.placed, worker_id=worker)
        if expected.status != OrderStatus.RUNNING or expected.worker != worker:
            self._refused(IllegalTransition, call)
            return
        moved = call()
        assert moved.status == to_status
        if to_status == OrderStatus.PENDING:
            assert (moved.claimed_by, moved.lease_expires_at) == ("", None)
            expected.worker = ""
        self._move(pk, to_status)
        if to_status == OrderStatus.FAILED:
            assert moved.last_error == "target unreachable"
            self._refund(pk)

    def _move_running_order(self, data: st.DataObject, move: str) -> None:
        running = sorted(pk for pk, order in self.expected.items() if order.status == OrderStatus.RUNNING)
        pk = data.draw(st.sampled_from(running), label="order")
        self._agent_move(pk, self.expected[pk].worker, move)

    # --- balances --------------------------------------------------------------------

    @rule(target=balance_requests, customer=customers, amount=amounts, memo=memos)
    def top_up(self, customer: int, amount: Decimal, memo: str):
        return multiple(*self._change_balance(customer, LedgerKind.TOP_UP, amount, memo))

    @rule(target=balance_requests, customer=customers, data=st.data(), memo=memos)
    def deduct(self, customer: int, data: st.DataObject, memo: str):
        # The whole balance and one cent more are the edges of "larger than the balance"
        # (and the whole of an empty balance is an invalid amount).
        balance = self.balances[customer]
        amount = data.draw(st.one_of(st.sampled_from([balance, balance + CENT]), amounts), label="amount")
        return multiple(*self._change_balance(customer, LedgerKind.DEDUCT, amount, memo))

    @rule(customer=customers, level=st.sampled_from(range(CUSTOMER_COUNT)))
    def change_level(self, customer: int, level: int) -> None:
        services.customer_change_level(customer=self.customers[customer], level=self.levels[level], actor=None)
        self.customer_levels[customer] = level

    # --- orders ----------------------------------------------------------------------

    @rule(target=orders, draft=order_drafts)
    def place_order(self, draft: OrderDraft):
        return multiple(*self._place_order(draft))

    @rule(order=orders)
    def cancel_order(self, order: int) -> None:
        expected = self.expected[order]
        call = partial(services.order_cancel, order=expected.placed, actor=self.admin)
        if expected.status != OrderStatus.PENDING:
            self._refused(IllegalTransition, call)
            return
        cancelled = call()
        assert cancelled.status == OrderStatus.CANCELLED
        self._move(order, OrderStatus.CANCELLED)
        self._refund(order)

    # --- the agent -------------------------------------------------------------------

    @rule(worker=st.sampled_from(WORKERS), limit=st.integers(min_value=1, max_value=3))
    def claim(self, worker: str, limit: int) -> None:
        self._claim(worker, limit)

    @precondition(has_running_order)
    @rule(data=st.data())
    def agent_complete(self, data: st.DataObject) -> None:
        self._move_running_order(data, "complete")

    @precondition(has_running_order)
    @rule(data=st.data())
    def agent_fail(self, data: st.DataObject) -> None:
        self._move_running_order(data, "fail")

    @precondition(has_running_order)
    @rule(data=st.data())
    def agent_release(self, data: st.DataObject) -> None:
        self._move_running_order(data, "release")

    @rule(order=orders, worker=st.sampled_from(WORKERS), move=st.sampled_from(sorted(AGENT_MOVES)))
    def agent_move_any_order(self, order: int, worker: str, move: str) -> None:
        """Not running, final, or held by the other worker: mostly refused, which is the point."""
        self._agent_move(order, worker, move)

    # --- idempotent replays (I7) -----------------------------------------------------

    @rule(request=balance_requests, change=st.sampled_from([None, "amount", "memo", "kind"]))
    def replay_balance_change(self, request: BalanceRequest, change: str | None) -> None:
        other_kind = LedgerKind.DEDUCT if request.kind == LedgerKind.TOP_UP else LedgerKind.TOP_UP
        resent = {
            None: request,
            "amount": replace(request, amount=request.amount + CENT),
            "memo": replace(request, memo=request.memo + " (edited)"),
            "kind": replace(request, kind=other_kind),
        }[change]
        call = partial(
            BALANCE_SERVICES[resent.kind],
            customer=self.customers[resent.customer],
            amount=resent.amount,
            memo=resent.memo,
            idempotency_key=resent.idempotency_key,
            actor=self.admin,
        )
        if change is not None:
            self._refused(IdempotencyConflict, call)
            return
        with self._writes_nothing():
            assert call().pk == request.entry_pk

    @rule(order=orders, change=st.sampled_from([None, "product", "quantity", "target", "memo"]))
    def replay_order(self, order: int, change: str | None) -> None:
        expected = self.expected[order]
        request = expected.request
        resent = {
            None: request,
            "product": replace(request, product=(request.product + 1) % len(PRODUCT_TIERS)),
            "quantity": replace(request, quantity=request.quantity + 1),
            "target": replace(request, target=request.target + "/other"),
            "memo": replace(request, memo=request.memo + " (edited)"),
        }[change]
        call = partial(self._place, resent)
        if change is not None:
            self._refused(IdempotencyConflict, call)
            return
        with self._writes_nothing():
            replayed = call()
        assert (replayed.pk, replayed.status, replayed.amount) == (order, expected.status, expected.amount)

    # --- after every step ------------------------------------------------------------

    @invariant()
    def database_matches_model(self) -> None:
        customer_rows = {
            pk: (balance, level) for pk, balance, level in Customer.objects.values_list("pk", "balance", "level")
        }
        assert [customer_rows[customer.pk] for customer in self.customers] == [
            (balance, self.levels[level].pk) for balance, level in zip(self.balances, self.customer_levels)
        ]
        order_rows = {
            pk: (status, claimed_by, attempts)
            for pk, status, claimed_by, attempts in Order.objects.values_list("pk", "status", "claimed_by", "attempts")
        }
        assert order_rows == {pk: (o.status, o.worker, o.attempts) for pk, o in self.expected.items()}
        assert (LedgerEntry.objects.count(), Payment.objects.count(), OrderEvent.objects.count()) == (
            self.ledger_rows,
            self.payments,
            self.events,
        )

    @invariant()
    def final_orders_never_change(self) -> None:
        """I5, row by row: not the status, nor anything else, once an order is final."""
        rows = {row["id"]: row for row in Order.objects.filter(pk__in=self.final_rows).values()}
        assert rows == self.final_rows

    @invariant()
    def global_invariants_hold(self) -> None:
        # The checks read only the snapshotted tables, so a database identical to the one
        # they last passed needs no second look: refused steps are many, the checks slow.
        snapshot = database_snapshot()
        if snapshot != self.last_checked:
            assert_invariants()
            self.last_checked = snapshot


@pytest.mark.django_db
def test_money_services_match_the_model_and_keep_the_invariants():
    run_state_machine_as_test(MoneyMachine, settings=settings(max_examples=40, stateful_step_count=30))
