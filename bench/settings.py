"""The production settings, plus the two ceiling pages (bench/urls.py).

Everything else — middleware, sessions, database, templates, logging — is exactly
what `gunicorn dashboard.wsgi` runs with, so a ceiling and a real page are measured
in the same Django process set-up.
"""

from dashboard.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
