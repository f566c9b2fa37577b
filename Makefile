# Set-up and checks. Needs only python3 and make: everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-sqlite test-postgresql lint typecheck docs docs-reference unit unit-postgresql bench clean chromium


install: $(STAMP)

$(STAMP): pyproject.toml scripts/pdf-deps.sh
	bash scripts/pdf-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## A short realistic session against a throw-away database, ending with `drp overdue`.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## Everything CI runs: lint, format check, type check, the manual, and the whole suite on
## SQLite and on a throw-away PostgreSQL server (installed from Debian's packages when missing).
test: lint typecheck docs unit-postgresql

## Without PostgreSQL: lint, type check, the manual and the suite on SQLite only.
test-sqlite: lint typecheck docs unit

## The manual (docs/, mkdocs.yml) as a site in site/ (git-ignored), strict: a broken link or
## anchor, a page missing from the navigation, or a command reference page that no longer
## says what the command's --help says fails the build.
docs: $(STAMP)
	$(BIN)/python scripts/docs_reference.py --check
	$(BIN)/properdocs build --strict --quiet --clean -f mkdocs.yml --site-dir site

## Write the command reference (docs/reference/*.md) again from the commands themselves.
docs-reference: $(STAMP)
	$(BIN)/python scripts/docs_reference.py

lint: $(STAMP)
	$(BIN)/ruff check drp_cli tests bench scripts
	$(BIN)/ruff format --check drp_cli tests bench scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## Headless Chromium for the HTML tests (from Debian's packages when missing).
chromium:
	bash scripts/chromium.sh >/dev/null

## The suite runs in $(WORKERS) processes (pytest-xdist), so that `make test` (both engines)
## stays well under 10 minutes on a 2-core machine. WORKERS=0 runs it in this one process.
WORKERS ?= 2
PYTEST  := $(BIN)/pytest -n $(WORKERS)

unit: $(STAMP) chromium
	$(PYTEST)

## Starts a PostgreSQL cluster in a temp dir (short: its socket lives there), runs the suite
## on SQLite (with the SQLite -> PostgreSQL -> SQLite round trip) and then on PostgreSQL, and
## stops it and removes the dir, also when the run is interrupted.
unit-postgresql: $(STAMP) chromium
	pgdir="$$(mktemp -u /tmp/drp-pg.XXXXXX)"; \
	trap 'bash scripts/pg.sh stop "$$pgdir"' EXIT; trap 'exit 130' INT TERM; \
	url="$$(bash scripts/pg.sh start "$$pgdir")" || exit 1; \
	status=0; \
	echo "== SQLite"; DRP_TEST_PG_SERVER="$$url" $(PYTEST) || status=$$?; \
	echo "== PostgreSQL"; DRP_TEST_PG_SERVER="$$url" DRP_TEST_ENGINE=postgresql $(PYTEST) || status=$$?; \
	exit $$status

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist site .pytest_cache .pytest-tmp .mypy_cache .ruff_cache .hypothesis
