"""The second factor: an authenticator app (TOTP) and ten recovery codes, through
django-otp, asked for after the password or SMS step.

A user is enrolled when they have a confirmed TOTP device; their recovery codes are
the tokens of one static device that comes and goes with it. The password step signs
the user in; the session counts as verified once `django_otp.login` has stored the
device that accepted a code (OTPMiddleware then answers `user.is_verified()`).
Until then dashboard.middleware.SecondFactorMiddleware holds every request at the
step `pending_step` names.

Like dashboard/accounts.py: views call these operations and translate `AccountError`.
"""

import base64
import logging
import math
import re
from datetime import timedelta

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from dashboard.accounts.addresses import client_ip
from dashboard.accounts.audit import AuditAction, audit_record
from dashboard.accounts.roles import is_admin
from dashboard.accounts.services import AccountError, refuse_unless_may_act_on

logger = logging.getLogger(__name__)

# The URL names of the two steps a signed-in user can be held at.
VERIFY = "two_factor_verify"
ENROL = "two_factor_enrol"

RECOVERY_CODE_COUNT = 10
APP_CODE = re.compile(r"\d{6}")
# What django-otp's StaticToken.random_token() makes: 8 characters of lower-case base32.
RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")

REMEMBER_COOKIE = "second_factor_remembered"
REMEMBER_DAYS = 30
_REMEMBER_SALT = "dashboard.two_factor.remember"

# Session keys: the secret of an enrolment under way (on the page, but saved only once
# a code proves the app has it), and new recovery codes until they are shown once.
_ENROLMENT_KEY = "two_factor_enrolment_key"
_NEW_RECOVERY_CODES = "two_factor_new_recovery_codes"

AUDIT_RESET = AuditAction.SECOND_FACTOR_RESET
AUDIT_DISABLED = AuditAction.SECOND_FACTOR_DISABLED


class CodeRefused(AccountError):
    status = 422


class CodeThrottled(AccountError):
    status = 429


class LockedOut(AccountError):
    status = 429


def app_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def is_enrolled(user: AbstractBaseUser) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def required_for(user: AbstractBaseUser) -> bool:
    return settings.TWO_FACTOR_REQUIRED_FOR_ADMINS and is_admin(user)


def pending_step(request: HttpRequest) -> str | None:
    """The step the signed-in user must take before anything else: VERIFY (enrolled,
    no code yet in this session and no remembered browser), ENROL (an admin while
    the second factor is required), or None."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    device = app_device(user)
    if device is None:
        return ENROL if required_for(user) else None
    if _remembered(request, user, device):
        django_otp.login(request, device)
        return None
    return VERIFY


# --- Enrolment ----------------------------------------------------------------------


def enrolment_device(request: HttpRequest) -> TOTPDevice:
    """The app being enrolled in this session, not saved: the same secret until it is
    confirmed, so that reloading the page does not invalidate what the app scanned."""
    key = request.session.setdefault(_ENROLMENT_KEY, default_key())
    return TOTPDevice(user=request.user, key=key, name="Authenticator app", confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The secret as apps ask for it when typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))


def qr_code(device: TOTPDevice) -> str:
    """The otpauth:// link as a QR code: an SVG data: URI, drawn here (nothing is fetched).
    Dark on white whatever the theme, as scanners expect."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=4, border=4, dark="#000", light="#fff")


@transaction.atomic
def enrolment_confirm(*, request: HttpRequest, code: str) -> TOTPDevice:
    """Saves the app of `enrolment_device` once `code` shows it works, in place of any
    earlier app, with ten new recovery codes (`recovery_codes_take`). This session
    counts as verified; the user's other sessions will have to verify with the new app."""
    # One enrolment at a time per user, even from two browsers.
    user = get_user_model().objects.select_for_update().get(pk=request.user.pk)
    key = request.session.get(_ENROLMENT_KEY)
    if key is None:
        raise AccountError("This set-up has expired. Scan the new QR code, then enter the code your app shows.")
    device = TOTPDevice(user=user, key=key, name="Authenticator app")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not APP_CODE.fullmatch(code) or not totp.verify(int(code), tolerance=device.tolerance):
        raise CodeRefused(
            "That code does not match. Check that the app shows an entry for Order Platform, "
            "then enter the code it shows now."
        )
    # As TOTPDevice.verify_token does: this code, and any older one, cannot be used again.
    device.last_t, device.drift = totp.t(), totp.drift
    device.set_last_used_timestamp(commit=False)
    TOTPDevice.objects.filter(user=user).delete()
    device.save()
    _recovery_codes_replace(request, user)
    del request.session[_ENROLMENT_KEY]
    # A new session key for the session's new privileges, as at the password step.
    request.session.cycle_key()
    django_otp.login(request, device)
    return device


# --- Recovery codes -------------------------------------------------------------------


def _recovery_codes_replace(request: HttpRequest, user: AbstractBaseUser) -> None:
    # The device stays, its tokens change: a session verified with a recovery code stays verified.
    device = StaticDevice.objects.filter(user=user).first() or StaticDevice.objects.create(
        user=user, name="Recovery codes"
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    request.session[_NEW_RECOVERY_CODES] = codes


@transaction.atomic
def recovery_codes_regenerate(*, request: HttpRequest) -> None:
    """Ten new recovery codes (`recovery_codes_take`); the earlier ones stop working."""
    if not is_enrolled(request.user):
        raise AccountError("Turn on two-factor authentication first; recovery codes come with it.")
    _recovery_codes_replace(request, request.user)


def recovery_codes_take(request: HttpRequest) -> list[str] | None:
    """The new recovery codes, once: the session forgets them as it hands them over."""
    return request.session.pop(_NEW_RECOVERY_CODES, None)


def recovery_codes_left(user: AbstractBaseUser) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- The step after the password ----------------------------------------------------------


def is_locked_out(request: HttpRequest) -> bool:
    return AxesProxyHandler.is_locked(request, {"username": request.user.get_username()})


def _failures_forget(request: HttpRequest, user: AbstractBaseUser) -> None:
    # Only a whole sign-in clears the count (AXES_RESET_ON_SUCCESS is off): were the
    # password step enough, whoever has the password could guess four codes per sign-in.
    AxesProxyHandler.reset_attempts(username=user.get_username(), ip_address=client_ip(request))


def password_step_done(request: HttpRequest, user: AbstractBaseUser) -> None:
    """The password (or SMS) step has signed `user` in: if no code is asked of them
    (none set up, or a remembered browser), the sign-in is whole."""
    device = app_device(user)
    if device is None or _remembered(request, user, device):
        _failures_forget(request, user)


def second_factor_verify(*, request: HttpRequest, code: str):
    """Checks `code` (from the app, or a recovery code, which then stops working) for
    the signed-in user and marks the session verified; returns the device that took it.

    A wrong code counts as a failed sign-in for django-axes, so that wrong codes and
    wrong passwords lock the account out together. Each device also slows down
    repeated wrong codes itself (django-otp's throttling, 1, 2, 4… seconds), which a
    new password step does not reset.
    """
    if is_locked_out(request):
        raise LockedOut("Too many failed attempts.")
    user = request.user
    model = TOTPDevice if APP_CODE.fullmatch(code) else StaticDevice
    with transaction.atomic():
        device = model.objects.devices_for_user(user, confirmed=True).select_for_update().first()
        allowed, refusal = device.verify_is_allowed() if device else (True, None)
        verified = allowed and device is not None and device.verify_token(code)
    if not allowed:
        wait = max(1, math.ceil((refusal["locked_until"] - timezone.now()).total_seconds()))
        raise CodeThrottled(
            f"Several wrong codes in a row: wait {wait} s, then enter the code your app shows.", retry_after=wait
        )
    if not verified:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        if getattr(request, "axes_locked_out", False):
            raise LockedOut("Too many failed attempts.")
        raise CodeRefused(
            "That code is wrong, or was used already. Enter the code your app shows now, or an unused recovery code."
        )
    # A new session key for the session's new privileges, as at the password step.
    request.session.cycle_key()
    django_otp.login(request, device)
    _failures_forget(request, user)
    return device


# --- Remembered browsers ----------------------------------------------------------------


def _fingerprint(user: AbstractBaseUser, device: TOTPDevice) -> str:
    # Bound to the user, their app and their password: a reset, a new enrolment or a
    # new password makes every remembered browser ask for a code again.
    material = f"{user.pk}|{device.persistent_id}|{device.key}|{user.password}"
    return salted_hmac(_REMEMBER_SALT, material, algorithm="sha256").hexdigest()


def remember_browser(response: HttpResponse, *, request: HttpRequest) -> None:
    """Lets this browser skip the code step of `request.user` for REMEMBER_DAYS."""
    device = app_device(request.user)
    if device is None:
        return
    response.set_signed_cookie(
        REMEMBER_COOKIE,
        _fingerprint(request.user, device),
        salt=_REMEMBER_SALT,
        max_age=REMEMBER_DAYS * 24 * 60 * 60,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _remembered(request: HttpRequest, user: AbstractBaseUser, device: TOTPDevice) -> bool:
    value = request.get_signed_cookie(
        REMEMBER_COOKIE, default=None, salt=_REMEMBER_SALT, max_age=timedelta(days=REMEMBER_DAYS)
    )
    return value is not None and constant_time_compare(value, _fingerprint(user, device))


# --- Turning it off ---------------------------------------------------------------------


def _second_factor_remove(user: AbstractBaseUser) -> bool:
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return bool(removed)


@transaction.atomic
def second_factor_reset(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    """An admin removes someone's app and recovery codes (a lost phone): their sessions
    and remembered browsers stop counting as verified; they sign in with the password
    alone, or enrol again where the second factor is required."""
    if user.pk == actor.pk:
        raise AccountError("Change your own second factor under Two-factor authentication.")
    refuse_unless_may_act_on(user, actor, "reset a superuser's second factor")
    if not _second_factor_remove(user):
        raise AccountError(f"{user.get_username()} has no second factor to reset.")
    audit_record(actor=actor, action=AUDIT_RESET, target=user, detail="Authenticator app and recovery codes removed.")
    logger.info("Second factor of user %s reset by user %s", user.pk, actor.pk)


@transaction.atomic
def second_factor_disable(*, user: AbstractBaseUser) -> None:
    """The user turns their own second factor off, where it is not required of them."""
    if required_for(user):
        raise AccountError(
            "Admins must keep two-factor authentication on. To move it to a new phone, choose Set up a new phone."
        )
    if not _second_factor_remove(user):
        raise AccountError("Two-factor authentication is already off.")
    audit_record(actor=user, action=AUDIT_DISABLED, target=user, detail="Turned off by the user.")
