"""A user's choice of columns applied to a table: order, hidden columns, what stays."""

import django_tables2 as tables
import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django_tables2 import RequestConfig

from dashboard.ui.columns import arrange, unknown_columns
from dashboard.ui.tables import ActionsColumn, ListTable
from dashboard.ui.tests.kit import groups
from dashboard.ui.tests.rendering import kit_rows, tables2_rows


class ShelfTable(ListTable):
    """A key column that is not the first, and row buttons at the end."""

    key_column = "code"
    added = tables.Column(accessor="name", verbose_name="Added")
    code = tables.Column(accessor="pk", verbose_name="Code")
    name = tables.Column()
    size = tables.Column(accessor="pk", verbose_name="Size")
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = Group
        fields = ("added", "code", "name", "size", "actions")

    def render_actions(self, record):
        return f"do {record.pk}"


def shown(arrangement) -> list[str]:
    return list(arrangement.shown)


def test_without_a_choice_the_table_is_as_it_is_defined():
    arrangement = arrange(ShelfTable)
    assert [(c.name, c.header, c.shown, c.required) for c in arrangement.choices] == [
        ("added", "Added", True, False),
        ("code", "Code", True, True),
        ("name", "Name", True, False),
        ("size", "Size", True, False),
    ]
    assert arrangement.sequence == ("added", "code", "name", "size", "actions")


def test_the_chosen_order_and_hidden_columns_apply_and_the_buttons_stay_last():
    arrangement = arrange(ShelfTable, ["size", "name", "code", "added"], ["name"])
    assert arrangement.names == ("size", "name", "code", "added")
    assert shown(arrangement) == ["size", "code", "added"]
    assert arrangement.sequence[-1] == "actions" and arrangement.hidden == ("name",)


def test_the_key_column_can_move_but_never_be_hidden():
    arrangement = arrange(ShelfTable, ["code", "added", "name", "size"], ["code", "added"])
    assert shown(arrangement) == ["code", "name", "size"]
    assert [c.name for c in arrangement.choices if c.required] == ["code"]


def test_names_the_table_no_longer_has_are_ignored_and_repeats_count_once():
    arrangement = arrange(ShelfTable, ["gone", "size", "size", "added", "code", "name"], ["gone", "actions"])
    assert arrangement.names == ("size", "added", "code", "name")
    assert arrangement.hidden == ()
    assert unknown_columns(ShelfTable, ["size", "gone", "actions"]) == ["gone", "actions"]


def test_a_column_added_since_appears_after_the_one_it_follows_by_default():
    # Chosen when the table had no "name" and no "added": they come back where the table puts them.
    arrangement = arrange(ShelfTable, ["size", "code"], ["size"])
    assert arrangement.names == ("added", "size", "code", "name")
    assert shown(arrangement) == ["added", "code", "name"]


@pytest.mark.django_db
def test_an_arranged_table_renders_its_rows_as_django_tables2_does():
    Group.objects.bulk_create(Group(name=f"g{n}") for n in range(3))
    request = RequestFactory().get("/", {"sort": "name"})
    rows = Group.objects.filter(name__startswith="g")
    table = arrange(ShelfTable, ["size", "name", "code", "added"], ["added"]).apply(ShelfTable(rows))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    assert [column.name for column in table.columns] == ["size", "name", "code", "actions"]
    assert kit_rows(table) == tables2_rows(table)
    assert "<td >g0</td><td >" in kit_rows(table)[0]


@pytest.mark.django_db
def test_a_list_still_sorts_by_a_column_it_does_not_show():
    Group.objects.bulk_create(Group(name=name) for name in ("gb", "gc", "ga"))
    request = RequestFactory().get("/", {"sort": "-name"})
    rows = groups().filter(name__startswith="g")
    table = arrange(ShelfTable, ["code", "name", "size"], ["name"]).apply(ShelfTable(rows))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    assert [column.name for column in table.columns] == ["added", "code", "size", "actions"]
    assert [row.record.name for row in table.paginated_rows] == ["gc", "gb", "ga"]
