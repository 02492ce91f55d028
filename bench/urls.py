from django.urls import include, path

from bench import views
from dashboard.urls import handler400, handler403, handler404, handler500  # noqa: F401 (the same error pages)

urlpatterns = [
    path("bench/bare/", views.bare, name="bench_bare"),
    path("bench/table/", views.table, name="bench_table"),
    path("", include("dashboard.urls")),
]
