from django.apps import apps
from django.urls import include, path

from dashboard import lists, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("account/balance/", views.balance_badge, name="balance_badge"),
    path("lists/<slug:list_name>/columns/", lists.list_columns, name="list_columns"),
    path("lists/<slug:list_name>/views/", lists.saved_view_create, name="saved_view_create"),
    path("lists/views/<int:pk>/", lists.saved_view_open, name="saved_view_open"),
    path("lists/views/<int:pk>/rename/", lists.saved_view_rename, name="saved_view_rename"),
    path("lists/views/<int:pk>/share/", lists.saved_view_share, name="saved_view_share"),
    path("lists/views/<int:pk>/delete/", lists.saved_view_delete, name="saved_view_delete"),
    path("", include("dashboard.accounts.urls")),
    path("", include("orders.urls")),
]
if apps.is_installed("orders.sandbox"):
    urlpatterns.append(path("", include("orders.sandbox.urls")))

handler400 = "dashboard.views.bad_request"
handler403 = "dashboard.views.permission_denied"
handler404 = "dashboard.views.page_not_found"
handler500 = "dashboard.views.server_error"
