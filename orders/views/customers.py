"""The admin's customers: list, create, edit, detail, and balance top-up / deduction."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from dashboard.accounts import services as accounts
from dashboard.accounts.permissions import permission_required
from dashboard.ui.formatting import format_money
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list, short_table
from orders import selectors, services
from orders.errors import InsufficientBalance, OrderPlatformError
from orders.filters import CustomerFilter, LedgerFilter
from orders.forms import BalanceForm, CustomerCreateForm, CustomerEditForm, new_idempotency_key
from orders.models import LedgerKind
from orders.tables import CustomerTable, LedgerTable, RecentOrderTable
from orders.views.bulk import bulk_for

CUSTOMERS = register(Listing("customers", CustomerTable, url_name="customer_list", permission="orders.view_customer"))
# A customer's transactions on their page: columns of their own (the customer is known there).
CUSTOMER_TRANSACTIONS = register(
    Listing("customer-transactions", LedgerTable, url_name="customer_detail", permission="orders.view_customer")
)


@permission_required("orders.view_customer")
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = CustomerFilter(request.GET or None, queryset=selectors.customers_for_admin())
    return render_list(
        request,
        filterset=filterset,
        table_class=CustomerTable,
        template="orders/customer_list.html",
        region="customers-table",
        export_name="customers",
        listing=CUSTOMERS,
        bulk=bulk_for(request, "customers"),
    )


@permission_required("orders.view_customer")
def customer_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(pk)
    entries = LedgerFilter(request.GET or None, queryset=selectors.ledger_of(customer, request.user))
    return render_list(
        request,
        filterset=entries,
        table_class=LedgerTable,
        template="orders/customer_detail.html",
        region="ledger-table",
        export_name=f"transactions-{customer.user.username}",
        listing=CUSTOMER_TRANSACTIONS,
        context={
            "customer": customer,
            "recent_orders": short_table(
                request, RecentOrderTable, selectors.orders_recent_of(customer, request.user, count=10)
            ),
        },
    )


@permission_required("orders.add_customer")
@require_http_methods(["GET", "POST"])
def customer_create(request: HtmxHttpRequest) -> HttpResponse:
    form = CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        set_now = data["password_choice"] == form.SET_PASSWORD
        customer = services.customer_create(
            username=data["username"],
            password=data["password"] if set_now else None,
            name=data["name"],
            mobile=data["mobile"],
            level=data["level"],
            created_by=request.user,
            send_set_password_link=not set_now,
        )
        if set_now:
            messages.success(request, f"Customer {customer.user.username} created. Give them their password.")
        elif customer.set_password_link_sent:
            messages.success(
                request,
                f"Customer {customer.user.username} created; a set-password link was texted to {customer.mobile}.",
            )
        else:
            messages.warning(
                request,
                f"Customer {customer.user.username} created, but the text could not be sent. "
                "Set a password for them with Edit, or try again later.",
            )
        return redirect("customer_detail", customer.pk)
    return render(request, "orders/customer_form.html", {"form": form}, status=422 if form.is_bound else 200)


@permission_required("orders.change_customer")
@require_http_methods(["GET", "POST"])
def customer_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(pk)
    initial = {
        "name": customer.name,
        "mobile": customer.mobile,
        "level": customer.level,
        "active": customer.user.is_active,
    }
    form = CustomerEditForm(request.POST or None, initial=initial, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(customer=customer, actor=request.user, **form.cleaned_data)
        except accounts.AccountError as refused:
            form.add_error("active", refused.message)
        else:
            messages.success(request, f"Saved {customer.name}.")
            return redirect("customer_detail", customer.pk)
    context = {"form": form, "customer": customer}
    return render(request, "orders/customer_form.html", context, status=422 if form.is_bound else 200)


@permission_required("orders.manage_balances")
@require_http_methods(["GET", "POST"])
def customer_balance(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Top up or deduct. With htmx: a dialog; the balance and the ledger update in place."""
    customer = selectors.customer_get(pk)
    template = "orders/balance_form.html#balance-dialog" if request.htmx else "orders/balance_form.html"
    if request.method == "GET":
        kind = request.GET.get("kind") if request.GET.get("kind") in LedgerKind.values else LedgerKind.TOP_UP
        form = BalanceForm(initial={"kind": kind, "idempotency_key": new_idempotency_key()})
        return render(request, template, {"form": form, "customer": customer})
    form = BalanceForm(request.POST)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        change = services.balance_top_up if data["kind"] == LedgerKind.TOP_UP else services.balance_deduct
        try:
            entry = change(
                customer=customer,
                amount=data["amount"],
                memo=data["memo"],
                idempotency_key=data["idempotency_key"],
                actor=request.user,
            )
        except OrderPlatformError as refused:
            form.add_error("amount" if isinstance(refused, InsufficientBalance) else None, refused.message)
            status = refused.status
        else:
            return _balance_changed(request, customer, entry)
    return render(request, template, {"form": form, "customer": customer}, status=status)


def _balance_changed(request: HtmxHttpRequest, customer, entry) -> HttpResponse:
    verb = "Topped up" if entry.kind == LedgerKind.TOP_UP else "Deducted"
    customer = selectors.customer_get(customer.pk)  # its balance now
    messages.success(
        request,
        f"{verb} {format_money(abs(entry.amount))} for {customer.name}; the balance is now {format_money(customer.balance)}.",
    )
    if not request.htmx:
        return redirect("customer_detail", customer.pk)
    response = render(request, "orders/balance_form.html#balance-changed", {"customer": customer})
    return trigger_client_event(response, "ledger-table-changed")
