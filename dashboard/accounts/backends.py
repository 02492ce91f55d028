"""Authentication backends and the username django-axes locks out."""

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from dashboard.accounts import services as accounts


class SmsCodeBackend(ModelBackend):
    """Signs a customer in with their mobile and a code from `accounts.sms_code_send`.

    `accounts.SmsLocked` (too many wrong codes for the mobile) goes through
    `authenticate` to the view, which says so: it is not a wrong code.
    """

    def authenticate(self, request: HttpRequest | None, mobile: str | None = None, code: str | None = None):
        if not mobile or not code:
            return None
        user = accounts.sms_code_verify(mobile=mobile, code=code)
        if user is not None and self.user_can_authenticate(user):
            return user
        return None


def sign_in_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """What django-axes counts failures against: the username, or the mobile for SMS sign-in."""
    source = credentials if credentials is not None else request.POST
    return source.get("username") or source.get("mobile")
