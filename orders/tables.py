"""What each list shows: one django-tables2 Table per list, rendered by
templates/tables/table.html. Each `Meta.fields` and `select_related` in its
selector keep a page at a constant number of queries."""

import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from orders.models import Customer, LedgerEntry, Level, Order, Payment, Product
from orders.templatetags.money import money

DATETIME_FORMAT = "Y-m-d H:i"


class MoneyColumn(tables.Column):
    """Right-aligned, with the currency on screen; a plain number in CSV."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("attrs", {"th": {"class": "money"}, "td": {"class": "money"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return money(value)

    def value(self, value):
        return str(value)


class ReferenceColumn(tables.Column):
    """An order, payment or entry number: monospace, and a link where it has a page."""

    def __init__(self, *args, url_name: str | None = None, **kwargs) -> None:
        self.url_name = url_name
        kwargs.setdefault("attrs", {"td": {"class": "mono"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        if self.url_name:
            try:
                return format_html('<a href="{}">{}</a>', reverse(self.url_name, args=[value]), value)
            except NoReverseMatch:  # order pages arrive with the orders issue
                return value
        return value

    def value(self, value):
        return value


class ActiveColumn(tables.Column):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("verbose_name", "Status")
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_html('<span class="status {}">{}</span>', *(("active", "Active") if value else ("inactive", "Deactivated")))

    def value(self, value):
        return "active" if value else "deactivated"


class ListTable(tables.Table):
    class Meta:
        attrs = {"class": "data"}
        empty_text = "Nothing matches these filters. Clear a filter or widen the dates."


class LocalDateTimeColumn(tables.DateTimeColumn):
    """In the user's time zone on screen and in CSV."""

    def value(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def newest_first(verbose_name: str = "Date") -> LocalDateTimeColumn:
    # Ties broken by id, matching the (created_at, id) indexes.
    return LocalDateTimeColumn(verbose_name=verbose_name, format=DATETIME_FORMAT, order_by=("created_at", "id"))


class LedgerTable(ListTable):
    created_at = newest_first()
    entry_no = ReferenceColumn(verbose_name="Entry", orderable=False)
    customer = tables.Column(
        accessor="customer__name", verbose_name="Customer", orderable=False, linkify=("customer_detail", [tables.A("customer_id")])
    )
    kind = tables.Column(orderable=False)
    amount = MoneyColumn(order_by=("amount", "id"))
    balance_after = MoneyColumn(verbose_name="Balance after", orderable=False)
    order = ReferenceColumn(accessor="order__order_no", verbose_name="Order", orderable=False, url_name="order_detail", default="—")
    memo = tables.Column(orderable=False, default="", attrs={"td": {"class": "wrap"}})
    actor = tables.Column(accessor="actor__username", verbose_name="By", orderable=False, default="system")

    class Meta(ListTable.Meta):
        model = LedgerEntry
        fields = ("created_at", "entry_no", "customer", "kind", "amount", "balance_after", "order", "memo", "actor")
        order_by = ("-created_at",)
        empty_text = "No transactions match. Clear a filter or widen the dates."


class PaymentTable(ListTable):
    created_at = newest_first()
    payment_no = ReferenceColumn(verbose_name="Payment", orderable=False)
    order = ReferenceColumn(accessor="order__order_no", verbose_name="Order", orderable=False, url_name="order_detail")
    customer = tables.Column(accessor="order__customer__name", verbose_name="Customer", orderable=False)
    method = tables.Column(orderable=False)
    kind = tables.Column(orderable=False)
    status = tables.Column(orderable=False)
    amount = MoneyColumn(order_by=("amount", "id"))

    class Meta(ListTable.Meta):
        model = Payment
        fields = ("created_at", "payment_no", "order", "customer", "method", "kind", "status", "amount")
        order_by = ("-created_at",)
        empty_text = "No payments match. Clear a filter or widen the dates."

    def render_status(self, value, record):
        return format_html('<span class="status {}">{}</span>', record.status, value)


class CustomerTable(ListTable):
    username = tables.Column(accessor="user__username", verbose_name="Username", linkify=("customer_detail", [tables.A("pk")]))
    name = tables.Column()
    mobile = tables.Column(orderable=False)
    level = tables.Column(accessor="level__name", verbose_name="Level")
    balance = MoneyColumn(order_by=("balance", "id"))
    active = ActiveColumn(accessor="user__is_active")
    actions = tables.TemplateColumn(
        template_name="orders/customer_actions.html", verbose_name="", orderable=False,
        exclude_from_export=True, attrs={"td": {"class": "actions"}},
    )

    class Meta(ListTable.Meta):
        model = Customer
        fields = ("username", "name", "mobile", "level", "balance", "active", "actions")
        order_by = ("name",)
        empty_text = "No customers match. Clear a filter, or add a customer."

    def render_balance(self, value, record):
        return format_html('<span id="customer-{}-balance">{}</span>', record.pk, money(value))


class LevelTable(ListTable):
    name = tables.Column()
    percent = tables.Column(verbose_name="Pays", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    customer_count = tables.Column(verbose_name="Customers", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    actions = tables.TemplateColumn(
        template_name="orders/level_actions.html", verbose_name="", orderable=False,
        exclude_from_export=True, attrs={"td": {"class": "actions"}},
    )

    class Meta(ListTable.Meta):
        model = Level
        fields = ("name", "percent", "customer_count", "actions")
        order_by = ("-percent",)
        empty_text = "No levels yet. Add one: every customer needs a level."

    def render_percent(self, value):
        return f"{value}%"


class ProductTable(ListTable):
    name = tables.Column()
    tiers = tables.Column(empty_values=(), verbose_name="Price tiers", orderable=False)
    active = ActiveColumn()
    actions = tables.TemplateColumn(
        template_name="orders/product_actions.html", verbose_name="", orderable=False,
        exclude_from_export=True, attrs={"td": {"class": "actions"}},
    )

    class Meta(ListTable.Meta):
        model = Product
        fields = ("name", "tiers", "active", "actions")
        order_by = ("name",)
        empty_text = "No products match. Clear the filters, or add a product."

    def render_tiers(self, record):
        return "; ".join(f"from {tier.min_quantity:,}: {money(tier.unit_price)}" for tier in record.tiers.all()) or "—"

    def value_tiers(self, record):
        return self.render_tiers(record)



class StatusColumn(tables.Column):
    def render(self, value, record):
        return format_html('<span class="status {}">{}</span>', record.status, value)


class OrderTable(ListTable):
    order_no = ReferenceColumn(verbose_name="Order", orderable=False, url_name="order_detail")
    created_at = newest_first("Placed")
    customer = tables.Column(accessor="customer__name", verbose_name="Customer", orderable=False)
    product = tables.Column(accessor="product__name", verbose_name="Product", orderable=False)
    quantity = tables.Column(attrs={"th": {"class": "num"}, "td": {"class": "num"}}, orderable=False)
    amount = MoneyColumn(order_by=("amount", "id"))
    status = StatusColumn(orderable=False)
    actions = tables.TemplateColumn(
        template_name="orders/order_actions.html", verbose_name="", orderable=False,
        exclude_from_export=True, attrs={"td": {"class": "actions"}},
    )

    class Meta(ListTable.Meta):
        model = Order
        fields = ("order_no", "created_at", "customer", "product", "quantity", "amount", "status", "actions")
        order_by = ("-created_at",)
        empty_text = "No orders match. Clear a filter or widen the dates."
        row_attrs = {"id": lambda record: f"order-{record.order_no}"}
