"""Accounts: the session table, the SMS sign-in codes and the audit trail."""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone


class UserSession(AbstractBaseSession):
    """A database session that knows its user, so all of a user's sessions can be ended at once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions"
    )

    @classmethod
    def get_session_store_class(cls):
        from dashboard.accounts.sessions import SessionStore

        return SessionStore


class SmsCode(models.Model):
    """One code sent (or, for an unknown mobile, pretended to be sent) for SMS sign-in.

    Only a keyed hash of the code is stored. A row exists for every request, known
    mobile or not, so the rate limits answer alike for both.
    """

    mobile = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["mobile", "-created_at"], name="sms_code_mobile"),
            models.Index(fields=["ip_address", "-created_at"], name="sms_code_ip"),
        ]

    def __str__(self) -> str:
        return f"SMS code for {self.mobile} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class AuditEntry(models.Model):
    """One thing an admin did to an account. Append-only: never updated or deleted.

    `target_repr` keeps what the target was called at the time, so the entry reads
    the same whatever happens to the account later.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_repr = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["-at", "-id"], name="audit_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr} at {self.at:%Y-%m-%d %H:%M:%S}"
