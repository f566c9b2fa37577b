# Set-up and checks. Needs only python3 and make: everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit bench clean wheel-check

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## A short realistic session against a throw-away database, ending with `drp overdue`.
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## Everything CI runs: lint, format check, type check, tests.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check drp_cli tests bench scripts
	$(BIN)/ruff format --check drp_cli tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## Builds the wheel, installs it (not editable) in a fresh venv, and runs a command.
wheel-check: $(STAMP)
	bash scripts/wheel_check.sh

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
