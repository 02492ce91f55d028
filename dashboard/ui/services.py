"""Every write of what users keep of the lists: their columns and their saved views.

Views call these and answer a `ListToolRefused` (a `dashboard.ui.refusals.Refusal`)
with its message; each checks everything before it writes, so a refusal writes nothing.
"""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import Resolver404, resolve
from django.utils import timezone

from dashboard.ui.columns import arrange, unknown_columns
from dashboard.ui.listings import Listing
from dashboard.ui.models import VIEW_NAME_LENGTH, VIEW_QUERY_LENGTH, ListPreference, SavedView
from dashboard.ui.refusals import FORBIDDEN, Refusal


class ListToolRefused(Refusal):
    message = "That cannot be saved as it is."


class NotTheOwner(ListToolRefused):
    kind = FORBIDDEN
    message = "Only the admin who saved this view can change it. Save a copy of your own instead."


def _arranged(listing: Listing, columns: list[str], shown: list[str]) -> tuple[list[str], list[str]]:
    """The columns as they are kept (`dashboard.ui.columns`): `columns` in the user's
    order, those not `shown` hidden. A name the list does not have is refused; the key
    column is never hidden."""
    if unknown := unknown_columns(listing.table_class, [*columns, *shown]):
        raise ListToolRefused(f"This list has no column “{unknown[0]}”. Reload the page and choose again.")
    arrangement = arrange(listing.table_class, columns, [name for name in columns if name not in shown])
    return list(arrangement.names), list(arrangement.hidden)


def list_columns_save(*, user, listing: Listing, columns: list[str], shown: list[str]) -> ListPreference:
    """The columns `user` shows on the list, in order: `columns` (every column, in their
    order) and which of them are `shown`."""
    columns, hidden = _arranged(listing, columns, shown)
    preference, _ = ListPreference.objects.update_or_create(
        user=user,
        list_name=listing.name,
        defaults={"columns": columns, "hidden": hidden, "updated_at": timezone.now()},
    )
    return preference


def list_columns_reset(*, user, listing: Listing) -> None:
    ListPreference.objects.filter(user=user, list_name=listing.name).delete()


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ListToolRefused("Give the view a name.")
    if len(name) > VIEW_NAME_LENGTH:
        raise ListToolRefused(f"Keep the name to {VIEW_NAME_LENGTH} characters (it has {len(name)}).")
    return name


def _name_taken(*, owner, list_name: str, name: str, other_than: int | None = None) -> bool:
    views = SavedView.objects.annotate(lower_name=Lower("name")).filter(
        owner=owner, list_name=list_name, lower_name=name.lower()
    )
    return views.exclude(pk=other_than).exists()


def _taken(name: str) -> ListToolRefused:
    return ListToolRefused(f"You already have a view named “{name}” on this list. Choose another name.")


def _is_page_of(listing: Listing, path: str) -> bool:
    try:
        return resolve(path).url_name == listing.url_name
    except Resolver404:
        return False


@transaction.atomic
def saved_view_create(
    *, owner, listing: Listing, name: str, path: str, query: str, columns: list[str], shown: list[str]
) -> SavedView:
    """A view of `listing` at `path` (its page) with `query` (filters, sort, rows per
    page) and its columns (`columns` in order, those `shown`), named `name` by `owner`."""
    name = _clean_name(name)
    if not _is_page_of(listing, path):
        raise ListToolRefused("A view is saved from its list's own page. Open the list and save it there.")
    if len(query) > VIEW_QUERY_LENGTH:
        raise ListToolRefused("These filters are too long to save. Remove a few and try again.")
    columns, hidden = _arranged(listing, columns, shown)
    if _name_taken(owner=owner, list_name=listing.name, name=name):
        raise _taken(name)
    try:
        # A savepoint: two tabs saving the same name at once meet the unique constraint.
        with transaction.atomic():
            return SavedView.objects.create(
                owner=owner,
                list_name=listing.name,
                name=name,
                path=path,
                query=query,
                columns=columns,
                hidden=hidden,
            )
    except IntegrityError:
        raise _taken(name) from None


def _own(view: SavedView, actor) -> SavedView:
    if view.owner_id != actor.pk:
        raise NotTheOwner()
    return view


@transaction.atomic
def saved_view_rename(*, view: SavedView, actor, name: str) -> SavedView:
    _own(view, actor)
    name = _clean_name(name)
    if _name_taken(owner=actor, list_name=view.list_name, name=name, other_than=view.pk):
        raise _taken(name)
    try:
        with transaction.atomic():
            SavedView.objects.filter(pk=view.pk).update(name=name, updated_at=timezone.now())
    except IntegrityError:
        raise _taken(name) from None
    view.name = name
    return view


def saved_view_delete(*, view: SavedView, actor) -> None:
    _own(view, actor)
    SavedView.objects.filter(pk=view.pk).delete()


def saved_view_share(*, view: SavedView, actor, shared: bool) -> SavedView:
    """Shares a view with everyone who may arrange its list, or stops sharing it."""
    _own(view, actor)
    SavedView.objects.filter(pk=view.pk).update(shared=shared, updated_at=timezone.now())
    view.shared = shared
    return view
