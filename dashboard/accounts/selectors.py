"""Reads of accounts for the admin's Users page."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.accounts import services as accounts
from dashboard.accounts.models import AuditEntry


def users_matching() -> QuerySet:
    """Users with their customer profile, live session count, whether they have a
    second factor, and whether too many wrong SMS codes keep them from signing in by SMS."""
    return (
        get_user_model()
        .objects.select_related("customer")
        .prefetch_related("groups")
        .annotate(
            session_count=Count("sessions", filter=Q(sessions__expire_date__gt=timezone.now())),
            second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            sms_locked=Exists(accounts.sms_locked_mobiles().filter(mobile=OuterRef("customer__mobile"))),
        )
    )


def user_get(pk: int):
    return get_object_or_404(users_matching(), pk=pk)


def audit_entries() -> QuerySet[AuditEntry]:
    """The audit trail, newest first, with who did each thing."""
    return AuditEntry.objects.select_related("actor").order_by("-at", "-id")
