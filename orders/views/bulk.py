"""Bulk actions from the orders, customers and payments lists: the confirmation with
the exact count, the start (`services.bulk_start`), and the progress and result page.

The bar above a list (`ui/bulk_bar.html`) posts `query` (the list's filters as shown),
`selected` (the rows ticked) or `all=1` (every row the filters match), `action` and a
`key` drawn with the page. The selection is always taken from the list's own FilterSet
over what the user may see, so ticked ids outside it select nothing.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.accounts.permissions import permission_required
from dashboard.ui.bulk import Bulk, BulkChoice
from dashboard.ui.filters import parse_ids
from dashboard.ui.htmx import HtmxHttpRequest
from orders import selectors, services
from orders.errors import OrderPlatformError
from orders.filters import CustomerFilter, OrderFilter, PaymentFilter
from orders.models import BulkKind

EXPORT = "export"
# A selection up to this size is done at once, in the request; a larger one by the agents.
AT_ONCE = 100


@dataclass(frozen=True)
class BulkList:
    name: str
    url_name: str
    noun: str
    act_permission: str

    def filterset(self, user, data: QueryDict):
        if self.name == "orders":
            return OrderFilter(data or None, queryset=selectors.orders_visible_to(user))
        if self.name == "customers":
            return CustomerFilter(data or None, queryset=selectors.customers_for_admin())
        return PaymentFilter(data or None, queryset=selectors.payments_visible_to(user))

    def choices(self) -> tuple[BulkChoice, ...]:
        export = BulkChoice(EXPORT, "Export the selection")
        if self.name == "orders":
            return (BulkChoice(BulkKind.ORDERS_CANCEL, "Cancel the pending ones", danger=True), export)
        if self.name == "customers":
            levels = tuple((str(level.pk), level.name) for level in selectors.levels_with_counts())
            return (
                BulkChoice(BulkKind.CUSTOMERS_LEVEL, "Move to level", options=levels, option_label="Level"),
                BulkChoice(BulkKind.CUSTOMERS_DEACTIVATE, "Deactivate", danger=True),
                BulkChoice(BulkKind.CUSTOMERS_ACTIVATE, "Activate"),
                export,
            )
        return (export,)


LISTS = {
    "orders": BulkList("orders", "order_list", "orders", "orders.cancel_order"),
    "customers": BulkList("customers", "customer_list", "customers", "orders.change_customer"),
    "payments": BulkList("payments", "payment_list", "payments", "orders.view_all_orders"),
}


def bulk_for(request: HtmxHttpRequest, name: str) -> Bulk | None:
    """The bulk bar of a list, for a user who may act on its rows (None: no checkboxes)."""
    bulk_list = LISTS[name]
    if not (request.user.has_perm("orders.view_all_orders") and request.user.has_perm(bulk_list.act_permission)):
        return None
    return Bulk(url=reverse("bulk_start", args=[name]), choices=bulk_list.choices(), noun=bulk_list.noun)


def _description(filterset, count: int, noun: str, ticked: bool) -> str:
    if ticked:
        return f"{count:,} {noun} ticked on the list"
    parts = []
    cleaned = filterset.form.cleaned_data if filterset.is_bound else {}
    for name, value in cleaned.items():
        if value in (None, "", []) or name == "ids":
            continue
        field = filterset.form.fields[name]
        labels = dict(getattr(field, "choices", ()))
        shown = [getattr(v, "name", None) or labels.get(v, v) for v in (value if isinstance(value, list) else [value])]
        parts.append(f"{field.label or name}: {', '.join(map(str, shown))}")
    return f"All {count:,} {noun} matching " + ("; ".join(parts) if parts else "no filter (every one)")


@permission_required("orders.view_all_orders")
@require_POST
def bulk_start(request: HtmxHttpRequest, name: str) -> HttpResponse:
    bulk_list = LISTS.get(name)
    if bulk_list is None or bulk_for(request, name) is None:
        raise Http404
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    for transient in ("page", "export", "view", "ids"):
        query.pop(transient, None)
    back = f"{reverse(bulk_list.url_name)}?{query.urlencode()}"
    every = "1" in request.POST.getlist("all")
    ticked = [] if every else parse_ids(",".join(request.POST.getlist("selected")))
    if not every and not ticked:
        messages.error(request, f"Tick the {bulk_list.noun} to act on, or select all matching.")
        return redirect(back)
    # Ticked rows are those of the filters too (the `ids` filter): none outside them.
    selecting = query.copy()
    if ticked:
        selecting["ids"] = ",".join(map(str, ticked))
    filterset = bulk_list.filterset(request.user, selecting)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, "The list's filters are not valid any more: filter again, then select.")
        return redirect(back)
    selection = filterset.qs
    action = request.POST.get("action", "")
    choices = {choice.value: choice for choice in bulk_list.choices()}
    if action == EXPORT:
        ids = {"ids": ",".join(map(str, ticked))} if ticked else {}
        return redirect(f"{reverse(bulk_list.url_name)}?{urlencode({**query.dict(), **ids, 'export': 'csv'})}")
    count = selection.count()  # exact, and without loading a row
    context = {
        "bulk_list": bulk_list,
        "count": count,
        "description": _description(filterset, count, bulk_list.noun, bool(ticked)),
        "choices": choices.values(),
        "chosen": choices.get(action),
        "form": {
            "key": request.POST.get("key", ""),
            "query": query.urlencode(),
            "selected": ticked,
            "every": every,
            "option": request.POST.get("option", ""),
        },
        "back": back,
    }
    if action not in choices or request.POST.get("confirm") != "1":
        status = 200 if action in choices or not action else 422
        return render(request, "orders/bulk_confirm.html", context, status=status)
    params = {}
    if action == BulkKind.CUSTOMERS_LEVEL:
        params["level"] = request.POST.get("option", "")
        params["level"] = int(params["level"]) if params["level"].isdigit() else None
    try:
        bulk, new = services.bulk_start(
            kind=action,
            selection=selection,
            actor=request.user,
            key=request.POST.get("key", ""),
            description=context["description"],
            list_url=back,
            params=params,
            expected=int(confirmed) if (confirmed := request.POST.get("count", "")).isdigit() else None,
        )
    except OrderPlatformError as refused:
        # The count shown is the current one: confirming again acts on it.
        return render(request, "orders/bulk_confirm.html", {**context, "error": refused.message}, status=refused.status)
    if new and bulk.total <= AT_ONCE:
        while services.bulk_work(bulk=bulk):
            pass
    return redirect("bulk_detail", pk=bulk.pk)


@permission_required("orders.view_all_orders")
@require_GET
def bulk_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    bulk = selectors.bulk_get(pk)
    context = {"bulk": bulk, "poll_seconds": 1}
    if bulk.finished_at:
        context.update(selectors.bulk_result(bulk))
    fragment = request.htmx and not request.htmx.history_restore_request
    template = "orders/bulk_detail.html#bulk-progress" if fragment else "orders/bulk_detail.html"
    return render(request, template, context)
