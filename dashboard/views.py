"""Sign-in, the shell's pages (home, password, users) and the error pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import PasswordResetConfirmView
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.template import loader
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from dashboard import accounts, charts, selectors, sms, two_factor
from dashboard.forms import SignInForm, SmsCodeRequestForm, SmsSignInForm
from dashboard.lists import UserFilter, UserTable
from dashboard.permissions import permission_required
from orders import selectors as order_selectors
from orders.listing import render_list


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _signed_in(request: HttpRequest, user) -> HttpResponse:
    accounts.sign_in(request, user)
    two_factor.password_step_done(request, user)
    return redirect(_next_url(request))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        return _signed_in(request, form.get_user())
    context = {"form": form, "next": _next_url(request), "sms_enabled": sms.enabled()}
    return render(request, "registration/login.html", context, status=422 if form.is_bound else 200)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def sign_in_sms(request: HttpRequest) -> HttpResponse:
    """Step 1 (POST `mobile`): send a code. Step 2 (POST `mobile` and `code`): sign in."""
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    context = {"next": _next_url(request)}
    if not sms.enabled():
        status = 503 if request.method == "POST" else 200
        return render(request, "registration/login_sms.html", {**context, "sms_off": True}, status=status)
    if request.method == "POST" and "code" in request.POST:
        form = SmsSignInForm(request, data=request.POST)
        # A mobile with too many wrong codes is refused from inside authenticate (SmsLocked).
        try:
            if form.is_valid():
                return _signed_in(request, form.user)
        except accounts.AccountError as refused:
            mobile = form.cleaned_data["mobile"]
            code_form = SmsSignInForm(request, initial={"mobile": mobile})
            return _sms_refused(request, {**context, "code_form": code_form, "mobile": mobile}, refused)
        return render(request, "registration/login_sms.html", {**context, "code_form": form}, status=422)
    form = SmsCodeRequestForm(request.POST if request.method == "POST" else None)
    if not form.is_bound:
        return render(request, "registration/login_sms.html", {**context, "mobile_form": form})
    if not form.is_valid():
        return render(request, "registration/login_sms.html", {**context, "mobile_form": form}, status=422)
    mobile = form.cleaned_data["mobile"]
    code_form = SmsSignInForm(request, initial={"mobile": mobile})
    try:
        accounts.sms_code_send(mobile=mobile, ip_address=accounts.client_ip(request))
    except accounts.AccountError as refused:
        return _sms_refused(request, {**context, "code_form": code_form, "mobile": mobile}, refused)
    return render(
        request, "registration/login_sms.html", {**context, "code_form": code_form, "mobile": mobile, "sent": True}
    )


def _sms_refused(request: HttpRequest, context: dict, refused: accounts.AccountError) -> HttpResponse:
    response = render(
        request, "registration/login_sms.html", {**context, "error": refused.message}, status=refused.status
    )
    if refused.retry_after:
        response["Retry-After"] = str(refused.retry_after)
    return response


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes' answer once a username + address is locked out (AXES_LOCKOUT_CALLABLE)."""
    context = {
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    locked = render(request, "registration/locked_out.html", context, status=429)
    locked["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return locked


@login_required
@sensitive_post_parameters()
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password, or set a first one: a customer made with a set-password
    link they lost signs in by SMS, and has no old password to give."""
    first = not request.user.has_usable_password()
    form_class = SetPasswordForm if first else PasswordChangeForm
    form = form_class(request.user, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        update_session_auth_hash(request, form.save())
        messages.success(request, "Your password is set." if first else "Your password has been changed.")
        return redirect("home")
    context = {"form": form, "first": first}
    return render(request, "registration/password_change.html", context, status=422 if form.is_bound else 200)


class PasswordSetView(PasswordResetConfirmView):
    """The one-time link a new customer gets by SMS (Django's password-reset token:
    it stops working once the password is set)."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        messages.success(self.request, "Your password is set. Sign in with it.")
        return super().form_valid(form)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if order_selectors.sees_everything(request.user):
        figures = order_selectors.admin_dashboard()
        chart = charts.orders_and_revenue(figures["days"], settings.CURRENCY)
        return render(request, "dashboard/home_admin.html", {"figures": figures, "chart": chart})
    customer = order_selectors.customer_for(request.user)
    figures = order_selectors.customer_dashboard(customer) if customer else None
    return render(request, "dashboard/home_customer.html", {"customer": customer, "figures": figures})


@login_required
def balance_badge(request: HttpRequest) -> HttpResponse:
    customer = order_selectors.customer_for(request.user)
    if customer is None:
        raise Http404("Only customers have a balance.")
    return render(request, "base.html#balance-badge", {"badge_customer": customer})


@permission_required("auth.view_user")
def user_list(request: HttpRequest) -> HttpResponse:
    filterset = UserFilter(request.GET or None, queryset=selectors.users_matching())
    return render_list(
        request,
        filterset=filterset,
        table_class=UserTable,
        template="dashboard/user_list.html",
        region="users-table",
        export_name="users",
    )


def _user_action(request: HttpRequest, pk: int, action) -> HttpResponse:
    """Runs `action(account)`, which returns the success message. htmx gets no content
    and a `users-changed` event (the table reloads itself) with the message as a toast;
    without JavaScript, a redirect to the list."""
    account = selectors.user_get(pk)
    try:
        messages.success(request, action(account))
    except accounts.AccountError as refused:
        messages.error(request, refused.message)
    if request.htmx:
        return trigger_client_event(HttpResponse(status=204), "users-changed")
    return redirect("user_list")


@permission_required("auth.change_user")
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    def deactivate(account) -> str:
        accounts.user_deactivate(user=account, actor=request.user)
        return f"{account.get_username()} is deactivated and signed out everywhere."

    return _user_action(request, pk, deactivate)


@permission_required("auth.change_user")
@require_POST
def user_activate(request: HttpRequest, pk: int) -> HttpResponse:
    def activate(account) -> str:
        accounts.user_activate(user=account, actor=request.user)
        return f"{account.get_username()} can sign in again."

    return _user_action(request, pk, activate)


@permission_required("auth.change_user")
@require_POST
def user_sms_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    def unlock(account) -> str:
        accounts.sms_sign_in_unlock(user=account, actor=request.user)
        return f"{account.get_username()} can sign in by SMS again."

    return _user_action(request, pk, unlock)


@permission_required("auth.change_user")
@require_POST
def user_sign_out(request: HttpRequest, pk: int) -> HttpResponse:
    def sign_out(account) -> str:
        ended = accounts.user_sign_out_everywhere(user=account, actor=request.user)
        return f"Ended {ended} session{pluralize(ended)} of {account.get_username()}."

    return _user_action(request, pk, sign_out)


@permission_required("auth.change_user")
@require_POST
def user_two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    def reset(account) -> str:
        two_factor.second_factor_reset(user=account, actor=request.user)
        then = (
            "enrol again at their next sign-in"
            if two_factor.required_for(account)
            else "sign in with their password alone"
        )
        return f"The second factor of {account.get_username()} is reset: they {then}."

    return _user_action(request, pk, reset)


_migrations_applied = False


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers and every migration is applied, else 503 (for load balancers)."""
    global _migrations_applied
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            # Migrations only move forward: once applied, there is no need to look again.
            _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return JsonResponse({"status": "unavailable", "database": type(error).__name__}, status=503)
    if not _migrations_applied:
        return JsonResponse({"status": "unavailable", "database": "ok", "migrations": "pending"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "migrations": "applied"})


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # A page of its own, rendered without the request: whatever failed must not fail again here.
    return HttpResponseServerError(loader.render_to_string("errors/500.html"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/403_csrf.html", status=403)
