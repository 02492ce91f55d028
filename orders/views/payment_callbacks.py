"""The gateway's callback: server to server, authenticated by its signature."""

import logging

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import gateways, services
from orders.errors import InvalidAmount, InvalidRequest
from orders.gateways.base import CallbackRefused

logger = logging.getLogger(__name__)


@csrf_exempt  # server to server: authenticated by the signature, not a session
@require_POST
def payment_callback(request: HttpRequest, provider: str) -> HttpResponse:
    gateway = gateways.get_gateway()
    if gateway is None or provider != gateway.name:
        raise Http404("Unknown payment provider.")
    try:
        payment = services.payment_callback_receive(gateway=gateway, body=request.body, headers=request.headers)
    except CallbackRefused as refused:
        logger.warning("payment callback from %s refused: %s", provider, refused.message)
        return JsonResponse({"error": refused.message}, status=refused.status)
    except InvalidAmount as mismatch:
        logger.warning("payment callback from %s refused, amount mismatch: %s", provider, mismatch.message)
        return JsonResponse({"error": "amount mismatch"}, status=400)
    except InvalidRequest:
        return JsonResponse({"error": "unknown payment"}, status=404)
    return JsonResponse({"payment_no": payment.payment_no, "status": payment.status})
