"""What each list of the domain shows: one Table per list, on `dashboard.ui.tables.ListTable`
(rendered by the kit's `ui/table.html`). Each `Meta.fields` and the `select_related` of
its selector keep a page at a constant number of queries. The short tables of a page
(an order's payments, a customer's last orders) are variants of the lists' tables,
shown whole (`dashboard.ui.lists.short_table`)."""

from datetime import timedelta
from functools import cached_property

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from dashboard.accounts.audit import AuditAction
from dashboard.accounts.models import AuditEntry
from dashboard.ui.bulk import SelectColumn
from dashboard.ui.formatting import format_money
from dashboard.ui.tables import (
    WIDE_ONLY,
    ActionsColumn,
    ActiveColumn,
    ListTable,
    LocalDateTimeColumn,
    MoneyColumn,
    ReferenceColumn,
    StatusColumn,
    newest_first,
    post_button,
)
from orders import selectors
from orders.models import Agent, Customer, LedgerEntry, Level, Order, OrderStatus, Payment, Product

# To the second, on an order's own page: its payments and entries come seconds apart.
TO_THE_SECOND = "%Y-%m-%d %H:%M:%S"


class LedgerTable(ListTable):
    key_column = "entry_no"
    created_at = newest_first()
    entry_no = ReferenceColumn(verbose_name="Entry", orderable=False)
    customer = tables.Column(accessor="customer__name", verbose_name="Customer", orderable=False)
    kind = tables.Column(orderable=False)
    amount = MoneyColumn(order_by=("amount", "id"))
    balance_after = MoneyColumn(verbose_name="Balance after", orderable=False)
    order = ReferenceColumn(
        accessor="order__order_no", verbose_name="Order", orderable=False, url_name="order_detail", default="—"
    )
    memo = tables.Column(orderable=False, default="", attrs={"td": {"class": "wrap"}})
    actor = tables.Column(accessor="actor_name", verbose_name="By", orderable=False, default="system")

    class Meta(ListTable.Meta):
        model = LedgerEntry
        fields = ("created_at", "entry_no", "customer", "kind", "amount", "balance_after", "order", "memo", "actor")
        order_by = ("-created_at",)
        empty_text = "No transactions match. Clear a filter or widen the dates."

    def render_customer(self, value, record):
        if self.request.user.has_perm("orders.view_customer"):
            return format_html('<a href="{}">{}</a>', reverse("customer_detail", args=[record.customer_id]), value)
        return value


class OrderLedgerTable(LedgerTable):
    """The balance changes of one order, on its page, oldest first."""

    created_at = LocalDateTimeColumn(verbose_name="Date", format=TO_THE_SECOND)

    class Meta(LedgerTable.Meta):
        exclude = ("customer", "order", "memo", "actor")
        sequence = ("entry_no", "kind", "amount", "balance_after", "created_at")
        empty_text = "No balance changes."


class PaymentTable(ListTable):
    select = SelectColumn()
    key_column = "payment_no"
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
        fields = ("select", "created_at", "payment_no", "order", "customer", "method", "kind", "status", "amount")
        order_by = ("-created_at",)
        empty_text = "No payments match. Clear a filter or widen the dates."

    def render_status(self, value, record):
        return format_html('<span class="status {}">{}</span>', record.status, value)


class OrderPaymentTable(PaymentTable):
    """The payments of one order, on its page, oldest first."""

    created_at = LocalDateTimeColumn(verbose_name="Date", format=TO_THE_SECOND)

    class Meta(PaymentTable.Meta):
        exclude = ("select", "order", "customer")
        sequence = ("payment_no", "kind", "method", "status", "amount", "created_at")
        empty_text = "No payments."


class CustomerTable(ListTable):
    select = SelectColumn()
    username = tables.Column(accessor="user__username", verbose_name="Username")
    name = tables.Column()
    mobile = tables.Column(orderable=False)
    level = tables.Column(accessor="level__name", verbose_name="Level")
    balance = MoneyColumn(order_by=("balance", "id"))
    active = ActiveColumn(accessor="user__is_active")
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = Customer
        fields = ("select", "username", "name", "mobile", "level", "balance", "active", "actions")
        order_by = ("name",)
        empty_text = "No customers match. Clear a filter, or add a customer."

    def render_username(self, value, record):
        return format_html('<a href="{}">{}</a>', reverse("customer_detail", args=[record.pk]), value)

    def render_balance(self, value, record):
        return format_html('<span id="customer-{}-balance">{}</span>', record.pk, format_money(value))

    def render_actions(self, record):
        url = reverse("customer_balance", args=[record.pk])
        return format_html(
            '<div class="row-actions">'
            '<a class="button small" href="{0}?kind=top_up" hx-get="{0}?kind=top_up" hx-target="#dialog">Top up</a>'
            '<a class="button small" href="{0}?kind=deduct" hx-get="{0}?kind=deduct" hx-target="#dialog">Deduct</a></div>',
            url,
        )


class LevelTable(ListTable):
    name = tables.Column()
    percent = tables.Column(verbose_name="Pays", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    customer_count = tables.Column(verbose_name="Customers", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = Level
        fields = ("name", "percent", "customer_count", "actions")
        order_by = ("-percent",)
        empty_text = "No levels match. Clear the search, or add a level: every customer needs one."

    def render_percent(self, value):
        return f"{value}%"

    def render_actions(self, record):
        edit = format_html('<a class="button small" href="{}">Edit</a>', reverse("level_edit", args=[record.pk]))
        delete = (
            ""
            if record.customer_count
            else post_button(
                self,
                reverse("level_delete", args=[record.pk]),
                "Delete",
                danger=True,
                confirm=f"Delete the level {record.name}?",
            )
        )
        return format_html('<div class="row-actions">{}{}</div>', edit, delete)


class ProductTable(ListTable):
    name = tables.Column()
    # Wrapped: on a laptop, three tiers on one line pushed the row's buttons out of sight.
    tiers = tables.Column(empty_values=(), verbose_name="Price tiers", orderable=False, attrs={"td": {"class": "wrap"}})
    active = ActiveColumn()
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = Product
        fields = ("name", "tiers", "active", "actions")
        order_by = ("name",)
        empty_text = "No products match. Clear the filters, or add a product."

    def render_tiers(self, record):
        return (
            "; ".join(f"from {tier.min_quantity:,}: {format_money(tier.unit_price)}" for tier in record.tiers.all())
            or "—"
        )

    def value_tiers(self, record):
        return self.render_tiers(record)

    def render_actions(self, record):
        edit = format_html('<a class="button small" href="{}">Edit</a>', reverse("product_edit", args=[record.pk]))
        toggle = post_button(
            self,
            reverse("product_toggle", args=[record.pk]),
            "Deactivate" if record.active else "Activate",
            danger=record.active,
            confirm=f"Deactivate {record.name}? Customers can no longer order it; orders already placed are not affected."
            if record.active
            else f"Activate {record.name}? Customers can order it again.",
        )
        # Whether it was ever ordered is checked on delete: asking for every row would read the orders table.
        delete = post_button(
            self,
            reverse("product_delete", args=[record.pk]),
            "Delete",
            danger=True,
            confirm=f"Delete {record.name}? Only a product that was never ordered can be deleted; one with orders can only be deactivated.",
        )
        return format_html('<div class="row-actions">{}{}{}</div>', edit, toggle, delete)


class OrderTable(ListTable):
    select = SelectColumn()
    order_no = ReferenceColumn(verbose_name="Order", orderable=False, url_name="order_detail")
    created_at = LocalDateTimeColumn(verbose_name="Placed", order_by=("created_at", "id"), attrs=WIDE_ONLY)
    customer = tables.Column(accessor="customer__name", verbose_name="Customer", orderable=False)
    product = tables.Column(accessor="product__name", verbose_name="Product", orderable=False, attrs=WIDE_ONLY)
    quantity = tables.Column(attrs={"th": {"class": "num hide-sm"}, "td": {"class": "num hide-sm"}}, orderable=False)
    amount = MoneyColumn(order_by=("amount", "id"))
    status = StatusColumn(orderable=False)
    actions = ActionsColumn()

    class Meta(ListTable.Meta):
        model = Order
        fields = ("select", "order_no", "created_at", "customer", "product", "quantity", "amount", "status", "actions")
        order_by = ("-created_at",)
        empty_text = "No orders match. Clear a filter or widen the dates."
        row_attrs = {"id": lambda record: f"order-{record.order_no}"}

    def render_quantity(self, value):
        return f"{value:,}"

    def render_actions(self, record):
        if record.status != OrderStatus.PENDING or not self.request.user.has_perm("orders.cancel_order"):
            return ""
        return post_button(
            self,
            reverse("order_cancel", args=[record.order_no]),
            "Cancel order",
            danger=True,
            confirm=f"Cancel order {record.order_no}? Its {format_money(record.amount)} goes back to the balance.",
        )


class CustomerOrderTable(OrderTable):
    """A customer's own orders: the order list without the customer."""

    class Meta(OrderTable.Meta):
        exclude = ("select", "customer")


class RecentOrderTable(OrderTable):
    """A customer's last orders (their home page, their page in the back office), newest first."""

    class Meta(OrderTable.Meta):
        exclude = ("select", "customer", "actions")
        sequence = ("order_no", "product", "quantity", "amount", "status", "created_at")
        empty_text = "No orders yet."


class AgentTable(ListTable):
    worker_id = tables.Column(verbose_name="Agent", attrs={"td": {"class": "mono"}})
    state = tables.Column(empty_values=(), verbose_name="State", orderable=False)
    host = tables.Column(orderable=False)
    executor = tables.Column(orderable=False)
    started_at = LocalDateTimeColumn(verbose_name="Started")
    last_heartbeat = LocalDateTimeColumn(verbose_name="Last heartbeat", format="%Y-%m-%d %H:%M:%S")
    completed = tables.Column(attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    failed = tables.Column(attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    current = tables.Column(empty_values=(), verbose_name="Running now", orderable=False, exclude_from_export=True)

    class Meta(ListTable.Meta):
        model = Agent
        fields = (
            "worker_id",
            "state",
            "host",
            "executor",
            "started_at",
            "last_heartbeat",
            "completed",
            "failed",
            "current",
        )
        order_by = ("-last_heartbeat",)
        empty_text = "No agent has run yet. Start one with: python manage.py run_agent (make run starts one)."

    @cached_property
    def running_orders(self) -> dict[str, list[str]]:
        """The orders each agent on this page holds right now: one query."""
        return selectors.orders_running_on([row.record.worker_id for row in self.paginated_rows])

    def render_state(self, record):
        if record.stopped_at:
            return format_html('<span class="status cancelled">{}</span>', "Stopped")
        if record.last_heartbeat < timezone.now() - timedelta(seconds=settings.AGENT_LEASE_SECONDS):
            return format_html(
                '<span class="status failed" title="{}">{}</span>',
                "No heartbeat for longer than a lease: the agent has probably died; its orders return to the queue when their leases expire.",
                "Stale",
            )
        return format_html('<span class="status completed">{}</span>', "Alive")

    def value_state(self, record):
        return "stopped" if record.stopped_at else "alive"

    def render_current(self, record):
        numbers = self.running_orders.get(record.worker_id, [])
        return (
            format_html_join(
                " ", '<a class="mono" href="{}">{}</a>', ((reverse("order_detail", args=[n]), n) for n in numbers)
            )
            or "—"
        )


# What an audit entry's object is called, where its model's name is not a word.
AUDIT_OBJECT_KINDS = {"bulkaction": "Bulk action", "savedview": "Saved view"}


def audit_object_url(object_type: str, object_id: str, name: str) -> str | None:
    """The page of what an audit entry names, while it has one."""
    if object_type == "order" and name:
        return reverse("order_detail", args=[name])
    pages = {
        "customer": "customer_detail",
        "product": "product_edit",
        "level": "level_edit",
        "user": "user_list",
        "bulkaction": "bulk_detail",
    }
    if object_type not in pages or not object_id.isdigit():
        return None
    if object_type == "user":
        return f"{reverse('user_list')}?q={name}"
    return reverse(pages[object_type], args=[int(object_id)])


class AuditTable(ListTable):
    at = LocalDateTimeColumn(verbose_name="Time", format=TO_THE_SECOND, order_by=("at", "id"))
    actor = tables.Column(accessor="actor__username", verbose_name="By", orderable=False, default="system")
    action = tables.Column(orderable=False)
    target_repr = tables.Column(
        empty_values=(), verbose_name="Object", orderable=False, attrs={"td": {"class": "wrap"}}
    )
    changes = tables.Column(empty_values=(), verbose_name="Changes", orderable=False, attrs={"td": {"class": "wrap"}})
    detail = tables.Column(orderable=False, default="", attrs={"td": {"class": "wrap"}})
    client_address = tables.Column(verbose_name="From", orderable=False, default="", attrs=WIDE_ONLY)

    class Meta(ListTable.Meta):
        model = AuditEntry
        fields = ("at", "actor", "action", "target_repr", "changes", "detail", "client_address")
        order_by = ("-at",)
        empty_text = "No entries match. Clear a filter or widen the dates."

    def render_action(self, value):
        return AuditAction(value).label if value in AuditAction.values else value

    def value_action(self, value):
        return value

    def render_target_repr(self, value, record):
        if not record.object_type:
            # No object, only a name: the username a failed sign-in typed.
            return value or "—"
        kind = AUDIT_OBJECT_KINDS.get(record.object_type, record.object_type.capitalize())
        url = audit_object_url(record.object_type, record.object_id, value)
        if url is None:
            return format_html('<span class="muted">{}</span> {}', kind, value)
        return format_html('<span class="muted">{}</span> <a href="{}">{}</a>', kind, url, value)

    def value_target_repr(self, value, record):
        return f"{record.object_type}:{record.object_id} {value}".strip()

    def render_changes(self, record):
        if not record.changes:
            return "—"
        return format_html_join(
            ", ",
            "{}: {} → {}",
            ((field, before or "∅", after or "∅") for field, (before, after) in record.changes.items()),
        )

    def value_changes(self, record):
        return "; ".join(f"{field}: {before} -> {after}" for field, (before, after) in record.changes.items())
