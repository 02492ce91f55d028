"""Payments: every money movement on an order, as a filterable, sortable, exportable list."""

from django.http import HttpResponse

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from orders import selectors
from orders.filters import PaymentFilter
from orders.tables import PaymentTable
from orders.views.bulk import bulk_for

# Customers see their own payments here; admins arrange the list.
PAYMENTS = register(Listing("payments", PaymentTable, url_name="payment_list", permission="orders.view_all_orders"))


@permission_required("orders.view_payment")
def payment_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = PaymentFilter(request.GET or None, queryset=selectors.payments_visible_to(request.user))
    return render_list(
        request,
        filterset=filterset,
        table_class=PaymentTable,
        template="orders/payment_list.html",
        region="payments-table",
        export_name="payments",
        listing=PAYMENTS,
        bulk=bulk_for(request, "payments"),
    )
