"""The two roles (docs/domain.md, "Accounts"), as Django groups.

The groups and their permissions are created by a data migration
(dashboard/migrations); code asks for permissions, never for group names.
"""

ADMIN_GROUP = "admin"
CUSTOMER_GROUP = "customer"


def is_admin(user) -> bool:
    """An operator: in the admin group, or a superuser (who has every permission)."""
    return user.has_perm("orders.view_all_orders")


def role_label(user) -> str:
    """The role a person sees in the top bar."""
    if is_admin(user):
        return "Admin"
    if user.has_perm("orders.place_order"):
        return "Customer"
    return "User"
