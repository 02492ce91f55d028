"""Signing in: by password, by SMS code, and the page django-axes shows once an account is locked out."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from dashboard.accounts import services as accounts
from dashboard.accounts import sms, two_factor
from dashboard.accounts.addresses import client_ip
from dashboard.accounts.forms import SignInForm, SmsCodeRequestForm, SmsSignInForm
from dashboard.ui.htmx import HtmxHttpRequest


def _next_url(request: HtmxHttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _signed_in(request: HtmxHttpRequest, user, method: str) -> HttpResponse:
    accounts.sign_in(request, user, method=method)
    two_factor.password_step_done(request, user)
    return redirect(_next_url(request))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def sign_in(request: HtmxHttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_bound:
        if form.is_valid():
            return _signed_in(request, form.get_user(), "password")
        accounts.sign_in_failed(tried=request.POST.get("username", ""), method="password")
    context = {"form": form, "next": _next_url(request), "sms_enabled": sms.enabled()}
    return render(request, "registration/login.html", context, status=422 if form.is_bound else 200)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def sign_in_sms(request: HtmxHttpRequest) -> HttpResponse:
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
                return _signed_in(request, form.user, "an SMS code")
            accounts.sign_in_failed(tried=request.POST.get("mobile", ""), method="an SMS code")
        except accounts.AccountError as refused:
            accounts.sign_in_failed(tried=request.POST.get("mobile", ""), method="an SMS code")
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
        accounts.sms_code_send(mobile=mobile, ip_address=client_ip(request))
    except accounts.AccountError as refused:
        return _sms_refused(request, {**context, "code_form": code_form, "mobile": mobile}, refused)
    return render(
        request, "registration/login_sms.html", {**context, "code_form": code_form, "mobile": mobile, "sent": True}
    )


def _sms_refused(request: HtmxHttpRequest, context: dict, refused: accounts.AccountError) -> HttpResponse:
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
