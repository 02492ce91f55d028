from django.apps import apps
from django.urls import include, path

from dashboard import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("account/balance/", views.balance_badge, name="balance_badge"),
    path("", include("dashboard.accounts.urls")),
    path("", include("orders.urls")),
]
if apps.is_installed("orders.sandbox"):
    urlpatterns.append(path("", include("orders.sandbox.urls")))

handler400 = "dashboard.views.bad_request"
handler403 = "dashboard.views.permission_denied"
handler404 = "dashboard.views.page_not_found"
handler500 = "dashboard.views.server_error"
