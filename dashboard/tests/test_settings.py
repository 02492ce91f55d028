"""Settings from the environment (the README's Configuration table).

Settings are read once per process, so each case imports them in a fresh Python
process with an environment of its own.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Everything settings.py reads that a developer's shell or CI might have exported.
CONFIGURATION = {
    "DATABASE_URL",
    "DATABASE_REPLICA_URLS",
    "CONN_MAX_AGE",
    "REPLICA_PIN_SECONDS",
    "PUBLIC_URL",
    "PAYMENT_GATEWAY",
    "SMS_BACKEND",
}
SECRET_KEY = "a-long-random-production-secret-for-tests-only"
# What a production process cannot start without.
PRODUCTION = {"DJANGO_SECRET_KEY": SECRET_KEY, "PUBLIC_URL": "https://orders.example.com"}

PRINT_SETTINGS = """
import json
import django
from django.conf import settings

django.setup()
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
    "DATABASES": settings.DATABASES,
    "DATABASE_ROUTERS": settings.DATABASE_ROUTERS,
    "TRUSTED_PROXIES": settings.TRUSTED_PROXIES,
    "SMS_BACKEND": settings.SMS_BACKEND,
}, default=str))
"""

PRINT_SQLITE_PRAGMAS = """
import json
import django
from django.db import connection

django.setup()
with connection.cursor() as cursor:
    pragmas = {
        name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }
print(json.dumps(pragmas))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in CONFIGURATION
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> dict:
    """The settings a production process gets from `env` (debug off, a secret key)."""
    result = run_python(PRINT_SETTINGS, **{**PRODUCTION, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class TestSecretKey:
    @pytest.mark.parametrize(
        "env",
        [{}, {"DJANGO_DEBUG": "false"}, {"DJANGO_DEBUG": "0"}, {"DJANGO_SECRET_KEY": ""}],
        ids=["debug-unset", "debug-false", "debug-0", "empty-key"],
    )
    def test_debug_off_without_a_secret_key_refuses_to_start(self, env):
        result = run_python(PRINT_SETTINGS, **env)
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert "DJANGO_SECRET_KEY" in result.stderr
        assert result.stdout == ""

    def test_debug_off_with_a_blank_secret_key_refuses_to_start(self):
        result = run_python(PRINT_SETTINGS, DJANGO_SECRET_KEY="   ")
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY" in result.stderr

    def test_debug_off_with_a_secret_key_starts(self):
        loaded = load_settings()
        assert loaded["DEBUG"] is False
        assert loaded["SECRET_KEY"] == SECRET_KEY

    def test_debug_on_without_a_secret_key_starts_with_a_development_key(self):
        result = run_python(PRINT_SETTINGS, DJANGO_DEBUG="true")
        assert result.returncode == 0, result.stderr
        loaded = json.loads(result.stdout)
        assert loaded["DEBUG"] is True
        assert "insecure" in loaded["SECRET_KEY"]


class TestDatabase:
    def test_without_database_url_it_is_a_sqlite_file_tuned_for_a_web_app(self):
        default = load_settings()["DATABASES"]["default"]
        assert default["ENGINE"] == "django.db.backends.sqlite3"
        assert default["NAME"] == str(REPO_ROOT / "db.sqlite3")
        options = default["OPTIONS"]
        assert options["transaction_mode"] == "IMMEDIATE"
        assert options["timeout"] > 0
        assert "journal_mode=WAL" in options["init_command"]

    def test_a_sqlite_database_url_keeps_the_tuning_on_a_real_connection(self, tmp_path):
        database = tmp_path / "x.sqlite3"
        env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{database}"}
        default = load_settings(**env)["DATABASES"]["default"]
        assert default["NAME"] == str(database)
        assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"

        result = run_python(PRINT_SQLITE_PRAGMAS, **env)
        assert result.returncode == 0, result.stderr
        pragmas = json.loads(result.stdout)
        assert pragmas["journal_mode"] == "wal"
        # Every statement of the init command ran, not only the first one.
        assert pragmas["synchronous"] == 1, "synchronous=NORMAL"
        assert pragmas["busy_timeout"] == default["OPTIONS"]["timeout"] * 1000
        assert pragmas["foreign_keys"] == 1
        assert database.exists()

    def test_a_postgres_url_is_parsed_with_ssl_and_persistent_connections(self):
        default = load_settings(DATABASE_URL="postgres://u:p@db.example:5432/name?sslmode=require", CONN_MAX_AGE="120")[
            "DATABASES"
        ]["default"]
        assert default["ENGINE"] == "django.db.backends.postgresql"
        assert (default["HOST"], default["PORT"], default["NAME"]) == ("db.example", 5432, "name")
        assert (default["USER"], default["PASSWORD"]) == ("u", "p")
        assert default["OPTIONS"]["sslmode"] == "require"
        assert default["CONN_MAX_AGE"] == 120
        assert default["CONN_HEALTH_CHECKS"] is True

    def test_replica_urls_become_test_mirrors_of_the_primary(self):
        loaded = load_settings(
            DATABASE_URL="postgres://u:p@primary.example/name",
            DATABASE_REPLICA_URLS="postgres://u:p@r1.example/name, postgres://u:p@r2.example/name",
        )
        databases = loaded["DATABASES"]
        assert sorted(databases) == ["default", "replica1", "replica2"]
        assert [databases[alias]["HOST"] for alias in ("replica1", "replica2")] == [
            "r1.example",
            "r2.example",
        ]
        for alias in ("replica1", "replica2"):
            assert databases[alias]["ENGINE"] == "django.db.backends.postgresql"
            assert databases[alias]["TEST"]["MIRROR"] == "default"
        assert loaded["DATABASE_ROUTERS"] == ["dashboard.db_router.PrimaryReplicaRouter"]

    def test_without_replica_urls_there_is_only_the_primary(self):
        assert list(load_settings(DATABASE_REPLICA_URLS="")["DATABASES"]) == ["default"]

    @pytest.mark.parametrize("value", ["forever", "1.5", "60s"])
    def test_a_conn_max_age_that_is_not_a_whole_number_is_refused_clearly(self, value):
        result = run_python(PRINT_SETTINGS, **PRODUCTION, CONN_MAX_AGE=value)
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert f"CONN_MAX_AGE must be a whole number, got {value!r}" in result.stderr


class TestHosts:
    def test_comma_separated_lists_are_parsed(self):
        loaded = load_settings(
            DJANGO_ALLOWED_HOSTS=" orders.example.com , .example.net,,",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://orders.example.com,https://*.example.net",
        )
        assert loaded["ALLOWED_HOSTS"] == ["orders.example.com", ".example.net"]
        assert loaded["CSRF_TRUSTED_ORIGINS"] == ["https://orders.example.com", "https://*.example.net"]

    def test_unset_lists_default_to_local_hosts_and_no_trusted_origins(self):
        loaded = load_settings()
        assert loaded["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
        assert loaded["CSRF_TRUSTED_ORIGINS"] == []


class TestTrustedProxies:
    def test_none_unless_configured(self):
        assert load_settings()["TRUSTED_PROXIES"] == 0

    def test_the_number_of_proxies_in_front(self):
        assert load_settings(DJANGO_TRUSTED_PROXIES="2")["TRUSTED_PROXIES"] == 2

    def test_a_negative_number_is_refused(self):
        result = run_python(PRINT_SETTINGS, **PRODUCTION, DJANGO_TRUSTED_PROXIES="-1")
        assert result.returncode != 0 and "DJANGO_TRUSTED_PROXIES must be 0 or more" in result.stderr


class TestSmsBackend:
    def test_development_prints_texts_to_the_console(self):
        result = run_python(PRINT_SETTINGS, DJANGO_DEBUG="true")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["SMS_BACKEND"] == "console"

    def test_production_sends_none_unless_one_is_configured(self):
        assert load_settings()["SMS_BACKEND"] == ""
        assert load_settings(SMS_BACKEND="http")["SMS_BACKEND"] == "http"
