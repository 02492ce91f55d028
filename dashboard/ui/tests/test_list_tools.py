"""Columns and saved views on the kit's own list of groups: render_list shows a list as
its user arranged it, on screen and in CSV, at a constant cost; the services keep the
choices and views, and refuse what they must without writing anything."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from dashboard.ui import services
from dashboard.ui.models import ListPreference, SavedView
from dashboard.ui.services import ListToolRefused, NotTheOwner
from dashboard.ui.tests.kit import GROUPS

pytestmark = pytest.mark.django_db


def arranger(django_user_model, username: str):
    user = django_user_model.objects.create_user(username)
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    return django_user_model.objects.get(pk=user.pk)  # without the permission cache


@pytest.fixture
def alice(django_user_model):
    return arranger(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    return arranger(django_user_model, "bob")


@pytest.fixture
def groups_list(client, kit_list, alice):
    Group.objects.bulk_create(Group(name=f"g{n}") for n in range(3))
    client.force_login(alice)
    return client


def headers(response) -> list[str]:
    return [str(column.header) for column in response.context["table"].columns]


def exported(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def save_view(owner, name="Big groups", **fields) -> SavedView:
    return services.saved_view_create(
        owner=owner,
        listing=GROUPS,
        name=name,
        path=fields.pop("path", "/groups/"),
        query=fields.pop("query", "q=g"),
        columns=fields.pop("columns", ["balance", "name", "members"]),
        shown=fields.pop("shown", ["balance", "name"]),
    )


class TestColumnsOnTheList:
    def test_the_page_and_the_export_follow_the_users_columns(self, groups_list, alice, kit_list):
        services.list_columns_save(
            user=alice, listing=GROUPS, columns=["balance", "name", "members"], shown=["balance"]
        )
        page = groups_list.get(kit_list)
        assert headers(page) == ["Balance", "Name"]
        assert page.context["list_tools"].arrangement.hidden == ("members",)
        rows = exported(groups_list.get(kit_list, {"export": "csv", "q": "g1"}))
        assert rows == [["Balance", "Name"], ["-12.25", "g1"]]

    def test_columns_are_kept_per_user(self, groups_list, alice, bob, kit_list, client):
        services.list_columns_save(user=alice, listing=GROUPS, columns=["members", "name", "balance"], shown=[])
        assert headers(groups_list.get(kit_list)) == ["Name"]
        client.force_login(bob)
        assert headers(client.get(kit_list)) == ["Name", "Members", "Balance"]

    def test_a_saved_view_open_shows_its_columns_and_someone_elses_private_view_does_not(
        self, groups_list, alice, bob, kit_list
    ):
        mine = save_view(alice)
        theirs = save_view(bob, columns=["members", "name", "balance"], shown=["members", "name"])
        assert headers(groups_list.get(kit_list, {"view": mine.pk})) == ["Balance", "Name"]
        assert headers(groups_list.get(kit_list, {"view": theirs.pk})) == ["Name", "Members", "Balance"]
        services.saved_view_share(view=theirs, actor=bob, shared=True)
        assert headers(groups_list.get(kit_list, {"view": theirs.pk})) == ["Members", "Name"]
        assert exported(groups_list.get(kit_list, {"view": theirs.pk, "export": "csv"}))[0] == ["Members", "Name"]
        assert headers(groups_list.get(kit_list, {"view": "x"})) == ["Name", "Members", "Balance"]

    def test_the_tools_are_on_the_whole_page_only_and_not_for_whoever_may_not_arrange(
        self, groups_list, kit_list, client, django_user_model
    ):
        page = groups_list.get(kit_list)
        assert 'class="list-tools"' in page.text and "Columns</summary>" in page.text
        fragment = groups_list.get(kit_list, headers={"HX-Request": "true"})
        assert fragment.text.lstrip().startswith('<div id="groups-table"') and "list-tools" not in fragment.text
        client.force_login(django_user_model.objects.create_user("viewer"))
        assert "list-tools" not in client.get(kit_list).text

    def test_the_save_form_keeps_the_filters_and_sort_but_not_the_page(self, groups_list, alice, kit_list):
        query = {"q": "g", "sort": "-name", "page": "2", "view": "7", "members_min": ""}
        tools = groups_list.get(kit_list, query).context["list_tools"]
        assert tools.query == "q=g&sort=-name"


def page_queries(client, url, query=None) -> tuple[int, list[str]]:
    """How many queries a page costs, and those that read what the list tools keep. Read at
    once: each request empties the connection's log."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, query or {})
    assert response.status_code == 200
    queries = [query["sql"] for query in captured.captured_queries]
    return len(queries), [sql for sql in queries if '"ui_' in sql]


def test_a_list_costs_its_arranger_two_queries_whatever_is_kept(
    groups_list, alice, bob, kit_list, django_user_model, client
):
    client.force_login(django_user_model.objects.create_user("viewer"))
    client.get(kit_list)  # a session's first request writes it
    plain, plain_kit = page_queries(client, kit_list)
    client.force_login(alice)
    client.get(kit_list)
    empty, empty_kit = page_queries(client, kit_list)
    services.list_columns_save(user=alice, listing=GROUPS, columns=["members", "name", "balance"], shown=["members"])
    for n in range(6):
        save_view(alice, name=f"Mine {n}")
        services.saved_view_share(view=save_view(bob, name=f"Theirs {n}"), actor=bob, shared=True)
    kept, kept_kit = page_queries(client, kit_list)
    # Her columns and the saved views (their owners joined); nothing for someone who may not arrange.
    assert plain_kit == [] and len(empty_kit) == len(kept_kit) == 2
    assert kept == empty == plain + 2
    page = client.get(kit_list)
    assert len(page.context["list_tools"].views) == 12 and headers(page)[0] == "Members"
    # A view open: its columns come with the saved views; hers are not read.
    in_a_view, in_a_view_kit = page_queries(
        client, kit_list, {"view": SavedView.objects.filter(owner=alice).first().pk}
    )
    assert len(in_a_view_kit) == 1 and in_a_view == kept - 1


class TestColumnsKept:
    def test_a_choice_replaces_the_last_and_the_key_column_is_never_hidden(self, alice):
        services.list_columns_save(user=alice, listing=GROUPS, columns=["members", "name"], shown=["members"])
        services.list_columns_save(user=alice, listing=GROUPS, columns=["balance", "members", "name"], shown=[])
        kept = ListPreference.objects.get(user=alice, list_name="groups")
        assert (kept.columns, kept.hidden) == (["balance", "members", "name"], ["balance", "members"])

    @pytest.mark.parametrize("columns, shown", [(["name", "nope"], ["name"]), (["name"], ["name", "nope"])])
    def test_a_column_the_list_does_not_have_is_refused_and_nothing_is_kept(self, alice, columns, shown):
        with pytest.raises(ListToolRefused, match="no column “nope”"):
            services.list_columns_save(user=alice, listing=GROUPS, columns=columns, shown=shown)
        assert not ListPreference.objects.exists()

    def test_reset_forgets_the_choice(self, alice):
        services.list_columns_save(user=alice, listing=GROUPS, columns=["name"], shown=["name"])
        services.list_columns_reset(user=alice, listing=GROUPS)
        assert not ListPreference.objects.exists()


class TestSavedViews:
    def test_a_view_keeps_its_address_query_and_columns(self, kit_list, alice):
        view = save_view(alice, name="  Big   groups ")
        assert (view.name, view.path, view.query, view.shared) == ("Big groups", "/groups/", "q=g", False)
        assert (view.columns, view.hidden) == (["balance", "name", "members"], ["members"])
        assert view.url == f"/groups/?q=g&view={view.pk}"

    @pytest.mark.parametrize(
        "fields, message",
        [
            ({"name": "  "}, "Give the view a name"),
            ({"name": "x" * 81}, "Keep the name to 80 characters"),
            ({"path": "/elsewhere/"}, "saved from its list's own page"),
            ({"query": "q=" + "g" * 2000}, "too long to save"),
            ({"columns": ["name", "nope"]}, "no column “nope”"),
        ],
    )
    def test_what_cannot_be_saved_is_refused_and_nothing_is_written(self, kit_list, alice, fields, message):
        with pytest.raises(ListToolRefused, match=message):
            save_view(alice, **fields)
        assert not SavedView.objects.exists()

    def test_names_are_unique_per_owner_and_list_whatever_the_case(self, kit_list, alice, bob):
        save_view(alice, name="Big groups")
        with pytest.raises(ListToolRefused, match="already have a view named “big GROUPS”"):
            save_view(alice, name="big GROUPS")
        save_view(bob, name="Big groups")
        assert SavedView.objects.count() == 2

    def test_the_owner_renames_shares_and_deletes(self, kit_list, alice):
        view = save_view(alice)
        other = save_view(alice, name="Small groups")
        services.saved_view_rename(view=view, actor=alice, name="BIG groups")  # its own name, another case
        with pytest.raises(ListToolRefused, match="already have a view named"):
            services.saved_view_rename(view=other, actor=alice, name="big groups")
        services.saved_view_share(view=view, actor=alice, shared=True)
        view.refresh_from_db()
        other.refresh_from_db()
        assert (view.name, view.shared, other.name) == ("BIG groups", True, "Small groups")
        services.saved_view_delete(view=view, actor=alice)
        assert list(SavedView.objects.all()) == [other]

    def test_nobody_else_changes_a_view_even_a_shared_one(self, kit_list, alice, bob):
        view = save_view(alice)
        services.saved_view_share(view=view, actor=alice, shared=True)
        for change in (
            lambda: services.saved_view_rename(view=view, actor=bob, name="Mine now"),
            lambda: services.saved_view_share(view=view, actor=bob, shared=False),
            lambda: services.saved_view_delete(view=view, actor=bob),
        ):
            with pytest.raises(NotTheOwner):
                change()
        view.refresh_from_db()
        assert (view.name, view.shared, view.owner) == ("Big groups", True, alice)

    def test_the_database_itself_refuses_a_second_name_and_an_empty_one(self, alice):
        SavedView.objects.create(owner=alice, list_name="groups", name="Big", path="/groups/")
        for name in ("BIG", ""):
            with pytest.raises(IntegrityError), transaction.atomic():
                SavedView.objects.create(owner=alice, list_name="groups", name=name, path="/groups/")
        with pytest.raises(IntegrityError), transaction.atomic():
            ListPreference.objects.bulk_create([ListPreference(user=alice, list_name="groups")] * 2)
