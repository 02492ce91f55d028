"""The kit's columns, and its Python row rendering held equal to django-tables2's own."""

from datetime import UTC, datetime
from decimal import Decimal

import django_tables2 as tables
import pytest
from django.contrib.auth import get_user_model
from django.db.models import DecimalField, Value
from django.test import RequestFactory
from django.utils import timezone
from django_tables2 import RequestConfig

from dashboard.ui.tables import (
    ActionsColumn,
    ActiveColumn,
    ListTable,
    LocalDateTimeColumn,
    MoneyColumn,
    ReferenceColumn,
    newest_first,
    post_button,
)
from dashboard.ui.tests.rendering import kit_rows, tables2_rows

pytestmark = pytest.mark.django_db


class UserTable(ListTable):
    """One of every kind of column, and render methods of every signature."""

    username = ReferenceColumn()
    email = tables.Column(default="no e-mail")
    first_name = tables.Column(empty_values=(), orderable=False)
    active = ActiveColumn(accessor="is_active")
    balance = MoneyColumn()
    last_login = LocalDateTimeColumn(default="never")
    date_joined = newest_first("Joined")
    groups = tables.Column(empty_values=(), orderable=False)
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = get_user_model()
        fields = ("username", "email", "first_name", "active", "balance", "last_login", "date_joined", "groups")
        row_attrs = {"id": lambda record: f"user-{record.pk}", "data-kind": "user"}

    def render_first_name(self, value, record):
        return value or record.username.upper()

    def render_groups(self, record):
        return ", ".join(group.name for group in record.groups.all()) or "<none>"

    def render_actions(self, **kwargs):
        record = kwargs["record"]
        return post_button(self, f"/users/{record.pk}/off/", "Off", confirm=f"Switch {record} off?", danger=True)


@pytest.fixture
def table(django_user_model):
    joined = timezone.make_aware(datetime(2026, 1, 2, 3, 4, 5))
    django_user_model.objects.create_user("ann", email="ann@example.com", first_name="Ann", date_joined=joined)
    django_user_model.objects.create_user(
        "<b>bob</b>", is_active=False, date_joined=joined, last_login=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    )
    rows = django_user_model.objects.annotate(
        balance=Value(Decimal("-1234.5"), output_field=DecimalField(max_digits=12, decimal_places=2))
    ).prefetch_related("groups")
    request = RequestFactory().get("/")
    request.user = django_user_model.objects.first()
    table = UserTable(rows)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return table


def test_rows_are_rendered_as_django_tables2_renders_them(table):
    expected = tables2_rows(table)
    assert len(expected) == 2
    assert kit_rows(table) == expected


def test_cells_say_what_the_columns_mean(table):
    ann, bob = kit_rows(table)
    assert '<tr id="user-' in ann and 'data-kind="user"' in ann
    assert "<td >ann@example.com</td>" in ann and "<td >no e-mail</td>" in bob
    assert (
        '<span class="status active">Active</span>' in ann and '<span class="status inactive">Deactivated</span>' in bob
    )
    assert '<td class="money">CNY -1,234.50</td>' in ann
    assert "<td >never</td>" in ann and "2026-05-06" in bob
    assert "&lt;b&gt;bob&lt;/b&gt;" in bob and "<b>" not in bob
    assert "<td >&lt;none&gt;</td>" in ann
    assert 'hx-confirm="Switch ann off?"' in ann and 'name="csrfmiddlewaretoken"' in ann
    # A row action swaps nothing: its list's region reloads itself (dashboard.ui.htmx.row_action_done).
    assert (
        f'<form method="post" action="/users/{table.data[0].pk}/off/" hx-post="/users/{table.data[0].pk}/off/"' in ann
    )
    assert 'hx-swap="none"' in ann


def test_the_export_values_of_the_columns(table):
    by_name = {column.name: column.column for column in table.columns}
    assert by_name["balance"].value(value=Decimal("-1.50")) == Decimal("-1.50")
    assert by_name["active"].value(value=False) == "deactivated"
    assert by_name["last_login"].value(value=None) == ""
    assert by_name["actions"].exclude_from_export
