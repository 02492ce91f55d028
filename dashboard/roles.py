"""The two roles of SPEC §3, as Django groups.

The groups and their permissions are created by a data migration
(dashboard/migrations); code asks for permissions, never for group names.
"""

ADMIN_GROUP = "admin"
CUSTOMER_GROUP = "customer"
