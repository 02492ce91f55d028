"""django-tables2's own rendering of a table's rows, to hold `ListTable.rows_html` to."""

import re

from django.template import engines

# The rows of django_tables2/table.html (its `table.tbody.row` block), tag for tag.
_TABLES2_ROWS = engines["django"].from_string(
    "{% load l10n %}{% for row in table.paginated_rows %}<tr {{ row.attrs.as_html }}>"
    "{% for column, cell in row.items %}<td {{ column.attrs.td.as_html }}>"
    "{% if column.localize == None %}{{ cell }}{% else %}{% if column.localize %}{{ cell|localize }}"
    "{% else %}{{ cell|unlocalize }}{% endif %}{% endif %}</td>{% endfor %}</tr>\n{% endfor %}"
)


def _without_stripes(html: str) -> str:
    """django-tables2 adds `even`/`odd` to every row's class; the kit's rows leave them
    out, as nothing styles them."""
    html = re.sub(r' class="(?:even|odd)"', "", html)
    return re.sub(r'(class="[^"]*?) (?:even|odd)"', r'\1"', html)


def tables2_rows(table) -> list[str]:
    """Each row as django-tables2 renders it, without its stripes."""
    return [row for row in _without_stripes(_TABLES2_ROWS.render({"table": table})).split("\n") if row]


def kit_rows(table) -> list[str]:
    """Each row as `ListTable.rows_html` writes it."""
    return [row for row in str(table.rows_html).split("\n") if row]
