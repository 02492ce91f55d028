"""The gateway's callback (server to server), and the sandbox gateway's own pages."""

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dashboard.permissions import permission_required
from orders import gateways, services
from orders.errors import InvalidAmount, InvalidRequest
from orders.gateways.base import CallbackRefused
from orders.gateways.sandbox import SandboxGateway
from orders.models import PaymentMethod, SandboxCharge

logger = logging.getLogger(__name__)


@csrf_exempt  # server to server: authenticated by the signature, not a session
@require_POST
def payment_callback(request: HttpRequest, provider: str) -> HttpResponse:
    gateway = gateways.get_gateway()
    if provider != gateway.name:
        raise Http404("Unknown payment provider.")
    try:
        settlement = gateway.verify_callback(request.body, request.headers)
        payment = services.payment_settle(
            token=settlement.token, paid=settlement.paid, amount=settlement.amount, source=f"{gateway.label} callback"
        )
    except CallbackRefused as refused:
        logger.warning("payment callback from %s refused: %s", provider, refused.message)
        return JsonResponse({"error": refused.message}, status=refused.status)
    except InvalidAmount as mismatch:
        logger.warning("payment callback from %s refused, amount mismatch: %s", provider, mismatch.message)
        return JsonResponse({"error": "amount mismatch"}, status=400)
    except InvalidRequest:
        return JsonResponse({"error": "unknown payment"}, status=404)
    return JsonResponse({"payment_no": payment.payment_no, "status": payment.status})


def sandbox_card(request: HttpRequest, token: str) -> HttpResponse:
    """The sandbox's hosted card page: the customer approves or declines."""
    charge = get_object_or_404(SandboxCharge, token=token, method=PaymentMethod.CARD)
    if request.method == "POST" and charge.status == SandboxCharge.PENDING:
        paid = request.POST.get("decision") == "approve"
        status = SandboxGateway().settle(charge, paid=paid)
        if status != 200:
            messages.error(request, "The sandbox could not reach the shop's callback; the payment stays pending.")
        return redirect(charge.return_url or "/")
    return render(request, "sandbox/card.html", {"charge": charge})


@permission_required("orders.view_all_orders")
def sandbox_atm(request: HttpRequest) -> HttpResponse:
    """The sandbox's ATM transfers: an admin marks one as received, as a bank would report it."""
    if request.method == "POST":
        charge = get_object_or_404(SandboxCharge, token=request.POST.get("token"), method=PaymentMethod.ATM, status=SandboxCharge.PENDING)
        status = SandboxGateway().settle(charge, paid=True)
        if status == 200:
            messages.success(request, f"Transfer {charge.account} marked as received; the order is paid.")
        else:
            messages.error(request, "The sandbox could not reach the shop's callback; the payment stays pending.")
        return redirect("sandbox_atm")
    pending = SandboxCharge.objects.filter(method=PaymentMethod.ATM, status=SandboxCharge.PENDING).order_by("-created_at")[:100]
    return render(request, "sandbox/atm.html", {"charges": pending})
