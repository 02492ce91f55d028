"""The password: changing it, setting a first one, and the one-time set-password link."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters

from dashboard.ui.htmx import HtmxHttpRequest


@login_required
@sensitive_post_parameters()
def password_change(request: HtmxHttpRequest) -> HttpResponse:
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
