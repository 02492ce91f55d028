import importlib
import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs hypothesis with a fixed seed (derandomize) so a red build is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _database_vendor() -> str:
    from django.db import connection

    return connection.vendor


def pytest_collection_modifyitems(config, items):
    if _database_vendor() == "postgresql":
        return
    if os.environ.get("REQUIRE_POSTGRES"):
        raise pytest.UsageError("REQUIRE_POSTGRES is set but DATABASE_URL is not a PostgreSQL URL.")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> None:
    # Production's PBKDF2 takes most of a second per sign-in by design; tests sign in often.
    from django.conf import settings as django_settings

    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


DATABASE_FIXTURES = ("db", "transactional_db", "live_server")


def restore_roles() -> None:
    """Put back the permissions and role groups the migrations made, if a flush removed them.

    A transactional test (and every live_server test) empties the tables when it
    ends, data migrations' rows included; the tests after it still need the roles.
    """
    from django.contrib.auth.models import Group, Permission
    from django.core.management.sql import emit_post_migrate_signal

    roles = importlib.import_module("dashboard.accounts.migrations.0001_roles").ROLES
    admin_extra = importlib.import_module("dashboard.accounts.migrations.0002_admins_manage_users").CODENAMES
    audit = importlib.import_module("dashboard.accounts.migrations.0006_admins_read_the_audit_trail").CODENAMES
    if Group.objects.filter(name__in=roles).count() == len(roles):
        return
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    for name, codenames in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
    Group.objects.get(name="admin").permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", codename__in=admin_extra),
        *Permission.objects.filter(content_type__app_label="dashboard", codename__in=audit),
    )


@pytest.fixture(autouse=True)
def _roles_present(request: pytest.FixtureRequest) -> None:
    # pytest-django's own autouse fixture has opened the database for a test marked
    # django_db by now; a test asking for a database fixture gets it first.
    requested = [name for name in DATABASE_FIXTURES if name in request.fixturenames]
    if not requested and request.node.get_closest_marker("django_db") is None:
        return
    for name in requested:
        request.getfixturevalue(name)
    restore_roles()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # The cache outlives a test's database rows: start every test without cached figures.
    from django.core.cache import cache

    cache.clear()
