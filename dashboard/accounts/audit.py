"""The audit trail: what admins did to accounts, one append-only row each."""

from django.contrib.auth.models import AbstractBaseUser

from dashboard.accounts.models import AuditEntry


def audit_record(
    *, actor: AbstractBaseUser | None, action: str, target_user: AbstractBaseUser | None = None, detail: str = ""
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_user=target_user,
        target_repr=target_user.get_username() if target_user is not None else "",
        detail=detail,
    )
