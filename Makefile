# One entry point for each habit: run, test, lint, bench.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the site alone (`make run`: what a server needs, about a tenth of the size) and
# the site with its test, lint and benchmark tools (`make test`, `make lint`, `make bench`).
SITE_STAMP := $(VENV)/.installed-site
STAMP := $(VENV)/.installed-dev
CONFIG ?= instance/candor.toml
HOST ?= 127.0.0.1
PORT ?= 8080
# `PORT=9000 make run` (or HOST=...) sets both where the site is served and the base URL of the
# links it writes (activation, notifications), unless CANDOR_BASE_URL says otherwise.
ifneq ($(filter command line environment,$(origin PORT) $(origin HOST)),)
export CANDOR_BASE_URL ?= http://$(HOST):$(PORT)
endif

.PHONY: run test lint bench install clean browser nginx pgclient wrk translations messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SITE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(SITE_STAMP)

# The tools come on top of the site; the site's stamp is touched too, so that `make run` after
# `make test` installs nothing again.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(SITE_STAMP) $(STAMP)

install: $(STAMP)

$(CONFIG): | $(SITE_STAMP)
	$(BIN)/python -m portal.setup_config $(CONFIG)

# The catalogues: `make translations` compiles each .po into the .mo the site reads (build
# outputs, not kept in git); `make messages` extracts every marked string again into
# messages.pot and brings each language's .po up to date with it (README, "Languages").
CATALOGUES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

%/LC_MESSAGES/messages.mo: %/LC_MESSAGES/messages.po | $(SITE_STAMP)
	$(BIN)/pybabel -q compile --statistics -i $< -o $@

translations: $(COMPILED)

messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k _n:1,2 -k N_ -c NOTE: --add-location=file \
	  --sort-output --no-wrap --project Candor --copyright-holder "Candor" \
	  --msgid-bugs-address "" -o portal/translations/messages.pot .
	$(BIN)/pybabel -q update -i portal/translations/messages.pot -d portal/translations \
	  --no-fuzzy-matching --ignore-obsolete --no-wrap
	$(MAKE) translations

# setup_config adds any secret a newer version needs (e.g. security.integrity_key) to an older
# config. The clock worker runs beside the web server and stops with it. gunicorn.conf.py keeps no
# access log and removes addresses from the error log: the site records no IP address.
run: $(SITE_STAMP) $(CONFIG) translations
	$(BIN)/python -m portal.setup_config $(CONFIG)
	CANDOR_CONFIG=$(CONFIG) CANDOR_SERVE_URL=http://$(HOST):$(PORT) $(BIN)/flask --app wsgi candor init
	CANDOR_CONFIG=$(CONFIG) $(BIN)/flask --app wsgi candor clock run & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  CANDOR_CONFIG=$(CONFIG) CANDOR_BIND=$(HOST):$(PORT) $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

# Browser tests drive Debian's chromium; Playwright must never download a browser of its own.
CHROMIUM := /usr/bin/chromium

browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "$(CHROMIUM) is missing and we are not root: browser tests will skip" \
			"(install it with: sudo apt-get install chromium)"; \
	fi

# The two-instance test (tests/ops) puts Debian's nginx in front of two gunicorn instances.
NGINX := /usr/sbin/nginx

nginx:
	@if [ -x $(NGINX) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; \
	else \
		echo "$(NGINX) is missing and we are not root: the two-instance test will skip" \
			"(install it with: sudo apt-get install nginx)"; \
	fi


# The backup tests on PostgreSQL drive Debian's pg_dump and pg_restore (package postgresql-client).
pgclient:
	@if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; then :; \
	elif [ -z "$$CANDOR_TEST_DATABASE_URL" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client; \
	else \
		echo "pg_dump is missing and we are not root: PostgreSQL backup tests will skip" \
			"(install it with: sudo apt-get install postgresql-client)"; \
	fi

test: $(STAMP) browser nginx pgclient wrk translations
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# bench_load.py drives the site with Debian's wrk; its quick mode runs in the test suite.
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else \
		echo "wrk is missing and we are not root: the load bench and its test will skip" \
			"(install it with: sudo apt-get install wrk)"; \
	fi

bench: $(STAMP) wrk
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
