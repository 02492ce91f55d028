"""The two roles of SPEC §3, as Django groups.

The groups and their permissions are created by a data migration
(dashboard/migrations); code asks for permissions, never for group names.
"""

ADMIN_GROUP = "admin"
CUSTOMER_GROUP = "customer"


def role_label(user) -> str:
    """The role a person sees in the top bar."""
    if user.has_perm("orders.view_all_orders"):
        return "Admin"
    if user.has_perm("orders.place_order"):
        return "Customer"
    return "User"
