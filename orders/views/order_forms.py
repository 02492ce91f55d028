"""The forms on an admin's order page: add a note, refund a completed order, place a
failed or refunded one again. Each posts to its own URL and comes back to an order's
page with a message saying what happened, or why nothing did."""

from collections.abc import Callable

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from dashboard.accounts.permissions import permission_required
from dashboard.ui.formatting import format_money
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post
from orders import selectors, services
from orders.errors import InvalidRequest, OrderPlatformError
from orders.forms import NoteForm, RefundForm, ReorderForm
from orders.models import Order

# What a form does to the order: the success message and the order to show next.
Act = Callable[[Order, dict], tuple[str, Order]]


def _order_form(request: HtmxHttpRequest, order_no: str, form_class: type[Form], *, nothing: str, act: Act):
    """Validates the form, runs `act`, and returns to the order's page; `nothing` says
    what did not happen ("No note was added"), before the reason."""
    order = selectors.order_get_for(request.user, order_no)
    form = form_class(request.POST)
    try:
        if not form.is_valid():
            raise InvalidRequest(next(iter(form.errors.values()))[0])
        done, shown = act(order, form.cleaned_data)
    except OrderPlatformError as refused:
        messages.error(request, f"{nothing.format(order=order.order_no)}: {refused.message}")
        shown = order
    else:
        messages.success(request, done)
    return redirect_after_post(request, "order_detail", shown.order_no)


@permission_required("orders.view_all_orders")
@require_POST
def order_note_add(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    def add(order: Order, data: dict) -> tuple[str, Order]:
        services.order_note_add(order=order, author=request.user, **data)
        shown = "the customer sees it too" if data["for_customer"] else "only admins see it"
        return f"Note added to order {order.order_no}; {shown}.", order

    return _order_form(request, order_no, NoteForm, nothing="No note was added", act=add)


@permission_required("orders.manage_balances")
@require_POST
def order_refund(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    def refund(order: Order, data: dict) -> tuple[str, Order]:
        order = services.order_refund(order=order, actor=request.user, reason=data["reason"])
        return f"Order {order.order_no} is refunded; {format_money(order.amount)} went back to the balance.", order

    return _order_form(request, order_no, RefundForm, nothing="Order {order} was not refunded", act=refund)


@permission_required("orders.manage_balances")
@require_POST
def order_reorder(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    def place_again(order: Order, data: dict) -> tuple[str, Order]:
        again = services.order_reorder(order=order, actor=request.user, idempotency_key=data["idempotency_key"])
        return (
            f"Order {order.order_no} is placed again as {again.order_no}; "
            f"{format_money(again.amount)} was charged to the balance.",
            again,
        )

    return _order_form(request, order_no, ReorderForm, nothing="Order {order} was not placed again", act=place_again)
