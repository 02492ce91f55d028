# Order Platform — `make run` to try it, `make test` to test it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
# The PostgreSQL that `make test` uses (its test database is test_<name>).
PG_URL ?= postgres://postgres@127.0.0.1:5432/order_platform
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser the end-to-end tests drive (Debian's package; Playwright cannot download one here).
export CHROMIUM_PATH ?= /usr/bin/chromium

# Local development and tests run with debug on (a development secret key);
# production sets DJANGO_DEBUG=false and DJANGO_SECRET_KEY itself.
export DJANGO_DEBUG ?= true

# The first Python >= 3.12 found: python3.13, python3.12 or python3 if they run,
# else one installed through pyenv.
ifndef PYTHON
PYTHON := $(shell for candidate in python3.13 python3.12 python3 \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	"$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$candidate"; break; }; done)
endif

.PHONY: help install migrate demo run test test-sqlite test-postgres postgres chromium wrk bench check clean

help:
	@echo "make run     set everything up (virtualenv, packages, database, demo data) and serve on http://$(HOST):$(PORT)/ with an agent"
	@echo "make test    set everything up and run the whole suite on SQLite and on PostgreSQL"
	@echo "make bench   measure the platform at a million orders against the framework's ceilings (bench/run.py)"
	@echo "make check   Django system checks, migrations in step, ruff (lint and format), import contracts"
	@echo "make clean   remove the virtualenv, the SQLite database and caches"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python 3.12 or newer is required and none was found."; \
		echo "Install it (Debian/Ubuntu: apt-get install python3.12 python3.12-venv; macOS: brew install python@3.13;"; \
		echo "or from https://www.python.org/downloads/) and run make again, or pass PYTHON=/path/to/python3.12."; \
		exit 1; \
	fi
	@test -x $(PY) || { echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --no-input

demo: migrate
	$(MANAGE) seed_demo

# The web server and one agent together (Procfile.dev, through honcho); Ctrl-C stops both.
run: demo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) PUBLIC_URL=$${PUBLIC_URL:-http://127.0.0.1:$(PORT)} honcho start -f Procfile.dev

# Django's checks, migrations in step with the models, lint and format (ruff), and the
# import contracts between the layers (import-linter, pyproject.toml).
check: install
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# Starts the machine's PostgreSQL cluster if it is not answering (exit 2 = already running).
postgres:
	@if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then exit 0; fi; \
	if command -v pg_ctlcluster >/dev/null 2>&1; then \
		version=$$(ls /etc/postgresql | sort -V | tail -1); \
		pg_ctlcluster --skip-systemctl-redirect $$version main start || [ $$? -eq 2 ]; \
		for _ in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	fi; \
	echo "PostgreSQL is not reachable at 127.0.0.1:5432. Start it, or point PG_URL at one: make test PG_URL=postgres://user:pass@host:5432/name"; \
	exit 1

# Installs Debian's Chromium for the end-to-end tests if it is not there.
chromium:
	@if [ -x "$(CHROMIUM_PATH)" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Chromium for the end-to-end tests (apt-get install chromium)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	fi; \
	[ -x "$(CHROMIUM_PATH)" ] || { \
		echo "Chromium is needed for the end-to-end tests and is not at $(CHROMIUM_PATH)."; \
		echo "Install it (Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install --cask chromium)"; \
		echo "and run make again, or point CHROMIUM_PATH at a Chromium or Chrome binary."; \
		exit 1; }

test: check test-sqlite test-postgres

# The unit tests and the end-to-end journeys on SQLite, then all of them again on PostgreSQL.
test-sqlite: install chromium
	$(PY) -m pytest

test-postgres: install postgres chromium
	DATABASE_URL=$(PG_URL) REQUIRE_POSTGRES=1 $(PY) -m pytest

# Installs Debian's wrk (the load generator) and pgbench if they are missing.
wrk:
	@if command -v wrk >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing wrk and pgbench for the benchmark (apt-get install wrk postgresql-client)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk postgresql-client >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk postgresql-client >/dev/null; }; \
	fi; \
	command -v wrk >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1 || { \
		echo "The benchmark needs wrk and pgbench: apt-get install wrk postgresql-client (macOS: brew install wrk libpq)."; \
		exit 1; }

# The benchmark (bench/run.py; about 15 minutes, plus 10 the first time to seed a million orders).
# BENCH_ARGS='--readme' writes the results into bench/README.md; see `bench/run.py --help`.
bench: install postgres wrk
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .hypothesis
