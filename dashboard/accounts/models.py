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
    """One thing somebody did: who, what, to which object, the fields it changed, from
    where and when. Append-only: never updated or deleted (a database trigger refuses).

    The object is named by its type (`object_type`, the model's name: "order",
    "customer", "user"…) and its key (`object_id`), not by a foreign key, so an entry
    can name anything and outlives what it names; `target_repr` keeps what the object
    was called at the time. `target_user` is set as well when the object is a user.
    `changes` maps each changed field to `[before, after]`, as text.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=40, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object"),
            models.Index(fields=["action", "-at"], name="audit_action"),
            models.Index(fields=["actor", "-at"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr} at {self.at:%Y-%m-%d %H:%M:%S}"
