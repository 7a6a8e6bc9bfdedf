# Every target creates and reuses .venv by itself: `make demo` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

PROVIDER := tests/sso/provider
PROVIDER_STAMP := $(PROVIDER)/node_modules/.package-lock.json

.PHONY: install machine provider demo test test-fast lint format bench serve worker clean migration i18n-extract i18n-update

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Pulse with its development tools

# The OpenID provider the sign-in tests run (oidc-provider from npm, exact versions in package-lock.json).
$(PROVIDER_STAMP): $(PROVIDER)/package.json $(PROVIDER)/package-lock.json
	cd $(PROVIDER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

provider: $(PROVIDER_STAMP) ## install the test OpenID provider (npm ci) when missing or outdated

demo: install ## a simulated organisation, several rounds, a real PDF report (SQLite, no configuration)
	$(BIN)/pulse demo

lint: install ## ruff and mypy --strict
	$(BIN)/ruff check pulse workers tests migrations/make_migration.py
	$(BIN)/ruff format --check pulse workers tests migrations/make_migration.py
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix pulse workers tests migrations/make_migration.py
	$(BIN)/ruff format pulse workers tests migrations/make_migration.py

machine: ## install (Debian packages) and start what the suite needs: Chromium, poppler, PostgreSQL, Redis
	@bash .ci/machine

test: machine lint provider ## set up the machine, lint, then the whole suite on SQLite and the real PostgreSQL/Redis/SMTP/Chromium
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: machine install provider ## the suite without lint, for quick iterations
	$(BIN)/pytest -n 2 --dist loadgroup -x $(PYTEST_ARGS)

bench: install ## benchmarks (not part of make test)
	$(BIN)/pytest -p no:xdist -p no:randomly -s $(PYTEST_ARGS) $(wildcard tests/perf/bench_*.py)

serve: install ## the web app (and, without Redis, the in-process worker)
	$(BIN)/pulse serve

worker: install ## the arq worker (needs PULSE_REDIS_URL)
	$(BIN)/pulse worker

migration: install ## make a migration for both SQLite and PostgreSQL: make migration NAME=add_x
	$(BIN)/python migrations/make_migration.py $(NAME)

LOCALE_DIR := pulse/locale
i18n-extract: install ## collect every translatable string into pulse/locale/messages.pot
	$(BIN)/pybabel -q extract -F $(LOCALE_DIR)/babel.cfg -k NP_:1,2 -c TRANSLATORS: --no-location --sort-output \
		--project=Pulse --copyright-holder="Pulse contributors" --msgid-bugs-address="" -o $(LOCALE_DIR)/messages.pot .

i18n-update: i18n-extract ## merge the .pot into every language's .po (new strings arrive untranslated)
	$(BIN)/pybabel -q update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache $(PROVIDER)/node_modules
