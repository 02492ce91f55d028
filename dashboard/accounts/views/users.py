"""The admin's Users page: every account, and what an admin can do to one."""

from django.contrib import messages
from django.http import HttpResponse
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from dashboard.accounts import selectors, two_factor
from dashboard.accounts import services as accounts
from dashboard.accounts.filters import UserFilter
from dashboard.accounts.permissions import permission_required
from dashboard.accounts.tables import UserTable
from dashboard.ui.htmx import HtmxHttpRequest, row_action_done
from dashboard.ui.listings import Listing, register
from dashboard.ui.lists import render_list

USERS = register(Listing("users", UserTable, url_name="user_list", permission="auth.view_user"))


@permission_required("auth.view_user")
def user_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = UserFilter(request.GET or None, queryset=selectors.users_matching())
    return render_list(
        request,
        filterset=filterset,
        table_class=UserTable,
        template="accounts/user_list.html",
        region="users-table",
        export_name="users",
        listing=USERS,
    )


def _user_action(request: HtmxHttpRequest, pk: int, action) -> HttpResponse:
    """Runs `action(account)`, which returns the success message, and answers as every
    row action does (`row_action_done`)."""
    account = selectors.user_get(pk)
    try:
        messages.success(request, action(account))
    except accounts.AccountError as refused:
        messages.error(request, refused.message)
    return row_action_done(request, region="users-table", redirect_to="user_list")


@permission_required("auth.change_user")
@require_POST
def user_deactivate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    def deactivate(account) -> str:
        accounts.user_deactivate(user=account, actor=request.user)
        return f"{account.get_username()} is deactivated and signed out everywhere."

    return _user_action(request, pk, deactivate)


@permission_required("auth.change_user")
@require_POST
def user_activate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    def activate(account) -> str:
        accounts.user_activate(user=account, actor=request.user)
        return f"{account.get_username()} can sign in again."

    return _user_action(request, pk, activate)


@permission_required("auth.change_user")
@require_POST
def user_sms_unlock(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    def unlock(account) -> str:
        accounts.sms_sign_in_unlock(user=account, actor=request.user)
        return f"{account.get_username()} can sign in by SMS again."

    return _user_action(request, pk, unlock)


@permission_required("auth.change_user")
@require_POST
def user_sign_out(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    def sign_out(account) -> str:
        ended = accounts.user_sign_out_everywhere(user=account, actor=request.user)
        return f"Ended {ended} session{pluralize(ended)} of {account.get_username()}."

    return _user_action(request, pk, sign_out)


@permission_required("auth.change_user")
@require_POST
def user_two_factor_reset(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    def reset(account) -> str:
        two_factor.second_factor_reset(user=account, actor=request.user)
        then = (
            "enrol again at their next sign-in"
            if two_factor.required_for(account)
            else "sign in with their password alone"
        )
        return f"The second factor of {account.get_username()} is reset: they {then}."

    return _user_action(request, pk, reset)
