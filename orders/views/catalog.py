"""Levels and products with their price tiers."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest, row_action_done
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from orders import selectors, services
from orders.errors import OrderPlatformError
from orders.filters import LevelFilter, ProductFilter
from orders.forms import LevelForm, ProductForm, tier_formset
from orders.tables import LevelTable, ProductTable

LEVELS = register(Listing("levels", LevelTable, url_name="level_list", permission="orders.view_level"))
PRODUCTS = register(Listing("products", ProductTable, url_name="product_list", permission="orders.change_product"))


@permission_required("orders.view_level")
def level_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = LevelFilter(request.GET or None, queryset=selectors.levels_with_counts())
    return render_list(
        request,
        filterset=filterset,
        table_class=LevelTable,
        template="orders/level_list.html",
        region="levels-table",
        export_name="levels",
        listing=LEVELS,
    )


@permission_required("orders.change_level")
@require_http_methods(["GET", "POST"])
def level_form(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    level = selectors.level_get(pk) if pk else None
    form = LevelForm(request.POST or None, instance=level)
    if request.method == "POST" and form.is_valid():
        saved = services.level_save(level=level, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Saved level {saved.name} ({saved.percent}%).")
        return redirect("level_list")
    return render(
        request, "orders/level_form.html", {"form": form, "level": level}, status=422 if form.is_bound else 200
    )


@permission_required("orders.change_level")
@require_POST
def level_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    level = selectors.level_get(pk)
    try:
        services.level_delete(level=level, actor=request.user)
    except OrderPlatformError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Deleted level {level.name}.")
    return row_action_done(request, region="levels-table", redirect_to="level_list")


# Customers may view products (to order them), but this page is the admin's catalogue.
@permission_required("orders.change_product")
def product_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = ProductFilter(request.GET or None, queryset=selectors.products_with_tiers())
    return render_list(
        request,
        filterset=filterset,
        table_class=ProductTable,
        template="orders/product_list.html",
        region="products-table",
        export_name="products",
        listing=PRODUCTS,
    )


@permission_required("orders.change_product")
@require_http_methods(["GET", "POST"])
def product_form(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or edit a product and its tiers. "Add tier" / "Remove" re-render the form
    (the whole page, or with htmx only the form) and save nothing."""
    product = selectors.product_get(pk) if pk else None
    action = request.POST.get("tier_action", "")
    form = ProductForm(request.POST or None, instance=product)
    tiers = tier_formset(request.POST or None, product=product, action=action)
    status = 200
    if request.method == "POST" and not action:
        if form.is_valid() and tiers.is_valid():
            try:
                saved = services.product_save(
                    product=product, tiers=tiers.tiers(), actor=request.user, **form.cleaned_data
                )
            except OrderPlatformError as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(
                    request,
                    f"Saved {saved.name} with {len(tiers.tiers())} price tier{'s' if len(tiers.tiers()) != 1 else ''}.",
                )
                return redirect("product_list")
        status = 422
    template = "orders/product_form.html#product-form" if request.htmx and action else "orders/product_form.html"
    return render(request, template, {"form": form, "tiers": tiers, "product": product}, status=status)


@permission_required("orders.change_product")
@require_POST
def product_toggle(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(pk)
    services.product_set_active(product=product, active=not product.active, actor=request.user)
    messages.success(
        request,
        f"{product.name} is {'active again' if product.active else 'deactivated: it can no longer be ordered'}.",
    )
    return row_action_done(request, region="products-table", redirect_to="product_list")


@permission_required("orders.change_product")
@require_POST
def product_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    product = selectors.product_get(pk)
    try:
        services.product_delete(product=product, actor=request.user)
    except OrderPlatformError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Deleted {product.name}.")
    return row_action_done(request, region="products-table", redirect_to="product_list")
