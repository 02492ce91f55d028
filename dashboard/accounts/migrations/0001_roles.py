"""The `admin` and `customer` groups with their permissions (docs/domain.md, "Accounts").

The lists are frozen here, as a migration must be; a later permission is granted
by a later migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "admin": [
        "view_level", "add_level", "change_level",
        "view_customer", "add_customer", "change_customer",
        "view_product", "add_product", "change_product",
        "view_pricetier", "add_pricetier", "change_pricetier", "delete_pricetier",
        "view_order", "view_all_orders", "cancel_order",
        "view_orderevent", "view_payment", "view_ledgerentry", "manage_balances",
    ],
    "customer": [
        "view_product",
        "view_order", "place_order", "cancel_order",
        "view_orderevent", "view_payment", "view_ledgerentry",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; these need them now.
    for app_label in ("auth", "orders"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label="orders", codename__in=codenames)
        assert permissions.count() == len(codenames), f"missing permissions for {name}"
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0002_ledger_append_only"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
