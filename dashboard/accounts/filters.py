"""What the Users page can be filtered by."""

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from dashboard.ui.filters import ListFilterSet


class UserFilter(ListFilterSet):
    active = filters.BooleanFilter(
        field_name="is_active",
        label="Status",
        widget=forms.Select(choices=[("", "Active or not"), ("true", "Active"), ("false", "Deactivated")]),
    )
    second_factor = filters.BooleanFilter(
        label="Second factor",
        widget=forms.Select(choices=[("", "Any"), ("true", "Enrolled"), ("false", "Not enrolled")]),
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
