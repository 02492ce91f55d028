"""The htmx helpers: redirect after a POST, the answer of a row action, and messages as toasts."""

import json

from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from dashboard.ui.htmx import HtmxMessagesMiddleware, redirect_after_post, row_action_done


def request_for(htmx: bool, referer: str | None = None):
    headers = {"HX-Request": "true"} if htmx else {}
    if referer:
        headers["Referer"] = referer
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


def delete_thing(request):
    """A row action of the list of things, refused or done."""
    if request.POST.get("refuse"):
        messages.error(request, "Not deleted: it is in use.")
    else:
        messages.success(request, "Deleted.")
    return row_action_done(request, region="things-table", redirect_to="/things/", events=["balance-changed"])


def test_a_row_action_answers_htmx_with_no_content_the_regions_event_and_a_toast():
    response = HtmxMessagesMiddleware(delete_thing)(request_for(htmx=True))
    assert response.status_code == 204 and response.content == b""
    assert json.loads(response["HX-Trigger"]) == {
        "things-table-changed": {},
        "balance-changed": {},
        "messages": [{"message": "Deleted.", "tags": "success"}],
    }


def test_a_refused_row_action_answers_alike_with_the_refusal_as_the_toast():
    request = request_for(htmx=True)
    request.POST = request.POST.copy()
    request.POST["refuse"] = "1"
    response = HtmxMessagesMiddleware(delete_thing)(request)
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["messages"] == [
        {"message": "Not deleted: it is in use.", "tags": "error"}
    ]


def test_a_row_action_without_javascript_goes_back_to_the_page_it_was_posted_from():
    came_from = request_for(htmx=False, referer="http://testserver/things/?q=a&page=2")
    response = HtmxMessagesMiddleware(delete_thing)(came_from)
    assert response.status_code == 302 and response["Location"] == "/things/?q=a&page=2"
    assert "HX-Trigger" not in response
    assert [str(m) for m in messages.get_messages(came_from)] == ["Deleted."]
    for referer in (None, "https://elsewhere.example/things/", "javascript:alert(1)"):
        assert delete_thing(request_for(htmx=False, referer=referer))["Location"] == "/things/", referer
