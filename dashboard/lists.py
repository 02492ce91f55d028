"""The endpoints of the list tools above every list (`ui/list_tools.html`): a user's
columns of a list, and saved views (save, open, rename, share, delete).

What they keep and the rules it follows are the kit's (`dashboard.ui.listings`,
`dashboard.ui.services`); the endpoints sit at the project level, where every part is
within reach: sharing a view is an admin action, which the audit trail records.

Who: a user who may arrange the list (its listing's permission; customers never can:
403). A saved view is opened by its owner, or by anyone who may arrange its list once
it is shared; to anyone else it does not exist (404). Only its owner renames, shares
or deletes it (403 for others who can see it).
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseLocation

from dashboard.accounts.audit import AuditAction, audit_record
from dashboard.ui import services
from dashboard.ui.forms import ViewNameForm
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post
from dashboard.ui.listings import LISTINGS, Listing, ListTools, open_view_id, saved_views_for
from dashboard.ui.models import SavedView


def _listing(request: HtmxHttpRequest, list_name: str) -> Listing:
    listing = LISTINGS.get(list_name)
    if listing is None:
        raise Http404(f"There is no list named {list_name!r}.")
    if not request.user.has_perm(listing.permission):
        raise PermissionDenied("Only admins who may see this list arrange it and save views of it.")
    return listing


def _visible_view(request: HtmxHttpRequest, pk: int) -> SavedView:
    view = next((view for view in saved_views_for(request) if view.pk == pk), None)
    if view is None:
        raise Http404("No saved view of yours, or shared with you, has this number.")
    return view


def _own_view(request: HtmxHttpRequest, pk: int) -> SavedView:
    view = _visible_view(request, pk)
    if view.owner_id != request.user.pk:
        raise PermissionDenied("Only the admin who saved this view can change it.")
    return view


def _back(request: HtmxHttpRequest) -> str:
    """The list page the form was on, as its path and query: with htmx the address the
    browser shows now (filters change it without drawing the tools again), else the
    form's `next`; only ever one of ours."""
    candidates = [request.htmx.current_url or ""] if request.htmx else []
    for url in (*candidates, request.POST.get("next", "")):
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            address = urlsplit(url)
            if address.path.startswith("/"):
                return address.path + (f"?{address.query}" if address.query else "")
    return "/"


def _without_view(url: str, pk: int | None = None) -> str:
    """`url` without the saved view it opens (only if it is `pk`, when given)."""
    address = urlsplit(url)
    params = QueryDict(address.query, mutable=True)
    if "view" not in params or (pk is not None and open_view_id(params) != pk):
        return url
    del params["view"]
    return address.path + (f"?{params.urlencode()}" if params else "")


def _refused(request: HtmxHttpRequest, refused: services.ListToolRefused, back: str) -> HttpResponse:
    """Nothing changed: why, as a toast for htmx (nothing swapped), else on a page of its own."""
    if request.htmx:
        messages.error(request, refused.message)
        response = HttpResponse(status=refused.status)
        response["HX-Reswap"] = "none"
        return response
    context = {"message": refused.message, "back": back}
    return render(request, "ui/list_tool_refused.html", context, status=refused.status)


def _moved(order: list[str], move: str) -> list[str]:
    """`order` with one column moved a place (`move` is "<column>:up" or "<column>:down"):
    the chooser's arrows without JavaScript."""
    name, _, direction = move.partition(":")
    if name not in order or direction not in ("up", "down"):
        return order
    at = order.index(name)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return order


@login_required
@require_POST
def list_columns(request: HtmxHttpRequest, list_name: str) -> HttpResponse:
    """Saves the columns the user shows on a list (`order`: every column in order;
    `shown`; `move`; or `reset`) and shows the list again, with htmx only its region."""
    listing = _listing(request, list_name)
    back = _back(request)
    if request.POST.get("reset"):
        services.list_columns_reset(user=request.user, listing=listing)
        messages.success(request, "The list shows its own columns again.")
    else:
        order = _moved(request.POST.getlist("order"), request.POST.get("move", ""))
        try:
            services.list_columns_save(
                user=request.user, listing=listing, columns=order, shown=request.POST.getlist("shown")
            )
        except services.ListToolRefused as refused:
            return _refused(request, refused, back)
        messages.success(request, "Columns saved: this list shows them for you from now on.")
    # The user's own columns from now on, not those of a view that was open.
    mine = _without_view(back)
    if not request.htmx:
        return redirect(mine)
    if mine != back or not request.htmx.target:
        # The page's filter form keeps the view open: draw the whole page again.
        return HttpResponseClientRedirect(mine)
    return HttpResponseLocation(mine, target=f"#{request.htmx.target}", swap="outerHTML")


def _name_form_again(
    request: HtmxHttpRequest, form: ViewNameForm, *, action: str, view: SavedView | None, back: str
) -> HttpResponse:
    """A refused name: the form again with its error (with htmx, in place), 422."""
    context = {
        "form": form,
        "view": view,
        "action": action,
        "fields": None if view else [("next", back)],
        "next": back if view else "",
        "back": back,
        "submit": "Rename" if view else "Save view",
    }
    template = "ui/view_name_form.html#view-name-form" if request.htmx else "ui/view_name_form.html"
    return render(request, template, context, status=422)


@login_required
@require_POST
def saved_view_create(request: HtmxHttpRequest, list_name: str) -> HttpResponse:
    """Saves the list as it is at the page it was posted from (filters, sort, rows per
    page, columns) under `name`, and opens the new view."""
    listing = _listing(request, list_name)
    back = _back(request)
    form = ViewNameForm(request.POST, auto_id=f"id_{listing.name}_view_%s")
    if form.is_valid():
        here = ListTools(request, listing, at=back)
        try:
            view = services.saved_view_create(
                owner=request.user,
                listing=listing,
                name=form.cleaned_data["name"],
                path=here.path,
                query=here.query,
                columns=list(here.arrangement.names),
                shown=list(here.arrangement.shown),
            )
        except services.ListToolRefused as refused:
            form.add_error("name", refused.message)
        else:
            messages.success(
                request, f"Saved the view “{view.name}”. Share it from Manage views, or send its address to an admin."
            )
            return redirect_after_post(request, "saved_view_open", view.pk)
    return _name_form_again(request, form, action=request.path, view=None, back=back)


@login_required
@require_GET
def saved_view_open(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A saved view's lasting address: its list with its query and its columns."""
    return redirect(_visible_view(request, pk).url)


@login_required
@require_POST
def saved_view_rename(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    back = _back(request)
    form = ViewNameForm(request.POST, auto_id=f"id_view_{view.pk}_%s")
    if form.is_valid():
        old_name = view.name
        try:
            services.saved_view_rename(view=view, actor=request.user, name=form.cleaned_data["name"])
        except services.ListToolRefused as refused:
            form.add_error("name", refused.message)
        else:
            messages.success(request, f"Renamed the view “{old_name}” to “{view.name}”.")
            return redirect_after_post(request, back)
    return _name_form_again(request, form, action=request.path, view=view, back=back)


@login_required
@require_POST
def saved_view_share(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Shares a view with every admin who may see its list (`shared=1`), or stops (`0`).

    The one place a view's sharing changes: the audit trail's "saved view shared" (and
    unshared) entry is written here, with the service call in one transaction (the kit's
    service cannot know the audit trail, which is above it).
    """
    view = _own_view(request, pk)
    back = _back(request)
    if request.POST.get("shared") not in ("0", "1"):
        return _refused(request, services.ListToolRefused("Choose to share the view or to stop sharing it."), back)
    shared = request.POST["shared"] == "1"
    with transaction.atomic():
        services.saved_view_share(view=view, actor=request.user, shared=shared)
        audit_record(
            actor=request.user,
            action=AuditAction.SAVED_VIEW_SHARED if shared else AuditAction.SAVED_VIEW_UNSHARED,
            target=view,
            target_repr=view.name,
            detail=f"On the {view.list_name} list.",
        )
    if shared:
        messages.success(request, f"The view “{view.name}” is shared: every admin who sees this list has it now.")
    else:
        messages.success(request, f"The view “{view.name}” is yours alone again.")
    return redirect_after_post(request, back)


@login_required
@require_POST
def saved_view_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    services.saved_view_delete(view=view, actor=request.user)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect_after_post(request, _without_view(_back(request), view.pk))
