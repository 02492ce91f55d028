"""Notes an admin adds to an order's timeline, from the order's page."""

from django.contrib import messages
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post
from orders import selectors, services
from orders.errors import OrderPlatformError
from orders.forms import NoteForm


@permission_required("orders.view_all_orders")
@require_POST
def order_note_add(request: HtmxHttpRequest, order_no: str) -> HttpResponse:
    order = selectors.order_get_for(request.user, order_no)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No note was added: {next(iter(form.errors.values()))[0]}")
        return redirect_after_post(request, "order_detail", order.order_no)
    try:
        services.order_note_add(order=order, author=request.user, **form.cleaned_data)
    except OrderPlatformError as refused:
        messages.error(request, f"No note was added: {refused.message}")
    else:
        shown = "the customer sees it too" if form.cleaned_data["for_customer"] else "only admins see it"
        messages.success(request, f"Note added to order {order.order_no}; {shown}.")
    return redirect_after_post(request, "order_detail", order.order_no)
