"""Account operations: signing in, SMS codes, deactivating users, ending sessions.

Like orders.services for money: views call these and answer an `AccountError`
(a `dashboard.ui.refusals.Refusal`) with its message; nothing else writes to these tables.
"""

import logging
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, F, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from dashboard.accounts import sms
from dashboard.accounts.audit import AuditAction, audit_record
from dashboard.accounts.models import SmsCode, UserSession
from dashboard.ui.refusals import FORBIDDEN, TOO_MANY, Refusal

logger = logging.getLogger(__name__)

# Session keys holding the Unix times of sign-in and of the latest request, for the
# absolute lifetime and the idle timeout (dashboard.middleware.SessionLifetimeMiddleware).
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen_at"


class AccountError(Refusal):
    """A refused account operation; `message` says what to do next."""

    kind = FORBIDDEN


class SmsRateLimited(AccountError):
    kind = TOO_MANY


class SmsLocked(AccountError):
    kind = TOO_MANY


def sign_in(request: HttpRequest, user: AbstractBaseUser, *, method: str) -> None:
    """Log the user in: Django's `login` gives the session a new key (no fixation).
    `method` ("password", "SMS code") is what the audit entry says they signed in with."""
    login(request, user)
    request.session[SIGNED_IN_AT] = request.session[LAST_SEEN] = int(time.time())
    audit_record(actor=user, action=AuditAction.SIGNED_IN, target=user, detail=f"With {method}.")


def sign_in_failed(*, tried: str, method: str) -> None:
    """A refused sign-in: `tried` is the username or mobile number given, as typed."""
    audit_record(actor=None, action=AuditAction.SIGN_IN_FAILED, target_repr=tried.strip(), detail=f"With {method}.")


def _code_hash(mobile: str, code: str) -> str:
    return salted_hmac("dashboard.sms-code", f"{mobile}:{code}", algorithm="sha256").hexdigest()


def _sign_in_message(code: str) -> str:
    minutes = settings.SMS_CODE_TTL_SECONDS // 60
    return f"Your Order Platform sign-in code is {code}. It expires in {minutes} minutes. Never share it."


def _sms_window_start(now: datetime) -> datetime:
    return now - timedelta(hours=settings.SMS_FAILURE_WINDOW_HOURS)


def sms_locked_mobiles(now: datetime | None = None) -> QuerySet:
    """The mobiles with SMS_FAILURES_PER_MOBILE wrong codes or more in the last
    SMS_FAILURE_WINDOW_HOURS: every try at a code counts, except the one that signed in.

    Each code allows a few tries and a new one comes every minute, from any address,
    so without this cap someone could guess for ever.
    """
    return (
        SmsCode.objects.filter(created_at__gt=_sms_window_start(now or timezone.now()))
        .values("mobile")
        .annotate(failures=Sum("attempts") - Count("used_at"))
        .filter(failures__gte=settings.SMS_FAILURES_PER_MOBILE)
        .values("mobile")
    )


def _refuse_if_sms_locked(mobile: str, now: datetime) -> None:
    if sms_locked_mobiles(now).filter(mobile=mobile).exists():
        hours = settings.SMS_FAILURE_WINDOW_HOURS
        raise SmsLocked(
            f"Too many wrong codes for this number. Try again within {hours} hours, "
            "sign in with your username and password, or ask support to unlock sign-in by SMS.",
            retry_after=hours * 3600,
        )


def sms_code_send(*, mobile: str, ip_address: str | None) -> None:
    """Send a new sign-in code to `mobile` if it belongs to an active customer.

    The limits and the answer are the same whether or not it does, and whether or
    not the SMS provider takes the message, so the form cannot be used to find out
    which numbers have accounts.
    """
    now = timezone.now()
    with transaction.atomic():
        _refuse_if_sms_locked(mobile, now)
        last = SmsCode.objects.filter(mobile=mobile).order_by("-created_at").only("created_at").first()
        if last and (wait := settings.SMS_RESEND_SECONDS - int((now - last.created_at).total_seconds())) > 0:
            raise SmsRateLimited(
                f"A code was sent to this number less than a minute ago. You can ask for another in {wait} s.",
                retry_after=wait,
            )
        hour_ago = now - timedelta(hours=1)
        if ip_address and (
            SmsCode.objects.filter(ip_address=ip_address, created_at__gt=hour_ago).count()
            >= settings.SMS_SENDS_PER_IP_PER_HOUR
        ):
            raise SmsRateLimited(
                "Too many codes were asked for from your network. Try again in an hour, "
                "or sign in with your username and password.",
                retry_after=3600,
            )
        code = f"{secrets.randbelow(10**6):06d}"
        SmsCode.objects.create(
            mobile=mobile,
            code_hash=_code_hash(mobile, code),
            ip_address=ip_address,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        )
        known = get_user_model().objects.filter(customer__mobile=mobile, is_active=True).exists()
    if known:
        try:
            sms.get_backend().send(mobile, _sign_in_message(code))
        except OSError as exc:
            # Never the message: it holds the code.
            logger.error("SMS sign-in code could not be sent: %s", type(exc).__name__)


def sms_code_verify(*, mobile: str, code: str) -> AbstractBaseUser | None:
    """The customer whose latest code for `mobile` is `code`, or None.

    A code is single use, expires, and allows SMS_CODE_MAX_ATTEMPTS tries: each
    try is counted before the comparison, by a conditional update, so concurrent
    guesses cannot exceed the limit either. A mobile with too many wrong codes is
    refused (SmsLocked) before its try is counted.
    """
    now = timezone.now()
    _refuse_if_sms_locked(mobile, now)
    latest = SmsCode.objects.filter(mobile=mobile).order_by("-created_at").first()
    if latest is None or latest.used_at is not None or latest.expires_at <= now:
        return None
    counted = SmsCode.objects.filter(
        pk=latest.pk, used_at__isnull=True, attempts__lt=settings.SMS_CODE_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted or not constant_time_compare(latest.code_hash, _code_hash(mobile, code)):
        return None
    if not SmsCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(used_at=now):
        return None
    return get_user_model().objects.filter(customer__mobile=mobile).first()


@transaction.atomic
def sms_sign_in_unlock(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    """Lets a customer locked out of SMS sign-in by too many wrong codes sign in by SMS
    again: their codes of the window are deleted, so they no longer count and none
    can be tried again."""
    customer = getattr(user, "customer", None)
    if customer is None:
        raise AccountError("Only customers sign in by SMS.")
    deleted, _ = SmsCode.objects.filter(
        mobile=customer.mobile, created_at__gt=_sms_window_start(timezone.now())
    ).delete()
    audit_record(
        actor=actor, action=AuditAction.SMS_UNLOCKED, target=user, detail=f"{deleted} codes of the window deleted."
    )


def refuse_unless_may_act_on(user: AbstractBaseUser, actor: AbstractBaseUser, action: str) -> None:
    """One rule for every action on another account: only a superuser acts on a
    superuser, so a plain admin can neither undo a superuser's decision nor lock one out."""
    if user.is_superuser and not actor.is_superuser:
        raise AccountError(f"Only a superuser can {action}.")


@transaction.atomic
def user_sign_out_everywhere(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> int:
    """End every session of `user`; returns how many there were."""
    refuse_unless_may_act_on(user, actor, "sign a superuser out everywhere")
    deleted, _ = UserSession.objects.filter(user=user).delete()
    audit_record(
        actor=actor, action=AuditAction.SIGNED_OUT_EVERYWHERE, target=user, detail=f"{deleted} sessions ended."
    )
    return deleted


@transaction.atomic
def user_deactivate(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    """Deactivate `user` (nothing is deleted) and end all their sessions."""
    if user.pk == actor.pk:
        raise AccountError("You cannot deactivate your own account.")
    refuse_unless_may_act_on(user, actor, "deactivate a superuser")
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    audit_record(actor=actor, action=AuditAction.DEACTIVATED, target=user)
    UserSession.objects.filter(user=user).delete()


@transaction.atomic
def user_activate(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> None:
    refuse_unless_may_act_on(user, actor, "reactivate a superuser")
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True
    audit_record(actor=actor, action=AuditAction.ACTIVATED, target=user)
