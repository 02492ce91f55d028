"""The CSV export of a list: every filtered row, in the table's order and columns,
streamed as it is read."""

import csv
from collections.abc import Iterator
from contextlib import nullcontext
from decimal import Decimal

from django.db import connections, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_tables2 import Column, Table
from django_tables2.rows import BoundRow
from django_tables2.utils import Accessor

EXPORT_CHUNK = 2_000
# A spreadsheet runs a cell starting with one of these as a formula: a memo or a name
# typed by anyone could fetch a URL or run a command on the machine that opens the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
