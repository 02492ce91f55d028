"""The shell's pages: the home page of each role, the balance badge, `/healthz` and the error pages."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from dashboard import charts
from dashboard.ui.htmx import HtmxHttpRequest
from dashboard.ui.lists import short_table
from orders import selectors
from orders.tables import RecentOrderTable


@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    if selectors.sees_everything(request.user):
        figures = selectors.admin_dashboard()
        chart = charts.orders_and_revenue(figures["days"], settings.CURRENCY)
        return render(request, "dashboard/home_admin.html", {"figures": figures, "chart": chart})
    customer = selectors.customer_for(request.user)
    figures = selectors.customer_dashboard(customer) if customer else None
    recent = short_table(request, RecentOrderTable, figures["recent_orders"]) if figures else None
    return render(
        request, "dashboard/home_customer.html", {"customer": customer, "figures": figures, "recent_orders": recent}
    )


@login_required
def balance_badge(request: HtmxHttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    if customer is None:
        raise Http404("Only customers have a balance.")
    return render(request, "base.html#balance-badge", {"badge_customer": customer})


_migrations_applied = False


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers and every migration is applied, else 503 (for load balancers)."""
    global _migrations_applied
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            # Migrations only move forward: once applied, there is no need to look again.
            _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": type(error).__name__}, status=503)
    if not _migrations_applied:
        return JsonResponse({"status": "unavailable", "database": "ok", "migrations": "pending"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "migrations": "applied"})


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # A page of its own, rendered without the request: whatever failed must not fail again here.
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/403_csrf.html", status=403)
