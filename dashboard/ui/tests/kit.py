"""A list of the kit's own, over Django's auth groups, for its tests: a FilterSet, a Table,
its listing, a view, its URL and its template (from memory); and the URL names of the
list tools' endpoints, which the project provides (dashboard/lists.py), answered here by
a stand-in: the kit's templates link to them."""

from decimal import Decimal

import django_tables2 as tables
from django.contrib.auth.models import Group
from django.db.models import Count, DecimalField, Value
from django.http import HttpResponse
from django.urls import path

from dashboard.ui.filters import ListFilterSet, amount_range
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list
from dashboard.ui.tables import ListTable, MoneyColumn

TEMPLATES = {
    "kit/group_list.html": (
        "<!doctype html><html><body>{% include 'ui/filter_form.html' %}"
        "{% partialdef groups-table inline %}{% include 'ui/list_region.html' %}"
        "{% endpartialdef %}</body></html>"
    ),
}


class GroupFilter(ListFilterSet):
    members_min, members_max = amount_range("members", "Members", limit=Decimal(1000))

    def search(self, queryset, name, value):
        return queryset.filter(name__icontains=value.strip())


class GroupTable(ListTable):
    name = tables.Column()
    members = tables.Column()
    balance = MoneyColumn()

    class Meta(ListTable.Meta):
        model = Group
        fields = ("name", "members", "balance")
        order_by = ("name",)


GROUPS = register(Listing("groups", GroupTable, url_name="group_list", permission="auth.view_group"))


def groups():
    return Group.objects.annotate(
        members=Count("user"),
        balance=Value(Decimal("-12.25"), output_field=DecimalField(max_digits=12, decimal_places=2)),
    )


def group_list(request):
    filterset = GroupFilter(request.GET or None, queryset=groups())
    return render_list(
        request,
        filterset=filterset,
        table_class=GroupTable,
        template="kit/group_list.html",
        region="groups-table",
        export_name="groups",
        listing=GROUPS,
    )


def endpoint(request, **kwargs):
    return HttpResponse()


urlpatterns = [
    path("groups/", group_list, name="group_list"),
    *(
        path(f"lists/{name}/<str:key>/", endpoint, name=name)
        for name in (
            "list_columns",
            "saved_view_create",
            "saved_view_open",
            "saved_view_rename",
            "saved_view_share",
            "saved_view_delete",
        )
    ),
]
