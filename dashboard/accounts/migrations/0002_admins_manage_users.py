"""Admins see users and can deactivate them or end their sessions."""

from django.db import migrations

CODENAMES = ["view_user", "change_user"]


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="auth", codename__in=CODENAMES)
    assert permissions.count() == len(CODENAMES), "missing auth permissions"
    Group.objects.get(name="admin").permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="auth", codename__in=CODENAMES)
    Group.objects.get(name="admin").permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_roles")]
    operations = [migrations.RunPython(grant, revoke)]
