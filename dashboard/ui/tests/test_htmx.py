"""The htmx helpers: redirect after a POST, and messages as toasts."""

import json

from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from dashboard.ui.htmx import HtmxMessagesMiddleware, redirect_after_post


def request_for(htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    request = RequestFactory().post("/things/1/delete/", headers=headers)
    request.session = {}
    request._messages = FallbackStorage(request)
    HtmxMiddleware(lambda r: None)(request)
    return request


def test_after_a_post_a_browser_is_redirected_and_htmx_loads_the_page_whole():
    assert redirect_after_post(request_for(htmx=False), "/things/").status_code == 302
    answer = redirect_after_post(request_for(htmx=True), "/things/")
    assert answer.status_code == 200 and answer["HX-Redirect"] == "/things/"


def test_messages_reach_htmx_as_a_toast_event_and_wait_for_the_next_page_otherwise():
    def view(request):
        messages.success(request, "Saved.")
        return HttpResponse("fragment")

    htmx = request_for(htmx=True)
    response = HtmxMessagesMiddleware(view)(htmx)
    assert json.loads(response["HX-Trigger"]) == {"messages": [{"message": "Saved.", "tags": "success"}]}
    assert messages.get_messages(htmx).used  # delivered: not kept for the next page

    plain = request_for(htmx=False)
    assert "HX-Trigger" not in HtmxMessagesMiddleware(view)(plain)
    assert [str(m) for m in messages.get_messages(plain)] == ["Saved."]


def test_a_redirect_keeps_its_messages_for_the_page_it_leads_to():
    def view(request):
        messages.info(request, "Moved.")
        return redirect_after_post(request, "/things/")

    request = request_for(htmx=True)
    response = HtmxMessagesMiddleware(view)(request)
    assert "HX-Trigger" not in response
    assert [str(m) for m in messages.get_messages(request)] == ["Moved."]
