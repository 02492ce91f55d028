from django.urls import path

from orders.views import (
    agents,
    audit,
    bulk,
    catalog,
    customers,
    order_forms,
    orders,
    payment_callbacks,
    payments,
    transactions,
)

urlpatterns = [
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_create, name="customer_create"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/balance/", customers.customer_balance, name="customer_balance"),
    path("levels/", catalog.level_list, name="level_list"),
    path("levels/new/", catalog.level_form, name="level_create"),
    path("levels/<int:pk>/edit/", catalog.level_form, name="level_edit"),
    path("levels/<int:pk>/delete/", catalog.level_delete, name="level_delete"),
    path("products/", catalog.product_list, name="product_list"),
    path("products/new/", catalog.product_form, name="product_create"),
    path("products/<int:pk>/edit/", catalog.product_form, name="product_edit"),
    path("products/<int:pk>/toggle/", catalog.product_toggle, name="product_toggle"),
    path("products/<int:pk>/delete/", catalog.product_delete, name="product_delete"),
    path("transactions/", transactions.ledger_list, name="ledger_list"),
    path("payments/", payments.payment_list, name="payment_list"),
]

urlpatterns += [
    path("orders/", orders.order_list, name="order_list"),
    path("orders/new/", orders.order_create, name="order_create"),
    path("orders/quote/", orders.order_quote, name="order_quote"),
    path("orders/rows/", orders.order_rows, name="order_rows"),
    path("orders/<str:order_no>/", orders.order_detail, name="order_detail"),
    path("orders/<str:order_no>/cancel/", orders.order_cancel, name="order_cancel"),
    path("orders/<str:order_no>/refund/", order_forms.order_refund, name="order_refund"),
    path("orders/<str:order_no>/reorder/", order_forms.order_reorder, name="order_reorder"),
    path("orders/<str:order_no>/notes/", order_forms.order_note_add, name="order_note_add"),
]

urlpatterns += [
    path("agents/", agents.agent_list, name="agent_list"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("bulk/<str:name>/", bulk.bulk_start, name="bulk_start"),
    path("bulk/actions/<int:pk>/", bulk.bulk_detail, name="bulk_detail"),
]

urlpatterns += [
    path("payments/callback/<str:provider>/", payment_callbacks.payment_callback, name="payment_callback"),
]
