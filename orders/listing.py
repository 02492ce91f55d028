"""Every list page in one place: filter, sort, paginate, render the page or only the
table for htmx, or stream the filtered rows as CSV.

A list is a FilterSet (what is filtered: orders/filters.py) and a Table (what is
shown: orders/tables.py). The page, its htmx fragment and the CSV export all come
from `filterset.qs`, so they always agree.
"""

import csv
from collections.abc import Iterator
from contextlib import nullcontext
from decimal import Decimal
from functools import cached_property

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django_tables2 import Column, RequestConfig, Table
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.utils import Accessor

PER_PAGE_CHOICES = (25, 50, 100)
# A list counts at most this many rows, and pages stop there: neither a page count
# nor an OFFSET ever walks a million rows. Past it, narrow the filters (or export).
COUNT_CAP = 5_000
EXPORT_CHUNK = 2_000
# A spreadsheet runs a cell starting with one of these as a formula: a memo or a name
# typed by anyone could fetch a URL or run a command on the machine that opens the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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


class _Echo:
    def write(self, value: str) -> str:
        return value


def _formatter(table: Table, bound_column):
    """How one column's raw database value is written to CSV: the column's own
    `value()` if it has one, the label of a choice, or the value itself."""
    column = bound_column.column
    if type(column).value is not Column.value:
        return lambda raw: "" if raw is None else column.value(value=raw)
    field = Accessor(bound_column.accessor).get_field(table._meta.model)
    if getattr(field, "choices", None):
        labels = dict(field.flatchoices)
        return lambda raw: labels.get(raw, raw)
    return lambda raw: "" if raw is None else raw


def _cell(value):
    """A value as the spreadsheet should see it: numbers as numbers (a negative amount
    stays a number), text that would run as a formula behind a quote, which the
    spreadsheet shows as text (OWASP's advice on CSV injection)."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _snapshot(using: str):
    """What an export reads in: one snapshot of the database, without a write lock.

    PostgreSQL streams a server-side cursor only inside a transaction (outside one it
    would first copy the whole result, a cursor WITH HOLD); a read-only transaction
    there blocks no writer. On SQLite every transaction begins IMMEDIATE (settings),
    taking the database's only write lock for as long as the download lasts: every
    order and top-up would wait for a slow browser. An export needs no transaction
    there: its rows come in chunks from a single SELECT, and in WAL mode a statement
    reads one snapshot from its first row to its last while writers carry on.
    (Prefetched rows, the products' tiers, are read per chunk: a tier changed during
    a long download may show its new price.)
    """
    if connections[using].vendor == "sqlite":
        return nullcontext()
    return transaction.atomic(using=using)


def _csv_lines(table: Table, queryset) -> Iterator[str]:
    columns = [column for column in table.columns if not column.column.exclude_from_export]
    writer = csv.writer(_Echo())
    yield writer.writerow([str(column.header) for column in columns])
    with _snapshot(queryset.db):
        if any(hasattr(table, f"value_{column.name}") for column in columns):
            # A table that computes a value per row (from prefetched rows): a short list.
            for record in queryset.iterator(chunk_size=EXPORT_CHUNK):
                row = BoundRow(record, table=table)
                yield writer.writerow([_cell(row.get_cell_value(column.name)) for column in columns])
            return
        formatters = [_formatter(table, column) for column in columns]
        paths = [Accessor(column.accessor).replace(Accessor.LEGACY_SEPARATOR, "__") for column in columns]
        for values in queryset.values_list(*paths).iterator(chunk_size=EXPORT_CHUNK):
            yield writer.writerow([_cell(format_value(raw)) for format_value, raw in zip(formatters, values)])


def csv_export(table: Table, queryset, name: str) -> StreamingHttpResponse:
    """Every row of `queryset`, in the table's order and export columns, streamed:
    rows are read from the database in chunks as the response is written."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(_csv_lines(table, queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def render_list(
    request: HttpRequest,
    *,
    filterset,
    table_class: type[Table],
    template: str,
    region: str,
    export_name: str,
    context: dict | None = None,
) -> HttpResponse:
    """The list page, the `region` partial for htmx, or `?export=csv`.

    `region` is the partial's name, the DOM id it renders and the htmx target.
    Invalid filters answer 422 with the form's errors and no rows.
    """
    valid = not filterset.is_bound or filterset.is_valid()
    queryset = filterset.qs if valid else filterset.queryset.none()
    table = table_class(queryset)
    RequestConfig(request, paginate=False).configure(table)
    if valid and request.GET.get("export") == "csv":
        return csv_export(table, table.data.data, export_name)
    table.paginate(paginator_class=CappedPaginator, per_page=_per_page(request), page=request.GET.get("page", 1))
    table.region = region
    fragment = request.htmx and not request.htmx.history_restore_request
    page = {**(context or {}), "filterset": filterset, "table": table, "region": region}
    response = render(request, f"{template}#{region}" if fragment else template, page, status=200 if valid else 422)
    patch_vary_headers(response, ["HX-Request"])
    return response
