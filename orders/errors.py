"""Domain errors raised by orders.services; views answer them through
`dashboard.ui.refusals` (each error's `kind` gives its HTTP status)."""

from typing import TYPE_CHECKING

from dashboard.ui.refusals import CONFLICT, Refusal

if TYPE_CHECKING:
    from orders.models import Order


class OrderPlatformError(Refusal):
    """Base of every domain error. `message` is safe to show to the user."""

    message = "The operation was refused."


class InvalidAmount(OrderPlatformError):
    message = "Enter an amount greater than zero."


class InsufficientBalance(OrderPlatformError):
    message = "Insufficient balance"


class IllegalTransition(OrderPlatformError):
    kind = CONFLICT
    message = "This order can no longer be changed that way."


class IdempotencyConflict(OrderPlatformError):
    kind = CONFLICT
    message = "This request was already submitted with different details."


class ProductUnavailable(OrderPlatformError):
    message = "This product is not available."


class QuantityBelowMinimum(OrderPlatformError):
    message = "The quantity is below this product's minimum."


class ConcurrentUpdate(OrderPlatformError):
    kind = CONFLICT
    message = "The record changed while you were saving it; please try again."


class InvalidRequest(OrderPlatformError):
    message = "The request is not valid."


class InUse(OrderPlatformError):
    kind = CONFLICT
    message = "This is in use and cannot be deleted."


class PaymentNotStarted(OrderPlatformError):
    """The gateway could not start the payment of an order just placed: the order is
    cancelled (`order`) and nothing was charged."""

    message = "The payment could not be started, so the order was cancelled; nothing was charged."

    def __init__(self, message: str | None = None, *, order: "Order") -> None:
        super().__init__(message)
        self.order = order


class SelectionChanged(OrderPlatformError):
    """A bulk action's rows are no longer the count the admin confirmed (`total`: now)."""

    kind = CONFLICT
    message = "The selection changed since you confirmed it. Check the count and confirm again."

    def __init__(self, message: str | None = None, *, total: int) -> None:
        super().__init__(message)
        self.total = total
