"""The ceilings the platform's pages are held to (bench/README.md).

`bare` is the least a Django view can do; `table` is the least a signed-in page
listing orders can do: session and user from the database, 25 rows in one query,
a template loop. Neither has a menu, filters, counts or links.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines

from orders.models import Order

# Compiled once, as the cached template loader does for the real pages.
TABLE = engines["django"].from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orders</title></head><body>
<table><thead><tr><th>Order</th><th>Status</th><th>Amount</th><th>Placed</th></tr></thead><tbody>
{% for order_no, status, amount, created_at in rows %}<tr><td>{{ order_no }}</td><td>{{ status }}</td>
<td>{{ amount }}</td><td>{{ created_at|date:"Y-m-d H:i" }}</td></tr>
{% endfor %}</tbody></table></body></html>""")


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@login_required
def table(request: HttpRequest) -> HttpResponse:
    rows = Order.objects.order_by("-created_at", "-id").values_list("order_no", "status", "amount", "created_at")[:25]
    return HttpResponse(TABLE.render({"rows": rows}, request))
