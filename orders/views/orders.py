"""Orders for both roles: the list (the admin's order center, a customer's own orders),
the detail with its timeline, placing with a live quote, cancelling, and live status."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from dashboard.accounts.permissions import permission_required
from dashboard.ui.formatting import format_money
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post, row_action_done
from dashboard.ui.links import public_url
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list, short_table
from orders import gateways, selectors, services
from orders.errors import InsufficientBalance, OrderPlatformError, PaymentNotStarted
from orders.executors import executor_class
from orders.filters import OrderFilter
from orders.forms import NoteForm, OrderForm, QuoteForm, RefundForm, ReorderForm, new_idempotency_key
from orders.models import OrderStatus, PaymentMethod, PaymentStatus
from orders.services.ordering import REORDERABLE_STATUSES
from orders.tables import CustomerOrderTable, OrderLedgerTable, OrderPaymentTable, OrderTable
from orders.views.bulk import bulk_for

# How often a page with open orders asks for their status.
POLL_SECONDS = 3

# Customers see the list too (their own orders); admins arrange it.
ORDERS = register(Listing("orders", OrderTable, url_name="order_list", permission="orders.view_all_orders"))


@permission_required("orders.view_order")
def order_list(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    if q and (exact := selectors.order_find_exact(request.user, q)):
        url = reverse("order_detail", args=[exact.order_no])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    admin = selectors.sees_everything(request.user)
    filterset = OrderFilter(
        request.GET or None, queryset=selectors.orders_visible_to(request.user), for_customer=not admin
    )
    return render_list(
        request,
        filterset=filterset,
        table_class=OrderTable if admin else CustomerOrderTable,
        template="orders/order_list.html",
        region="orders-table",
        export_name="orders",
        listing=ORDERS,
        bulk=bulk_for(request, "orders"),
        context={"poll_seconds": POLL_SECONDS},
    )


def _table_of(request: HtmxHttpRequest, orders: list) -> OrderTable:
    """Rows of the order list outside the list itself (live status)."""
    table_class = OrderTable if selectors.sees_everything(request.user) else CustomerOrderTable
    return short_table(request, table_class, orders)


@permission_required("orders.view_order")
@require_GET
def order_rows(request: HtmxHttpRequest) -> HttpResponse:
    """Live status: the current rows of the orders asked for (`?no=…`), swapped in
    out of band, and the poller again for those still open."""
    orders = selectors.orders_numbered(request.user, request.GET.getlist("no")[:100])
    table = _table_of(request, orders)
    response = render(request, "orders/order_list.html#order-rows", {"table": table, "poll_seconds": POLL_SECONDS})
    if any(o.status in (OrderStatus.FAILED, OrderStatus.CANCELLED) for o in orders):
        trigger_client_event(response, "balance-changed")  # a refund
    return response


@permission_required("orders.view_order")
def order_detail(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    order = selectors.order_get_for(request.user, order_no)
    history = selectors.order_history(order, request.user)
    awaiting = next((p for p in history["payments"] if p.kind == "charge" and p.status == PaymentStatus.PENDING), None)
    context = {
        **history,
        "payments_table": short_table(request, OrderPaymentTable, history["payments"]),
        "ledger_table": short_table(request, OrderLedgerTable, history["ledger_entries"]),
        "order": order,
        "awaiting": awaiting,
        "poll_seconds": POLL_SECONDS,
        "executor": executor_class(),
        "pay_by": awaiting and awaiting.created_at + timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES),
        **_afterwards(request, order),
    }
    template = "orders/order_detail.html#order-live" if request.htmx else "orders/order_detail.html"
    return render(request, template, context)


def _afterwards(request: HtmxHttpRequest, order) -> dict:
    """For an admin: the note form; the refund form of a completed order, or what placing
    a failed or refunded one again would cost today (or why it cannot be)."""
    notes = {"note_form": NoteForm()} if request.user.has_perm("orders.view_all_orders") else {}
    if not request.user.has_perm("orders.manage_balances"):
        return notes
    if order.status == OrderStatus.COMPLETED:
        return {**notes, "refund_form": RefundForm()}
    if order.status not in REORDERABLE_STATUSES:
        return notes
    try:
        today = services.order_quote(customer=order.customer, product=order.product, quantity=order.quantity)
    except OrderPlatformError as refused:
        return {**notes, "reorder_refused": refused.message}
    reorder_form = ReorderForm(initial={"idempotency_key": new_idempotency_key()})
    return {**notes, "reorder_form": reorder_form, "reorder_quote": today}


@permission_required("orders.cancel_order")
@require_POST
def order_cancel(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    """From a row of the order list, a row action; from the order's own page (`from=order`),
    that page again, whole."""
    order = selectors.order_get_for(request.user, order_no)
    try:
        order = services.order_cancel(order=order, actor=request.user)
    except OrderPlatformError as refused:
        messages.error(request, f"Order {order.order_no} was not cancelled: {refused.message}")
    else:
        messages.success(
            request, f"Order {order.order_no} is cancelled; {format_money(order.amount)} was refunded to the balance."
        )
    if request.POST.get("from") == "order":
        return redirect_after_post(request, "order_detail", order.order_no)
    return row_action_done(request, region="orders-table", redirect_to="order_list", events=["balance-changed"])


@permission_required("orders.place_order")
@require_http_methods(["GET", "POST"])
def order_create(request: HtmxHttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    if customer is None:
        raise Http404("Only customers place orders.")
    methods = gateways.active_methods()
    if request.method == "GET":
        initial = {"idempotency_key": new_idempotency_key(), "quantity": 1, **request.GET.dict()}
        form = OrderForm(initial=initial, methods=methods)
        return render(
            request, "orders/order_form.html", {"form": form, "customer": customer, **_quote(customer, form.initial)}
        )
    form = OrderForm(request.POST, methods=methods)
    status = 422
    if form.is_valid():
        gateway = gateways.get_gateway()
        try:
            order = services.order_place(
                customer=customer,
                actor=request.user,
                **form.cleaned_data,
                callback_url=public_url("payment_callback", gateway.name) if gateway else "",
                return_url=public_url("order_detail", "ORDER_NO"),
            )
        except PaymentNotStarted as not_started:
            messages.error(request, not_started.message)
            return redirect("order_detail", not_started.order.order_no)
        except OrderPlatformError as refused:
            form.add_error("quantity" if isinstance(refused, InsufficientBalance) else None, refused.message)
            status = refused.status
        else:
            return _placed(request, order)
    context = {"form": form, "customer": customer, **_quote(customer, request.POST)}
    return render(request, "orders/order_form.html", context, status=status)


def _placed(request: HtmxHttpRequest, order) -> HttpResponse:
    charge = order.payments.get(kind="charge")
    if charge.method == PaymentMethod.BALANCE:
        messages.success(
            request, f"Order {order.order_no} is placed; {format_money(order.amount)} was charged to your balance."
        )
        return redirect("order_detail", order.order_no)
    if charge.method == PaymentMethod.CARD and charge.status == PaymentStatus.PENDING and charge.pay_url:
        return redirect(charge.pay_url)
    return redirect("order_detail", order.order_no)


@permission_required("orders.place_order")
@require_GET
def order_quote(request: HtmxHttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    if customer is None:
        raise Http404("Only customers place orders.")
    return render(request, "orders/order_form.html#quote", {"customer": customer, **_quote(customer, request.GET)})


def _quote(customer, data) -> dict:
    """The quote partial's context: what the order would cost (`quote`, the balance
    after it and whether it is short), or why it cannot be placed (`quote_error`);
    nothing until a product is chosen."""
    form = QuoteForm(data)
    if not form.is_valid():
        return {"quote_error": next(iter(form.errors.values()))[0]} if form.data.get("product") else {}
    try:
        quote = services.order_quote(
            customer=customer, product=form.cleaned_data["product"], quantity=form.cleaned_data["quantity"]
        )
    except OrderPlatformError as refused:
        return {"quote_error": refused.message}
    return {"quote": quote, "balance_after": customer.balance - quote.amount, "short": quote.amount > customer.balance}
