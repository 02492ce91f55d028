"""The Agents page: who is fulfilling orders, and how it is going."""

from django.http import HttpResponse

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from orders import selectors
from orders.executors import executor_class
from orders.filters import AgentFilter
from orders.tables import AgentTable

AGENTS = register(Listing("agents", AgentTable, url_name="agent_list", permission="orders.view_all_orders"))


@permission_required("orders.view_all_orders")
def agent_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = AgentFilter(request.GET or None, queryset=selectors.agents_all())
    return render_list(
        request,
        filterset=filterset,
        table_class=AgentTable,
        template="orders/agent_list.html",
        region="agents-table",
        export_name="agents",
        listing=AGENTS,
        context={"executor": executor_class()},
    )
