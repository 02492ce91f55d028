"""The Users page as a list like every other: its filter and its table."""

import django_filters as filters
import django_tables2 as tables
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.html import format_html_join

from orders.filters import ListFilterSet
from orders.tables import ActiveColumn, ListTable, LocalDateTimeColumn


class UserFilter(ListFilterSet):
    active = filters.BooleanFilter(
        field_name="is_active",
        label="Status",
        widget=forms.Select(choices=[("", "Active or not"), ("true", "Active"), ("false", "Deactivated")]),
    )

    class Meta:
        model = get_user_model()
        fields: list[str] = []

    def search(self, queryset, name, value):
        """Part of the username, or of a customer's name or mobile."""
        value = value.strip()
        return queryset.filter(
            Q(username__icontains=value) | Q(customer__name__icontains=value) | Q(customer__mobile__icontains=value)
        )


class UserTable(ListTable):
    username = tables.Column()
    name = tables.Column(accessor="customer__name", verbose_name="Name", empty_values=(), orderable=False)
    role = tables.Column(empty_values=(), verbose_name="Role", orderable=False)
    active = ActiveColumn(accessor="is_active")
    last_login = LocalDateTimeColumn(verbose_name="Last sign-in", format="Y-m-d H:i", default="never")
    session_count = tables.Column(verbose_name="Sessions", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    actions = tables.TemplateColumn(
        template_name="dashboard/user_actions.html", verbose_name="", orderable=False,
        exclude_from_export=True, attrs={"td": {"class": "actions"}},
    )

    class Meta(ListTable.Meta):
        model = get_user_model()
        fields = ("username", "name", "role", "active", "last_login", "session_count", "actions")
        order_by = ("username",)
        empty_text = "No user matches. Try part of a username, a name or a mobile number."

    def render_name(self, value, record):
        return value or record.get_full_name() or "—"

    def render_role(self, record):
        if record.is_superuser:
            return "Superuser"
        return format_html_join(", ", "{}", ((group.name.capitalize(),) for group in record.groups.all())) or "—"

    def value_role(self, record):
        return "superuser" if record.is_superuser else ", ".join(group.name for group in record.groups.all())
