"""Transactions: the ledger, as a filterable, sortable, exportable list."""

from django.http import HttpResponse

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from orders import selectors
from orders.filters import LedgerFilter
from orders.tables import LedgerTable

# Customers see their own transactions here; admins arrange the list.
TRANSACTIONS = register(
    Listing("transactions", LedgerTable, url_name="ledger_list", permission="orders.view_all_orders")
)


@permission_required("orders.view_ledgerentry")
def ledger_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = LedgerFilter(request.GET or None, queryset=selectors.ledger_visible_to(request.user))
    return render_list(
        request,
        filterset=filterset,
        table_class=LedgerTable,
        template="orders/ledger_list.html",
        region="ledger-table",
        export_name="transactions",
        listing=TRANSACTIONS,
    )
