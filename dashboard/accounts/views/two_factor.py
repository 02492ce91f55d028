"""The second factor's pages: the code step after the password, enrolment, the
recovery codes (shown once), and the account page to renew or turn it off."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from dashboard.accounts import two_factor
from dashboard.accounts.forms import EnrolmentForm, SecondFactorForm
from dashboard.accounts.services import AccountError
from dashboard.accounts.views.sign_in import _next_url, locked_out
from dashboard.ui.htmx import HtmxHttpRequest, redirect_after_post


def _recovery_codes_page(then: str) -> str:
    return f"{reverse('two_factor_recovery_codes')}?{urlencode({'next': then})}"


@login_required
def two_factor_account(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    device = two_factor.app_device(user)
    context = {
        "device": device,
        "codes_left": two_factor.recovery_codes_left(user) if device else 0,
        "required": two_factor.required_for(user),
    }
    return render(request, "registration/two_factor.html", context)


@login_required
@sensitive_post_parameters("code")
@never_cache
def two_factor_enrol(request: HtmxHttpRequest) -> HttpResponse:
    device = two_factor.enrolment_device(request)
    form = EnrolmentForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            two_factor.enrolment_confirm(request=request, code=form.cleaned_data["code"])
        except AccountError as refused:
            form.add_error("code", refused.message)
        else:
            return redirect(_recovery_codes_page(_next_url(request)))
    context = {
        "form": form,
        "qr_code": two_factor.qr_code(device),
        "secret": two_factor.secret_text(device),
        "next": _next_url(request),
        "replacing": two_factor.is_enrolled(request.user),
    }
    return render(request, "registration/two_factor_enrol.html", context, status=422 if form.is_bound else 200)


@login_required
@never_cache
def two_factor_recovery_codes(request: HtmxHttpRequest) -> HttpResponse:
    codes = two_factor.recovery_codes_take(request)
    if codes is None:
        messages.info(request, "Recovery codes are shown only once. If you have lost yours, make new ones.")
        return redirect("two_factor")
    groups = [f"{code[:4]} {code[4:]}" for code in codes]
    return render(request, "registration/two_factor_recovery_codes.html", {"codes": groups, "next": _next_url(request)})


@login_required
@require_POST
def two_factor_recovery_codes_renew(request: HtmxHttpRequest) -> HttpResponse:
    try:
        two_factor.recovery_codes_regenerate(request=request)
    except AccountError as refused:
        messages.error(request, refused.message)
        return redirect_after_post(request, "two_factor")
    return redirect_after_post(request, _recovery_codes_page(reverse("two_factor")))


@login_required
@require_POST
def two_factor_disable(request: HtmxHttpRequest) -> HttpResponse:
    try:
        two_factor.second_factor_disable(user=request.user)
    except AccountError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Two-factor authentication is off: you sign in with your password alone.")
    return redirect_after_post(request, "two_factor")


def _locked_out(request: HtmxHttpRequest) -> HttpResponse:
    # The half-finished sign-in ends with the lockout: the password step is locked too.
    logout(request)
    return locked_out(request)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def two_factor_verify(request: HtmxHttpRequest) -> HttpResponse:
    """The step after the password for anyone enrolled: a code from the app, or a
    recovery code (`?recovery=1` asks for one)."""
    if getattr(request, "second_factor_step", None) != two_factor.VERIFY:
        return redirect(_next_url(request))
    if two_factor.is_locked_out(request):
        return _locked_out(request)
    recovery = (request.POST or request.GET).get("recovery") == "1"
    form = SecondFactorForm(request.POST if request.method == "POST" else None, recovery=recovery)
    retry_after = None
    if form.is_bound and form.is_valid():
        try:
            two_factor.second_factor_verify(request=request, code=form.cleaned_data["code"])
        except two_factor.LockedOut:
            return _locked_out(request)
        except AccountError as refused:
            form.add_error("code", refused.message)
            retry_after = refused.retry_after
        else:
            response = redirect(_next_url(request))
            if form.cleaned_data["remember"]:
                two_factor.remember_browser(response, request=request)
            return response
    status = 429 if retry_after else 422 if form.is_bound else 200
    response = render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}, status=status
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
