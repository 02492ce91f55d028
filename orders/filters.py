"""What each list can be filtered by: one FilterSet per list (the parameters of docs/http.md, "Lists").

The table, its CSV export and its counts all use `filterset.qs`.
"""

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet

from dashboard.accounts.audit import AuditAction
from dashboard.accounts.models import AuditEntry
from dashboard.ui.filters import CatalogChoiceFilter, ListFilterSet, amount_range, created_range
from orders.models import (
    Agent,
    Customer,
    LedgerEntry,
    LedgerKind,
    Level,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    Product,
)
from orders.money import MAX_MONEY
from orders.references import ALPHABET, reference

REFERENCE_CHARACTERS = frozenset(ALPHABET)


# At most this many customers (or orders, payments, entries) a search term can stand for.
SEARCH_MATCH_LIMIT = 1_000


def could_be_reference(value: str) -> bool:
    """Whether `value` could be (part of) an order, payment or entry number."""
    return bool(value.strip()) and set(reference(value)) <= REFERENCE_CHARACTERS


class LedgerFilter(ListFilterSet):
    kind = filters.ChoiceFilter(choices=LedgerKind.choices, empty_label="Any kind")
    created_after, created_before = created_range()
    amount_min, amount_max = amount_range(limit=MAX_MONEY)

    class Meta:
        model = LedgerEntry
        fields: list[str] = []

    def search(self, queryset, name, value):
        """An entry or order number exactly, or part of a customer's username, name or mobile."""
        value = value.strip()
        return queryset.filter(
            Q(pk__in=_ids(LedgerEntry.objects.filter(entry_no=reference(value))))
            | Q(order_id__in=_ids(Order.objects.filter(order_no=reference(value))))
            | Q(customer_id__in=_ids(Customer.objects.filter(_customer_matches(value))))
        )


class PaymentFilter(ListFilterSet):
    method = filters.ChoiceFilter(choices=PaymentMethod.choices, empty_label="Any method")
    kind = filters.ChoiceFilter(choices=PaymentKind.choices, empty_label="Any kind")
    status = filters.ChoiceFilter(choices=PaymentStatus.choices, empty_label="Any status")
    created_after, created_before = created_range()
    amount_min, amount_max = amount_range(limit=MAX_MONEY)

    class Meta:
        model = Payment
        fields: list[str] = []

    def search(self, queryset, name, value):
        """A payment or order number or gateway token exactly, or part of a customer's username, name or mobile."""
        value = value.strip()
        return queryset.filter(
            Q(pk__in=_ids(Payment.objects.filter(Q(payment_no=reference(value)) | Q(provider_token=value))))
            | Q(order_id__in=_ids(Order.objects.filter(order_no=reference(value))))
            | Q(order__customer_id__in=_ids(Customer.objects.filter(_customer_matches(value))))
        )


def _ids(queryset: QuerySet) -> list[int]:
    """The matching ids, looked up first: one OR over a table's own indexed columns
    with literal ids is planned well; an OR across joins and subqueries scans the table."""
    return list(queryset.values_list("pk", flat=True)[:SEARCH_MATCH_LIMIT])


def _customer_matches(value: str) -> Q:
    return Q(user__username__icontains=value) | Q(name__icontains=value) | Q(mobile__icontains=value)


class CustomerFilter(ListFilterSet):
    level = CatalogChoiceFilter(queryset=Level.objects.all(), empty_label="Any level")
    active = filters.BooleanFilter(
        field_name="user__is_active",
        label="Status",
        widget=forms.Select(choices=[("", "Active or not"), ("true", "Active"), ("false", "Deactivated")]),
    )
    balance_min, balance_max = amount_range("balance", "Balance", limit=MAX_MONEY)

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset, name, value):
        """Part of the username, name or mobile."""
        return queryset.filter(_customer_matches(value.strip()))


class LevelFilter(ListFilterSet):
    class Meta:
        model = Level
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(name__icontains=value.strip())


class ProductFilter(ListFilterSet):
    active = filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("", "Active or not"), ("true", "Active"), ("false", "Deactivated")]),
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value.strip()) | Q(description__icontains=value.strip()))


class OrderFilter(ListFilterSet):
    """The order center (docs/http.md). Customers get the same filters minus the customer's:
    their `q` matches order numbers only and there is no level filter."""

    # distinct=False: status is the order's own column, so rows cannot repeat, and a
    # SELECT DISTINCT would sort every match before the first page.
    status = filters.MultipleChoiceFilter(
        choices=OrderStatus.choices, widget=forms.CheckboxSelectMultiple, label="Status", distinct=False
    )
    product = CatalogChoiceFilter(queryset=Product.objects.all(), empty_label="Any product")
    level = CatalogChoiceFilter(field_name="customer__level", queryset=Level.objects.all(), empty_label="Any level")
    created_after, created_before = created_range()
    amount_min, amount_max = amount_range(limit=MAX_MONEY)

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args, for_customer: bool = False, **kwargs) -> None:
        self.for_customer = for_customer
        super().__init__(*args, **kwargs)
        if for_customer:
            del self.filters["level"]
            del self.form.fields["level"]
            self.form.fields["q"].label = "Order number"
        else:
            self.form.fields["q"].help_text = "Order number, or part of it; or a customer's username, name or mobile."

    def search(self, queryset, name, value):
        """Part of an order number (a trigram index on PostgreSQL); for admins, also part
        of a customer's username, name or mobile."""
        value = value.strip()
        matches = Q()
        # A term with a letter no order number has (a name, say) is not looked for in them:
        # OR-ing that trigram search in would turn the customers' index scan into a bitmap scan.
        if could_be_reference(value):
            matches = Q(order_no__contains=reference(value)) if len(value) >= 3 else Q(order_no=reference(value))
        if not self.for_customer:
            matches |= Q(customer_id__in=_ids(Customer.objects.filter(_customer_matches(value))))
        return queryset.filter(matches) if matches else queryset.none()


class AgentFilter(ListFilterSet):
    class Meta:
        model = Agent
        fields: list[str] = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(worker_id__icontains=value.strip()) | Q(host__icontains=value.strip()))


# What the Audit page's Object filter offers: the objects that have pages of their own.
AUDITED_OBJECTS = (
    ("order", "Order"),
    ("customer", "Customer"),
    ("product", "Product"),
    ("level", "Level"),
    ("user", "User"),
)


class AuditFilter(ListFilterSet):
    actor = filters.CharFilter(method="by_actor", label="By (username)")
    action = filters.ChoiceFilter(choices=AuditAction.choices, empty_label="Any action")
    object_type = filters.ChoiceFilter(choices=AUDITED_OBJECTS, empty_label="Any object", label="Object")
    object_id = filters.CharFilter(widget=forms.HiddenInput)
    created_after, created_before = created_range("at")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def by_actor(self, queryset, name, value):
        """Exactly one user's entries (`system` for those nobody signed in wrote)."""
        value = value.strip()
        if value.lower() == "system":
            return queryset.filter(actor__isnull=True)
        return queryset.filter(actor__username__iexact=value)

    def search(self, queryset, name, value):
        """Part of what the object was called, or of the entry's detail."""
        value = value.strip()
        return queryset.filter(Q(target_repr__icontains=value) | Q(detail__icontains=value))
