"""What an admin can do with an order that is done: refund a completed one, or place a
failed or refunded one again. Both are forms on the order's page, which they return to."""

from django.contrib import messages
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from dashboard.accounts.permissions import permission_required
from dashboard.ui.formatting import format_money
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post
from orders import selectors, services
from orders.errors import OrderPlatformError
from orders.forms import RefundForm, ReorderForm


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


@permission_required("orders.manage_balances")
@require_POST
def order_refund(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    order = selectors.order_get_for(request.user, order_no)
    form = RefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Order {order.order_no} was not refunded: {_first_error(form)}")
        return redirect_after_post(request, "order_detail", order.order_no)
    try:
        order = services.order_refund(order=order, actor=request.user, reason=form.cleaned_data["reason"])
    except OrderPlatformError as refused:
        messages.error(request, f"Order {order.order_no} was not refunded: {refused.message}")
    else:
        messages.success(
            request, f"Order {order.order_no} is refunded; {format_money(order.amount)} went back to the balance."
        )
    return redirect_after_post(request, "order_detail", order.order_no)


@permission_required("orders.manage_balances")
@require_POST
def order_reorder(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    order = selectors.order_get_for(request.user, order_no)
    form = ReorderForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Order {order.order_no} was not placed again: {_first_error(form)}")
        return redirect_after_post(request, "order_detail", order.order_no)
    try:
        again = services.order_reorder(
            order=order, actor=request.user, idempotency_key=form.cleaned_data["idempotency_key"]
        )
    except OrderPlatformError as refused:
        messages.error(request, f"Order {order.order_no} was not placed again: {refused.message}")
        return redirect_after_post(request, "order_detail", order.order_no)
    messages.success(
        request,
        f"Order {order.order_no} is placed again as {again.order_no}; "
        f"{format_money(again.amount)} was charged to the balance.",
    )
    return redirect_after_post(request, "order_detail", again.order_no)
