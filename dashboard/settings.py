"""Order Platform settings.

Everything is read from the environment (every variable is in the README's
Configuration table). The defaults are safe: debug is off unless `DJANGO_DEBUG` says
otherwise, and with debug off the app refuses to start without `DJANGO_SECRET_KEY`.
Production behaviour is switched on by the environment; nothing exists only in
production.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string in production, "
            "or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-used-with-debug-off"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")


def public_url_setting(value: str) -> str:
    """The scheme and host (and any path prefix) the world reaches this site at. Every
    absolute URL handed to someone else (gateway callbacks and returns, links sent by
    SMS) is built on it, never on the request's Host header, whose port Django's host
    check ignores."""
    value = value.strip().rstrip("/")
    if not value:
        if not DEBUG:
            raise ImproperlyConfigured(
                "PUBLIC_URL is not set. Set it to the address customers use, for example https://orders.example.com."
            )
        return "http://127.0.0.1:8000"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"PUBLIC_URL must be an http(s) address such as https://orders.example.com, got {value!r}."
        )
    return value


PUBLIC_URL = public_url_setting(os.environ.get("PUBLIC_URL", ""))

INSTALLED_APPS = [
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "dashboard.ui",
    "dashboard.accounts",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dashboard.logs.RequestLogMiddleware",
    "dashboard.db_router.ReadYourWritesMiddleware",
    "dashboard.accounts.middleware.AuditAddressMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dashboard.accounts.middleware.SessionLifetimeMiddleware",
    "dashboard.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.ui.htmx.HtmxMessagesMiddleware",
    # Last, so that it sees the response of a sign-in that hit the lockout.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "dashboard.menu.shell",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------
# DATABASE_URL unset: a SQLite file tuned for a web app. WAL lets readers run beside
# the single writer; IMMEDIATE takes the write lock at BEGIN, so two transactions
# never both read and then both try to upgrade to a write (which SQLite would answer
# with "database is locked" at once, without waiting); the timeout makes a writer
# wait for the lock instead of failing.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA cache_size=-20000;"
        "PRAGMA mmap_size=134217728;"
    ),
}
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60)


def database_config(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    return config


DATABASES = {
    "default": database_config(os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
# Read replicas: reads go to one of them, writes and migrations to the primary
# (dashboard.db_router). Under test a replica mirrors the primary.
for index, url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    DATABASES[f"replica{index}"] = {**database_config(url), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["dashboard.db_router.PrimaryReplicaRouter"]
# How long after a write a browser keeps reading from the primary, so that a
# replica's lag never hides what the user has just done.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first: it hashes new passwords, and an older PBKDF2 hash is rehashed with
# it at the user's next sign-in. Being memory-hard, it makes guessing leaked hashes
# on GPUs far dearer. The PBKDF2 hashers stay so that existing hashes still verify.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# Length is what makes a password hard to guess; 12 characters is the least we accept
# for a new one (existing shorter passwords still sign in).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In production `collectstatic` (the PaaS build step) writes compressed copies with
# hashed names, which whitenoise serves with a one-year cache header; in development
# and tests files are served as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or env_bool("DJANGO_PLAIN_STATIC")
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Sign-in and sessions ---------------------------------------------------------
# Sessions live in the database, one row per session carrying its user, so that
# "sign out everywhere" is one DELETE (dashboard.sessions).
SESSION_ENGINE = "dashboard.accounts.sessions"
# A session ends after SESSION_IDLE_SECONDS without a request, and in any case
# SESSION_ABSOLUTE_SECONDS after sign-in (dashboard.middleware.SessionLifetimeMiddleware).
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Cookies only over HTTPS once deployed; DJANGO_SECURE_COOKIES=false runs production
# settings over plain HTTP on loopback (the fault tests do).
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
# The CSRF token reaches htmx through the `hx-headers` on <body>, so no script
# needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "dashboard.views.csrf_failure"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in of a locked-out username + address.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "dashboard.accounts.backends.SmsCodeBackend",
]
# Brute-force protection (django-axes) for both sign-ins: a username (or mobile)
# from one address is locked out after AXES_FAILURE_LIMIT failures, for the cool-off.
# Attempts live in the database, so the lockout holds across all web processes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "dashboard.accounts.backends.sign_in_username"
# Failures are cleared by a whole sign-in (password and, where asked, the second
# factor: dashboard.two_factor), not by the password step alone.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "dashboard.accounts.views.sign_in.locked_out"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "code"]
# How many proxies (a PaaS router, a load balancer) stand in front of the app, each
# appending to X-Forwarded-For. Lockouts, SMS limits and the request log key on the
# visitor's address (dashboard.accounts.addresses.client_ip); 0 ignores the header, which is
# right only when browsers connect to the app directly: behind a router every
# visitor would otherwise share its address, and one visitor's lockout be everyone's.
TRUSTED_PROXIES = env_int("DJANGO_TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES must be 0 or more, got {TRUSTED_PROXIES}")
AXES_CLIENT_IP_CALLABLE = "dashboard.accounts.addresses.client_ip"

# Second factor (TOTP apps through django-otp; dashboard/two_factor.py). Required of
# every admin when this is on: on by default once deployed, off for `make run` and
# the tests, which opt in. Anyone who has enrolled enters a code at every sign-in.
TWO_FACTOR_REQUIRED_FOR_ADMINS = env_bool("DJANGO_TWO_FACTOR_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = "Order Platform"

# SMS sign-in: where codes go ("console", "locmem", "http" or a dotted path to a
# class; see dashboard/sms.py), and its limits. "console" prints codes and
# set-password links, so it is the default in development only; with debug off and
# no SMS_BACKEND, nothing is texted and sign-in by SMS says it is not available
# (`check --deploy` refuses console and locmem there: dashboard/checks.py).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console" if DEBUG else "").strip()
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env_int("SMS_HTTP_TIMEOUT", 5)
SMS_CODE_TTL_SECONDS = 5 * 60
SMS_CODE_MAX_ATTEMPTS = 5
SMS_RESEND_SECONDS = 60
SMS_SENDS_PER_IP_PER_HOUR = env_int("SMS_SENDS_PER_IP_PER_HOUR", 10)
# Wrong codes allowed per mobile, across codes and addresses, in a rolling window;
# then SMS sign-in for that number is refused until the window has passed or an
# admin unlocks it on the Users page (dashboard.accounts.sms_locked_mobiles).
SMS_FAILURES_PER_MOBILE = env_int("SMS_FAILURES_PER_MOBILE", 10)
SMS_FAILURE_WINDOW_HOURS = env_int("SMS_FAILURE_WINDOW_HOURS", 24)

# --- Security headers --------------------------------------------------------------
# Scripts only from this site and with the response's nonce; no inline styles; no
# framing. SecurityMiddleware adds nosniff, Referrer-Policy and COOP.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a PaaS router TLS ends at the proxy, which says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", not DEBUG)
# HTTPS only, for a year, once deployed (0 in development: browsers remember it).
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# The header only allows preloading; a domain joins the list only when submitted to hstspreload.org.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
# /healthz answers plain HTTP: a load balancer's probe does not follow redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Domain ----------------------------------------------------------------------
CURRENCY = os.environ.get("CURRENCY", "CNY")


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


# --- Card and ATM payments -----------------------------------------------------------
# The gateway that card and ATM orders are paid through (orders/gateways/), or none:
# then customers pay from their balance only. "sandbox" runs inside the app and moves
# no money: the default with debug on, so a newcomer can try card and ATM payments;
# with debug off only when asked for, and then every page says "Sandbox" and
# `check --deploy` warns. Only then is the sandbox app installed.
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "sandbox" if DEBUG else "").strip()
if PAYMENT_GATEWAY == "sandbox":
    INSTALLED_APPS.append("orders.sandbox")
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("orders.sandbox.context_processors.sandbox")
# The sandbox's callback signing secret; a real provider's comes from its dashboard.
PAYMENT_SANDBOX_SECRET = os.environ.get("PAYMENT_SANDBOX_SECRET", "") or (
    "sandbox-development-secret" if DEBUG else SECRET_KEY + ":sandbox"
)
# An unpaid card or ATM order is cancelled this long after it was placed.
PAYMENT_TIMEOUT_MINUTES = env_int("PAYMENT_TIMEOUT_MINUTES", 30)

# --- The agent (manage.py run_agent) -------------------------------------------------
# What executing an order means: "simulated" (the default: waits, sometimes fails —
# nothing is really fulfilled), "webhook", or a dotted path (orders/executors.py).
ORDER_EXECUTOR = os.environ.get("ORDER_EXECUTOR", "simulated")
ORDER_WEBHOOK_URL = os.environ.get("ORDER_WEBHOOK_URL", "")
ORDER_WEBHOOK_SECRET = os.environ.get("ORDER_WEBHOOK_SECRET", "")
ORDER_WEBHOOK_TIMEOUT = env_float("ORDER_WEBHOOK_TIMEOUT", 10)
AGENT_SIMULATED_SECONDS_PER_UNIT = env_float("AGENT_SIMULATED_SECONDS_PER_UNIT", 0.01)
AGENT_SIMULATED_MAX_SECONDS = env_float("AGENT_SIMULATED_MAX_SECONDS", 8)
AGENT_SIMULATED_FAILURE_RATE = env_float("AGENT_SIMULATED_FAILURE_RATE", 0.05)
AGENT_CONCURRENCY = env_int("AGENT_CONCURRENCY", 4)
AGENT_POLL_SECONDS = env_float("AGENT_POLL_SECONDS", 1)
AGENT_BATCH_SIZE = env_int("AGENT_BATCH_SIZE", 10)
# An order's claim lasts this long unless its agent renews it (every third of it).
AGENT_LEASE_SECONDS = env_int("AGENT_LEASE_SECONDS", 30)
AGENT_MAX_ATTEMPTS = env_int("AGENT_MAX_ATTEMPTS", 3)
# The first retry waits this long; each further one twice as long.
AGENT_RETRY_BASE_SECONDS = env_float("AGENT_RETRY_BASE_SECONDS", 5)
# On SIGTERM, how long the agent lets running orders finish before releasing them.
AGENT_SHUTDOWN_SECONDS = env_float("AGENT_SHUTDOWN_SECONDS", 20)

# JSON lines in production (LOG_FORMAT=json, the default with debug off), readable
# text in development; see dashboard/logs.py.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "dashboard.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "filters": {"route_not_path": {"()": "dashboard.logs.RouteNotPath"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["route_not_path"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # django-axes reports every sign-in at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
        # The request line comes from dashboard.logs.RequestLogMiddleware.
        "django.server": {"level": "WARNING"},
    },
}
