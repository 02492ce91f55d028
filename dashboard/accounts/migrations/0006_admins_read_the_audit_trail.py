"""Admins read the audit trail (the Audit page)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_auditentry"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; this one is needed now.
    app_config = apps.get_app_config("dashboard")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="dashboard", codename__in=CODENAMES)
    assert permissions.count() == len(CODENAMES), "missing audit permissions"
    Group.objects.get(name="admin").permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="dashboard", codename__in=CODENAMES)
    Group.objects.get(name="admin").permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0005_audit_of_every_object")]
    operations = [migrations.RunPython(grant, revoke)]
