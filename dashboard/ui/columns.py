"""Which columns a list shows, and in which order, once a user has chosen.

A choice is two lists of column names: `columns`, every column the user arranged, in
their order (shown and hidden alike, so a column shown again returns to its place),
and `hidden`, those of them left out. It is applied to a table's defaults here, so
that whatever was stored stays harmless: names the table no longer has are ignored,
columns the table gained since appear beside the column they follow by default, the
table's key column (what names a row: an order's number) is never hidden, and fixed
columns (the row's buttons) stay where the table puts them, outside the choice.
"""

from dataclasses import dataclass

from django_tables2 import Table


@dataclass(frozen=True)
class ColumnChoice:
    name: str
    header: str
    shown: bool
    # The key column: it may move, never be hidden.
    required: bool


@dataclass(frozen=True)
class Arrangement:
    # The columns a user arranges, in their order.
    choices: tuple[ColumnChoice, ...]
    # Fixed columns before and after them, as the table has them.
    leading: tuple[str, ...]
    trailing: tuple[str, ...]

    @property
    def sequence(self) -> tuple[str, ...]:
        return (*self.leading, *(choice.name for choice in self.choices), *self.trailing)

    @property
    def hidden(self) -> tuple[str, ...]:
        return tuple(choice.name for choice in self.choices if not choice.shown)

    @property
    def shown(self) -> tuple[str, ...]:
        return tuple(choice.name for choice in self.choices if choice.shown)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(choice.name for choice in self.choices)

    def apply(self, table: Table) -> Table:
        """Orders the table's columns and hides the hidden ones. Hidden rather than
        excluded: a list may still be sorted by a column it does not show (a saved
        view "newest first" without the date), and neither the page nor the export
        shows a hidden column."""
        table.sequence = self.sequence
        for name in self.hidden:
            table.columns.hide(name)
        return table


def is_fixed(column) -> bool:
    return getattr(column, "fixed", False)


def defaults(table_class: type[Table]) -> tuple[list[tuple[str, str]], list[str], list[str], str]:
    """The table's own arrangement: its arrangeable columns (name, header) in order, the
    fixed columns before and after them, and its key column."""
    table = table_class([])
    arrangeable, leading, trailing = [], [], []
    for bound in table.columns.iterall():
        if is_fixed(bound.column):
            (trailing if arrangeable else leading).append(bound.name)
        else:
            arrangeable.append((bound.name, str(bound.header)))
    key = getattr(table_class, "key_column", "") or (arrangeable[0][0] if arrangeable else "")
    return arrangeable, leading, trailing, key


def arrange(table_class: type[Table], columns=(), hidden=()) -> Arrangement:
    """The table's columns as the user chose them (`columns`, `hidden`: see the module)."""
    arrangeable, leading, trailing, key = defaults(table_class)
    headers = dict(arrangeable)
    order = list(dict.fromkeys(name for name in columns if name in headers))
    for position, (name, _) in enumerate(arrangeable):
        if name in order:
            continue
        # A column the user never arranged: after the nearest one before it by default.
        before = next((arrangeable[i][0] for i in range(position - 1, -1, -1) if arrangeable[i][0] in order), None)
        order.insert(order.index(before) + 1 if before else 0, name)
    left_out = set(hidden) - {key}
    choices = tuple(ColumnChoice(name, headers[name], name not in left_out, name == key) for name in order)
    return Arrangement(choices=choices, leading=tuple(leading), trailing=tuple(trailing))


def unknown_columns(table_class: type[Table], names) -> list[str]:
    """Names that are not columns a user can arrange on this table."""
    arrangeable = {name for name, _ in defaults(table_class)[0]}
    return [name for name in names if name not in arrangeable]
