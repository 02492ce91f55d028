"""Every list page in one place: filter, sort, paginate, render the page or only the
table for htmx, or stream the filtered rows as CSV (`dashboard.ui.export`); and the
short tables shown whole beside a page's content.

A list is a FilterSet (what is filtered, on `dashboard.ui.filters.ListFilterSet`) and
a Table (what is shown, on `dashboard.ui.tables.ListTable`). The page, its htmx
fragment and the CSV export all come from `filterset.qs`, so they always agree.
"""

from functools import cached_property

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_tables2 import RequestConfig, Table
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRows

from dashboard.ui.bulk import Bulk
from dashboard.ui.export import csv_export
from dashboard.ui.listings import Listing, ListTools

PER_PAGE_CHOICES = (25, 50, 100)
# A list counts at most this many rows, and pages stop there: neither a page count
# nor an OFFSET ever walks a million rows. Past it, narrow the filters (or export).
COUNT_CAP = 5_000
# From this row on, a page is fetched as ids first, then rows (a "deferred join").
DEFERRED_JOIN_FROM = 500


class CappedPaginator(Paginator):
    """A paginator over a table's rows whose count stops at COUNT_CAP.

    `count` is the number of rows up to the cap; `more` says whether there are more.
    """

    @cached_property
    def _queryset(self):
        # django-tables2 hands us its rows; under them is the ordered queryset.
        return self.object_list.data.data

    @cached_property
    def _capped_count(self) -> int:
        # Unordered, so that the database counts along whichever index suits the filters.
        return self._queryset.order_by()[: COUNT_CAP + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._capped_count, COUNT_CAP)

    @property
    def more(self) -> bool:
        return self._capped_count > COUNT_CAP

    def page(self, number):
        """Like `get_page`: a made-up page number gets the first page, one past the end the last."""
        try:
            number = self.validate_number(number)
        except PageNotAnInteger:
            number = 1
        except EmptyPage:
            number = self.num_pages
        bottom = (number - 1) * self.per_page
        if bottom < DEFERRED_JOIN_FROM:
            return super().page(number)
        # A deep page: find its ids first (an OFFSET over an index alone, often without
        # touching the table), then fetch only those rows, in the same order.
        ids = list(self._queryset.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        data = TableQuerysetData(self._queryset.filter(pk__in=ids))
        data.set_table(self.object_list.table)
        return self._get_page(BoundRows(data=data, table=self.object_list.table), number, self)


def _per_page(request: HttpRequest) -> int:
    try:
        per_page = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        return PER_PAGE_CHOICES[0]
    return per_page if per_page in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0]


def render_list(
    request: HttpRequest,
    *,
    filterset,
    table_class: type[Table],
    template: str,
    region: str,
    export_name: str,
    listing: Listing,
    bulk: Bulk | None = None,
    context: dict | None = None,
) -> HttpResponse:
    """The list page, the `region` partial for htmx, or `?export=csv`.

    `region` is the partial's name, the DOM id it renders and the htmx target.
    Invalid filters answer 422 with the form's errors and no rows. The `listing`
    (`dashboard.ui.listings`) names the list: a user who may arrange it sees it, on
    screen and in CSV, with the columns they chose or those of the saved view open
    (`?view=`), and on the whole page the list tools (`ui/list_tools.html`). With
    `bulk` (`dashboard.ui.bulk`), rows can be selected and acted on together.
    """
    valid = not filterset.is_bound or filterset.is_valid()
    queryset = filterset.qs if valid else filterset.queryset.none()
    tools = ListTools(request, listing)
    table = tools.apply(table_class(queryset))
    RequestConfig(request, paginate=False).configure(table)
    table.bulk = bulk
    if bulk is None and "select" in table.columns.columns:
        table.columns.hide("select")
    if valid and request.GET.get("export") == "csv":
        return csv_export(table, table.data.data, export_name)
    table.paginate(paginator_class=CappedPaginator, per_page=_per_page(request), page=request.GET.get("page", 1))
    table.region = region
    fragment = request.htmx and not request.htmx.history_restore_request
    page = {**(context or {}), "filterset": filterset, "table": table, "region": region}
    if tools.enabled and not fragment:
        page["list_tools"] = tools
    response = render(request, f"{template}#{region}" if fragment else template, page, status=200 if valid else 422)
    patch_vary_headers(response, ["HX-Request"])
    return response


def short_table(request: HttpRequest, table_class: type[Table], rows, **options) -> Table:
    """A table shown whole: a page's short list (an order's payments, a customer's last
    orders) or a list's rows outside the list (live status). Neither sortable nor
    paginated; rendered by `ui/table.html` like a list, without sort links or pager."""
    table = table_class(rows, orderable=False, **options)
    RequestConfig(request, paginate=False).configure(table)
    return table
