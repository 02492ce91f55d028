"""gunicorn's settings for the Procfile's web process (read from the environment)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Heroku and most Procfile hosts set WEB_CONCURRENCY for the dyno's size.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request gets this long; on SIGTERM, workers finish what they serve for up to
# graceful_timeout (a PaaS allows about 30 s before it kills the process).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = 5
# No access log: the app writes a line for every request itself (dashboard/logs.py),
# with the route where gunicorn would write the path (which can hold a set-password
# token) and the query string (searches, mobile numbers), and with the visitor's
# address where gunicorn would write the router's.
accesslog = None
errorlog = "-"
# The router in front terminates TLS and sets X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
