"""The lists users arrange: each has a stable name, the key under which its users'
columns (`ListPreference`) and saved views (`SavedView`) are kept, and a permission
that says who may arrange it and see views of it (a customer may see a list and not
arrange it). A list is registered by the module that renders it, and named to
`render_list`, which shows it as the user arranged it (`ListTools`).
"""

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest, QueryDict
from django_tables2 import Table

from dashboard.ui.columns import Arrangement, arrange
from dashboard.ui.forms import ViewNameForm
from dashboard.ui.models import LIST_NAME_LENGTH, ListPreference, SavedView

# What a saved view leaves out of the query it keeps: where one was in the pages, a
# download, and the view itself.
NOT_SAVED = ("page", "export", "view")


@dataclass(frozen=True)
class Listing:
    name: str
    table_class: type[Table]
    # The URL name of the page that shows the list (a saved view must lead there).
    url_name: str
    permission: str


LISTINGS: dict[str, Listing] = {}


def register(listing: Listing) -> Listing:
    if listing.name in LISTINGS or len(listing.name) > LIST_NAME_LENGTH:
        raise ImproperlyConfigured(f"A list is named {listing.name!r} already, or the name is too long.")
    LISTINGS[listing.name] = listing
    return listing


def listing_for(user, name: str) -> Listing | None:
    """The list of that name if this user may arrange it."""
    listing = LISTINGS.get(name)
    return listing if listing and user.is_authenticated and user.has_perm(listing.permission) else None


def saved_views_for(request: HttpRequest) -> list[SavedView]:
    """Every view this user may open: their own and those shared, of the lists they may
    arrange. One query a request, shared by the sidebar and the list's own chips; none
    for a user who arranges no list."""
    cached = getattr(request, "_saved_views", None)
    if cached is None:
        user = request.user
        names = [name for name in LISTINGS if listing_for(user, name)]
        cached = (
            list(
                SavedView.objects.filter(Q(owner=user) | Q(shared=True), list_name__in=names)
                .select_related("owner")
                .order_by(Lower("name"), "pk")
            )
            if names
            else []
        )
        request._saved_views = cached
    return cached


def open_view_id(params: QueryDict) -> int | None:
    """The saved view a list's query opens (`view`), if it names one at all."""
    value = params.get("view", "")
    return int(value) if value.isdecimal() and len(value) < 12 else None


def saved_query(query: QueryDict) -> str:
    """The query string a saved view keeps: the list's filters, sort and rows per page
    (the filters left empty, which a filter form sends every time, left out)."""
    return urlencode(
        [(key, value) for key, values in query.lists() if key not in NOT_SAVED for value in values if value != ""]
    )


class ListTools:
    """One list as this user arranged it, for one request: its columns (a saved view's
    when one is open, else the user's own, else the table's), and, for the page, the
    views to offer. Nothing is read unless asked for, and nothing at all for a user
    who may not arrange the list.

    `at` (a path and query) looks at the list as it is at that address rather than at
    the request's own: what saving "the view as it is" posted from a list page saves.
    """

    def __init__(self, request: HttpRequest, listing: Listing, *, at: str | None = None) -> None:
        self.request = request
        self.listing = listing
        self.enabled = listing_for(request.user, listing.name) is not None
        if at is None:
            self.path, self.params, self.list_url = request.path, request.GET, request.get_full_path()
        else:
            address = urlsplit(at)
            self.path, self.params, self.list_url = address.path, QueryDict(address.query), at

    @cached_property
    def views(self) -> list[SavedView]:
        """The saved views of this list at this address (a customer's page has its own)."""
        return [
            view
            for view in saved_views_for(self.request)
            if view.list_name == self.listing.name and view.path == self.path
        ]

    @cached_property
    def own_views(self) -> list[SavedView]:
        return [view for view in self.views if view.owner_id == self.request.user.pk]

    @cached_property
    def open_view(self) -> SavedView | None:
        wanted = open_view_id(self.params)
        if wanted is None:
            return None
        return next((view for view in self.views if view.pk == wanted), None)

    @cached_property
    def preference(self) -> ListPreference | None:
        return ListPreference.objects.filter(user=self.request.user, list_name=self.listing.name).first()

    @cached_property
    def arrangement(self) -> Arrangement:
        chosen = self.open_view or self.preference
        if chosen is None:
            return arrange(self.listing.table_class)
        return arrange(self.listing.table_class, chosen.columns, chosen.hidden)

    def apply(self, table: Table) -> Table:
        return self.arrangement.apply(table) if self.enabled else table

    @property
    def query(self) -> str:
        """The query a view saved from here keeps."""
        return saved_query(self.params)

    @cached_property
    def save_form(self) -> ViewNameForm:
        return ViewNameForm(auto_id=f"id_{self.listing.name}_view_%s")

    @property
    def save_fields(self) -> list[tuple[str, str]]:
        """What saving the view as it is posts besides its name: the list's address. The
        server reads the filters, sort and columns there (with htmx, at the address the
        browser shows, which the filters may have changed since the page was drawn)."""
        return [("next", self.list_url)]

    @cached_property
    def rename_forms(self) -> list[tuple[SavedView, ViewNameForm]]:
        return [
            (view, ViewNameForm(initial={"name": view.name}, auto_id=f"id_view_{view.pk}_%s"))
            for view in self.own_views
        ]
