"""render_list, the capped paginator, the CSV export and short tables, on the kit's own list of groups."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.template.loader import render_to_string
from django.test import RequestFactory

from dashboard.ui import lists
from dashboard.ui.tests.kit import GroupTable, groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer"))
    return client


def names(response) -> list[str]:
    return [group.name for group in response.context["table"].page.object_list.data]


def test_the_page_the_htmx_region_and_vary(signed_in, kit_list):
    Group.objects.bulk_create(Group(name=f"g{n}") for n in range(3))
    page = signed_in.get(kit_list, {"q": "g1"})
    assert page.status_code == 200 and names(page) == ["g1"]
    assert b"<html>" in page.content and b'id="groups-table"' in page.content
    fragment = signed_in.get(kit_list, {"q": "g1"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="groups-table"') and b"<html>" not in fragment.content
    assert "HX-Request" in fragment["Vary"]
    restore = signed_in.get(kit_list, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert b"<html>" in restore.content


def test_the_region_reloads_itself_as_it_is_when_a_row_action_says_its_rows_changed(signed_in, kit_list):
    fragment = signed_in.get(kit_list, {"q": "g", "sort": "-name", "page": 2}, headers={"HX-Request": "true"})
    region = re.match(r"\s*(<div [^>]*>)", fragment.text).group(1)
    assert 'id="groups-table"' in region and 'hx-get="/groups/?q=g&amp;sort=-name&amp;page=2"' in region
    assert 'hx-trigger="groups-table-changed from:body"' in region
    assert 'hx-target="this"' in region and 'hx-swap="outerHTML"' in region


def test_the_search_and_the_shortcuts_hint_carry_the_hooks_of_the_keyboard(signed_in, kit_list):
    page = signed_in.get(kit_list).text
    search = re.search(r"<div [^>]*data-list-search[^>]*>\s*<label for=\"([^\"]+)\"", page)
    assert search and search.group(1) == "id_q" and page.count("data-list-search") == 1
    assert page.count("data-keys-help") == 1 and 'aria-keyshortcuts="?"' in page


def test_invalid_filters_answer_422_with_no_rows(signed_in, kit_list):
    Group.objects.create(name="g")
    response = signed_in.get(kit_list, {"members_min": "many"})
    assert response.status_code == 422 and names(response) == []
    assert response.context["filterset"].errors["members_min"]


def test_the_count_stops_at_the_cap_and_says_there_is_more(signed_in, kit_list, monkeypatch):
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    Group.objects.bulk_create(Group(name=f"g{n}") for n in range(5))
    paginator = signed_in.get(kit_list, {"q": "g"}).context["table"].paginator
    assert (paginator.count, paginator.more) == (3, True)
    Group.objects.filter(name__in=["g3", "g4"]).delete()
    paginator = signed_in.get(kit_list, {"q": "g"}).context["table"].paginator
    assert (paginator.count, paginator.more) == (3, False)


def test_a_deep_page_fetched_by_ids_first_has_the_rows_of_an_offset(signed_in, kit_list, monkeypatch):
    monkeypatch.setattr(lists, "DEFERRED_JOIN_FROM", 25)
    Group.objects.bulk_create(Group(name=f"g{n:03d}") for n in range(60))
    expected = list(Group.objects.order_by("-name").values_list("name", flat=True)[25:50])
    assert names(signed_in.get(kit_list, {"sort": "-name", "page": 2})) == expected


def test_a_page_number_out_of_range_or_not_a_number_gets_a_page(signed_in, kit_list):
    Group.objects.bulk_create(Group(name=f"g{n:03d}") for n in range(30))
    assert signed_in.get(kit_list, {"page": 99}).context["table"].page.number == 2
    assert signed_in.get(kit_list, {"page": "x"}).context["table"].page.number == 1


def test_the_export_has_every_filtered_row_with_numbers_as_numbers_and_formulas_as_text(signed_in, kit_list):
    Group.objects.bulk_create(Group(name=name) for name in ("=HYPERLINK(1)", "@sum", "plain", "other"))
    response = signed_in.get(kit_list, {"q": "l", "export": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8" and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="groups-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["Name", "Members", "Balance"], ["'=HYPERLINK(1)", "0", "-12.25"], ["plain", "0", "-12.25"]]


def test_a_short_table_is_shown_whole_in_its_order_without_sort_links_pager_or_export(db):
    Group.objects.bulk_create(Group(name=f"g{n:02d}") for n in range(30))
    request = RequestFactory().get("/group/1/", {"sort": "name", "page": "2", "per_page": "25"})
    request.user = AnonymousUser()

    table = lists.short_table(request, GroupTable, list(groups().order_by("-name")))
    html = render_to_string("ui/table.html", {"table": table, "labelledby": "groups-title"}, request=request)

    assert re.findall(r"<td >(g\d\d)</td>", html) == [f"g{n:02d}" for n in reversed(range(30))]
    assert 'aria-labelledby="groups-title"' in html and "aria-sort" not in html
    assert 'class="sort' not in html and 'class="pagination"' not in html and "Export CSV" not in html
    empty = lists.short_table(request, GroupTable, [], empty_text="No groups yet.")
    assert '<td colspan="3" class="empty">No groups yet.</td>' in render_to_string("ui/table.html", {"table": empty})
