"""Bulk selection on a list: a checkbox per row and in the header (`SelectColumn`), and
the bar above the table (`ui/bulk_bar.html`) that posts the selection — the rows ticked,
or every row the current filters match — to the list's bulk endpoint.

A list offers it by passing a `Bulk` to `render_list`; without one its select column
is hidden (customers, or a user who may not act on the rows).
"""

import uuid
from dataclasses import dataclass, field

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

# The form every checkbox belongs to (HTML's form= attribute): the table's rows hold
# forms of their own (row actions), so the checkboxes cannot sit inside it.
FORM_ID = "bulk-form"


@dataclass(frozen=True)
class BulkChoice:
    """One thing the selection can be given to: `value` is posted as `action`. With
    `options`, a select named `option` goes with it (a level to move customers to)."""

    value: str
    label: str
    danger: bool = False
    options: tuple[tuple[str, str], ...] = ()
    option_label: str = ""


@dataclass
class Bulk:
    url: str
    choices: tuple[BulkChoice, ...]
    noun: str = "rows"
    # A new key per page drawn: submitting that page's form twice is one action.
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


class SelectColumn(tables.Column):
    """The row's checkbox. Fixed: first, whatever columns the user chooses; never exported."""

    fixed = True

    def __init__(self, **kwargs) -> None:
        header = mark_safe(
            f'<input type="checkbox" form="{FORM_ID}" data-bulk-page aria-label="Select every row on this page">'
        )
        kwargs.update(empty_values=(), verbose_name=header, orderable=False, exclude_from_export=True)
        kwargs.setdefault("attrs", {"th": {"class": "select"}, "td": {"class": "select"}})
        super().__init__(**kwargs)

    def render(self, record):
        return format_html(
            '<input type="checkbox" name="selected" value="{}" form="{}" data-bulk-row aria-label="Select {}">',
            record.pk,
            FORM_ID,
            record,
        )
