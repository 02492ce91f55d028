"""The filter base every list uses, and the filters that mean the same on every list."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import django_filters as filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import fields as filter_fields


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class CatalogChoiceIterator(filter_fields.ModelChoiceIterator):
    """The choices of a short catalog table (products, levels) read with one plain
    query, kept on the form's own queryset. Django's iterator() would open a
    server-side cursor on PostgreSQL: a WITH HOLD cursor outside a transaction, with
    three round trips to declare, fetch and close it, on every page view."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset:
            yield self.choice(obj)


class CatalogChoiceField(filter_fields.ModelChoiceField):
    iterator = CatalogChoiceIterator


class CatalogChoiceFilter(filters.ModelChoiceFilter):
    field_class = CatalogChoiceField


class DateInput(forms.DateInput):
    input_type = "date"


class ListFilterSet(filters.FilterSet):
    """Shared by every list: the free-text `q` and labels without a colon."""

    q = filters.CharFilter(method="search", label="Search")
    # The rows of a selection (`ids=3,5,8`): what "Export the selection" links to.
    ids = filters.CharFilter(method="only_ids", widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.form.label_suffix = ""

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        raise NotImplementedError

    def only_ids(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(pk__in=parse_ids(value))

    @property
    def active(self) -> bool:
        """Whether any filter is set (the page says so and offers a reset)."""
        return self.is_bound and any(v not in (None, "", []) for v in self.form.cleaned_data.values())


# How many rows a selection by ticks can name (more: "select all matching").
MAX_IDS = 1000


def parse_ids(value: str) -> list[int]:
    """The ids of `3,5,8` (what is not a number is left out), at most MAX_IDS."""
    return [int(part) for part in value.split(",") if part.strip().isdigit()][:MAX_IDS]


def created_range(field: str = "created_at"):
    """`created_after` and `created_before`, both days inclusive, in the user's time zone.

    Compared as [start of first day, start of the day after the last) so that the
    index on the timestamp is used.
    """

    def after(queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(**{f"{field}__gte": start_of_day(value)})

    def before(queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(**{f"{field}__lt": start_of_day(value + timedelta(days=1))})

    return (
        filters.DateFilter(method=after, label="From date", widget=DateInput),
        filters.DateFilter(method=before, label="To date", widget=DateInput),
    )


def amount_range(field: str = "amount", label: str = "Amount", *, limit: Decimal):
    """`<field>_min` and `<field>_max` as "from" and "to", both inclusive, within ±`limit`."""
    bound = {"min_value": -limit, "max_value": limit, "decimal_places": 2, "max_digits": 12}
    return (
        filters.NumberFilter(field_name=field, lookup_expr="gte", label=f"{label} from", **bound),
        filters.NumberFilter(field_name=field, lookup_expr="lte", label=f"{label} to", **bound),
    )
