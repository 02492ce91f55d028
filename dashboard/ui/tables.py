"""The table base every list uses, and the columns that mean the same on every list.

Rows are rendered in Python (`ListTable.rows_html`) rather than by django-tables2's
templates; `dashboard/ui/tests/test_tables.py` and the project's
`dashboard/tests/test_table_rendering.py` hold that rendering equal to
django-tables2's own, cell by cell, for every table.
"""

import functools
import inspect
from functools import cached_property

import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django_tables2.utils import Accessor, AttributeDict

from dashboard.ui.formatting import format_money

DATETIME_FORMAT = "%Y-%m-%d %H:%M"


class MoneyColumn(tables.Column):
    """Right-aligned, with the currency on screen; a plain number in CSV."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("attrs", {"th": {"class": "money"}, "td": {"class": "money"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_money(value)

    def value(self, value):
        return value


class ReferenceColumn(tables.Column):
    """An order, payment or entry number: monospace, and a link where it has a page."""

    def __init__(self, *args, url_name: str | None = None, **kwargs) -> None:
        self.url_name = url_name
        kwargs.setdefault("attrs", {"td": {"class": "mono"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        if self.url_name:
            return format_html('<a href="{}">{}</a>', reverse(self.url_name, args=[value]), value)
        return value

    def value(self, value):
        return value


class ActiveColumn(tables.Column):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("verbose_name", "Status")
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_html(
            '<span class="status {}">{}</span>', *(("active", "Active") if value else ("inactive", "Deactivated"))
        )

    def value(self, value):
        return "active" if value else "deactivated"


@functools.cache
def _parameters(function) -> frozenset[str] | None:
    """The keyword arguments a render function takes (None: any)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


class ActionsColumn(tables.Column):
    """Row buttons, written by the table's `render_actions` in Python: a template
    per cell would render (with every context processor) 25 times a page. Fixed: it
    stays at the end of the row whatever columns a user chooses (`dashboard.ui.columns`)."""

    fixed = True

    def __init__(self, **kwargs) -> None:
        kwargs.update(empty_values=(), verbose_name="", orderable=False, exclude_from_export=True)
        kwargs.setdefault("attrs", {"td": {"class": "actions"}})
        super().__init__(**kwargs)


def post_button(table, url: str, label: str, *, confirm: str, danger: bool = False) -> str:
    """A row action: a POST form with one button. Without JavaScript a plain form; with
    htmx a request after a confirmation, whose answer swaps nothing: the view answers
    with `dashboard.ui.htmx.row_action_done`, and the list's region reloads itself."""
    return format_html(
        '<form method="post" action="{}" hx-post="{}" hx-confirm="{}" hx-swap="none">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit" class="small{}">{}</button></form>',
        url,
        url,
        confirm,
        table.csrf_token,
        " danger" if danger else "",
        label,
    )


class ListTable(tables.Table):
    """Rows are written here, in Python (`rows_html`), by a small writer per column
    prepared once per page: django-tables2's own row rendering inspects every
    cell's render method and resolves every accessor afresh, and a template loop
    over cells costs more than the query behind them. Columns keep django-tables2's
    meaning: accessor (with choice labels), empty values and default, and a
    `render_<name>` on the table or `render` on the column."""

    # The list's region (render_list sets it); a short table shown whole has none.
    region = ""
    # The column that names a row (an order's number): a user may move it, never hide
    # it (`dashboard.ui.columns`). Unset: the first column.
    key_column = ""

    @cached_property
    def csrf_token(self) -> str:
        return get_token(self.request)

    @property
    def rows_html(self) -> str:
        return self._rows_html(self.paginated_rows, oob=False)

    @property
    def oob_rows_html(self) -> str:
        """Each row as an out-of-band swap (htmx needs a <template> around a <tr>)."""
        return self._rows_html(self.rows, oob=True)

    def _cell_writers(self) -> list:
        writers = []
        for bound in self.columns:
            accessor = Accessor(bound.accessor)
            field = accessor.get_field(self._meta.model) if self._meta.model else None
            labels = dict(field.flatchoices) if getattr(field, "choices", None) else None
            render = getattr(self, f"render_{bound.name}", None) or bound.column.render
            wanted = _parameters(getattr(render, "__func__", render))
            path = str(accessor).replace(Accessor.LEGACY_SEPARATOR, "__").split("__")
            writers.append((bound, path, labels, render, wanted, bound.attrs["td"].as_html()))
        return writers

    def _cell(self, record, writer) -> str:
        bound, path, labels, render, wanted, _ = writer
        value = record
        for part in path:
            value = getattr(value, part, None)
            if value is None:
                break
        if labels is not None:
            value = labels.get(value, value)
        if value in bound.column.empty_values:
            return conditional_escape(bound.default)
        arguments = {"value": value, "record": record, "table": self, "column": bound.column, "bound_column": bound}
        if wanted is not None:
            arguments = {name: arguments[name] for name in wanted if name in arguments}
        return conditional_escape(render(**arguments))

    def _rows_html(self, rows, *, oob: bool) -> str:
        writers = self._cell_writers()
        row_attrs = getattr(self._meta, "row_attrs", {}) or {}
        html = []
        for bound_row in rows:
            record = bound_row.record
            attrs = AttributeDict(
                {name: value(record) if callable(value) else value for name, value in row_attrs.items()}
            )
            if oob:
                attrs["hx-swap-oob"] = "true"
            tds = "".join(f"<td {writer[-1]}>{self._cell(record, writer)}</td>" for writer in writers)
            tr = f"<tr {attrs.as_html()}>{tds}</tr>" if attrs else f"<tr>{tds}</tr>"
            html.append(f"<template>{tr}</template>" if oob else tr)
        return mark_safe("\n".join(html))

    class Meta:
        attrs = {"class": "data"}
        empty_text = "Nothing matches these filters. Clear a filter or widen the dates."


class LocalDateTimeColumn(tables.Column):
    """In the user's time zone, on screen as `format` (strftime), in CSV to the second."""

    def __init__(self, *args, format: str = DATETIME_FORMAT, **kwargs) -> None:
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value):
        return timezone.localtime(value).strftime(self.format)

    def value(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def newest_first(verbose_name: str = "Date") -> LocalDateTimeColumn:
    # Ties broken by id, matching the (created_at, id) indexes.
    return LocalDateTimeColumn(verbose_name=verbose_name, format=DATETIME_FORMAT, order_by=("created_at", "id"))


class StatusColumn(tables.Column):
    def render(self, value, record):
        return format_html('<span class="status {}">{}</span>', record.status, value)


# Columns a phone leaves out (the order page has them).
WIDE_ONLY = {"th": {"class": "hide-sm"}, "td": {"class": "hide-sm"}}
