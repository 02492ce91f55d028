"""The sandbox's own pages: the hosted card page and the bank's ATM transfers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.accounts.permissions import permission_required
from orders import selectors
from orders.errors import OrderPlatformError
from orders.gateways.base import CallbackRefused
from orders.models import PaymentMethod
from orders.sandbox.gateway import SandboxGateway
from orders.sandbox.models import SandboxCharge


@login_required
@require_http_methods(["GET", "POST"])
def card(request: HttpRequest, token: str) -> HttpResponse:
    """The customer approves or declines their own card payment. Only the signed-in
    owner of the order may: anyone else, admins included, gets a 404."""
    if (
        not selectors.payments_visible_to(request.user)
        .filter(provider_token=token, order__customer__user=request.user)
        .exists()
    ):
        raise Http404("No such card payment.")
    charge = get_object_or_404(SandboxCharge, token=token, method=PaymentMethod.CARD)
    if request.method == "POST" and charge.status == SandboxCharge.PENDING:
        _settle(request, charge, paid=request.POST.get("decision") == "approve")
        return redirect(charge.return_url or "/")
    return render(request, "sandbox/card.html", {"charge": charge})


@permission_required("orders.view_all_orders")
@require_http_methods(["GET", "POST"])
def atm(request: HttpRequest) -> HttpResponse:
    """An admin marks a transfer as received, as a bank would report it."""
    if request.method == "POST":
        charge = get_object_or_404(
            SandboxCharge, token=request.POST.get("token", ""), method=PaymentMethod.ATM, status=SandboxCharge.PENDING
        )
        if _settle(request, charge, paid=True):
            messages.success(request, f"Transfer {charge.account} marked as received; the order is paid.")
        return redirect("sandbox_atm")
    pending = SandboxCharge.objects.filter(method=PaymentMethod.ATM, status=SandboxCharge.PENDING).order_by(
        "-created_at"
    )[:100]
    return render(request, "sandbox/atm.html", {"charges": pending})


def _settle(request: HttpRequest, charge: SandboxCharge, *, paid: bool) -> bool:
    try:
        SandboxGateway().settle(charge, paid=paid)
    except (CallbackRefused, OrderPlatformError) as refused:
        messages.error(
            request, f"The shop refused the sandbox's callback ({refused.message}); the payment stays pending."
        )
        return False
    return True
