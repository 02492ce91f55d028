"""Every write of the domain, and the only place a balance changes.

Each service is atomic. Concurrency rests on two mechanisms that hold on both
databases:
- row locks (`select_for_update`) on PostgreSQL, always taken in the same order,
  order before customer, so two services never wait on each other in a cycle;
- conditional updates (`UPDATE … WHERE status = <expected>`, `WHERE balance >= x`),
  which stay correct where locks are no-ops: SQLite serializes writers through
  IMMEDIATE transactions, and the condition refuses whatever the lock missed.

Idempotency (I7, docs/invariants.md): a key seen before with the same parameters returns the first
result and writes nothing; with other parameters it raises IdempotencyConflict.
Keys are checked after the customer's row is locked, so concurrent repeats of one
key are serialized and only the first one writes.

Nothing that reaches outside (a payment gateway, a text message) runs inside a
transaction or under a lock: it runs once the service's writes are committed, so a
write rolled back never sent anything, and a slow provider holds no lock. The
services that do (`order_place` by card or ATM, `customer_create` with a link) are
called outside a transaction.

The modules: `ledger` (the shared primitives: locks, the balance's compare-and-set,
ledger entries, status moves, refunds), `customers`, `catalog`, `balances`,
`ordering` (quotes, placing, cancelling, gateway payments) and `fulfilment` (the
agent's moves). This package exports the services and nothing else.
"""

from orders.services.balances import balance_deduct, balance_top_up
from orders.services.bulk import bulk_start, bulk_work
from orders.services.catalog import level_delete, level_save, product_delete, product_save, product_set_active
from orders.services.customers import customer_change_level, customer_create, customer_update
from orders.services.fulfilment import (
    agent_heartbeat,
    agent_start,
    agent_stop,
    order_claim,
    order_complete,
    order_complete_many,
    order_expire_leases,
    order_fail,
    order_release,
    order_renew_leases,
    order_retry,
)
from orders.services.notes import order_note_add
from orders.services.ordering import (
    order_cancel,
    order_place,
    order_quote,
    order_refund,
    order_reorder,
    payment_callback_receive,
    payment_expire_unpaid,
    payment_settle,
)

__all__ = [
    "agent_heartbeat",
    "agent_start",
    "agent_stop",
    "balance_deduct",
    "bulk_start",
    "bulk_work",
    "balance_top_up",
    "customer_change_level",
    "customer_create",
    "customer_update",
    "level_delete",
    "level_save",
    "order_cancel",
    "order_claim",
    "order_complete",
    "order_complete_many",
    "order_expire_leases",
    "order_fail",
    "order_note_add",
    "order_place",
    "order_quote",
    "order_refund",
    "order_release",
    "order_reorder",
    "order_renew_leases",
    "order_retry",
    "payment_callback_receive",
    "payment_expire_unpaid",
    "payment_settle",
    "product_delete",
    "product_save",
    "product_set_active",
]
