"""The Audit page: every entry of the audit trail, on the list machinery."""

from django.http import HttpResponse

from dashboard.accounts import selectors as account_selectors
from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from orders.filters import AuditFilter
from orders.tables import AuditTable

AUDIT = register(Listing("audit", AuditTable, url_name="audit_list", permission="dashboard.view_auditentry"))


@permission_required("dashboard.view_auditentry")
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = AuditFilter(request.GET or None, queryset=account_selectors.audit_entries())
    return render_list(
        request,
        filterset=filterset,
        table_class=AuditTable,
        template="orders/audit_list.html",
        region="audit-table",
        export_name="audit",
        listing=AUDIT,
    )
