"""Transactions (the ledger) and payments: filterable, sortable, exportable lists."""

from django.http import HttpRequest, HttpResponse

from dashboard.permissions import permission_required
from orders import selectors
from orders.filters import LedgerFilter, PaymentFilter
from orders.listing import render_list
from orders.tables import LedgerTable, PaymentTable


@permission_required("orders.view_ledgerentry")
def ledger_list(request: HttpRequest) -> HttpResponse:
    filterset = LedgerFilter(request.GET or None, queryset=selectors.ledger_visible_to(request.user))
    return render_list(
        request,
        filterset=filterset,
        table_class=LedgerTable,
        template="orders/ledger_list.html",
        region="ledger-table",
        export_name="transactions",
    )


@permission_required("orders.view_payment")
def payment_list(request: HttpRequest) -> HttpResponse:
    filterset = PaymentFilter(request.GET or None, queryset=selectors.payments_visible_to(request.user))
    return render_list(
        request,
        filterset=filterset,
        table_class=PaymentTable,
        template="orders/payment_list.html",
        region="payments-table",
        export_name="payments",
    )
