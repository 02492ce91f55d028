"""The sandbox's own pages: the hosted card page and the bank's ATM transfers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.accounts.permissions import permission_required
from dashboard.ui.htmx import HtmxHttpRequest
from orders.errors import OrderPlatformError
from orders.gateways.base import CallbackRefused
from orders.sandbox import selectors
from orders.sandbox.gateway import SandboxGateway
from orders.sandbox.models import SandboxCharge


@login_required
@require_http_methods(["GET", "POST"])
def card(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The customer approves or declines their own card payment. Only the signed-in
    owner of the order may: anyone else, admins included, gets a 404."""
    charge = selectors.card_charge_of(request.user, token)
    if request.method == "POST" and charge.status == SandboxCharge.PENDING:
        _settle(request, charge, paid=request.POST.get("decision") == "approve")
        return redirect(charge.return_url or "/")
    return render(request, "sandbox/card.html", {"charge": charge})


@permission_required("orders.view_all_orders")
@require_http_methods(["GET", "POST"])
def atm(request: HtmxHttpRequest) -> HttpResponse:
    """An admin marks a transfer as received, as a bank would report it."""
    if request.method == "POST":
        charge = selectors.atm_charge_pending(request.POST.get("token", ""))
        if _settle(request, charge, paid=True):
            messages.success(request, f"Transfer {charge.account} marked as received; the order is paid.")
        return redirect("sandbox_atm")
    return render(request, "sandbox/atm.html", {"charges": selectors.atm_charges_pending()})


def _settle(request: HtmxHttpRequest, charge: SandboxCharge, *, paid: bool) -> bool:
    try:
        SandboxGateway().settle(charge, paid=paid)
    except (CallbackRefused, OrderPlatformError) as refused:
        messages.error(
            request, f"The shop refused the sandbox's callback ({refused.message}); the payment stays pending."
        )
        return False
    return True
