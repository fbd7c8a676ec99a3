# Insurance agent CRM backend. Two commands matter: `make run` and `make test`.
# Needs only python3 >= 3.11: the virtualenv (with uv, pinned in uv.lock) is built on first use.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Re-synced only when the lock (or pyproject) changes.
STAMP := $(VENV)/.synced
# When `make` started, so the launcher can report time-to-ready including the virtualenv step.
STARTED_AT := $(shell $(PYTHON) -c 'import time; print(time.time())' 2>/dev/null)
LINT_PATHS := $(wildcard crmkit services gateway launcher tests bench fuzz sdkgen)
MYPY_PATHS := $(wildcard crmkit services gateway launcher tests bench fuzz sdkgen)
PYTEST_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
# Python's bytecode cache (__pycache__, gitignored) is what makes a second start warm: with
# PYTHONDONTWRITEBYTECODE set (some sandboxes and CI images set it), every app compiled its sources
# again at each start (the clients app's import: 5.5 s of CPU against 1.7 s with the cache).
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help venv run migrate lint test test-quick bench fuzz fuzz-ci sdk clean-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): uv.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed as '$(PYTHON)' (set PYTHON=...)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/uv --version 2>/dev/null | grep -qF ' $(UV_VERSION)' \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv sync --locked
	@touch $@

venv: $(STAMP) ## create or update .venv from uv.lock

run: $(STAMP) ## embedded PostgreSQL (unless CRM_DATABASE_URL), migrations, the five apps, demo data
	CRM_STARTED_AT=$(STARTED_AT) $(BIN)/python -m launcher run

migrate: $(STAMP) ## every app's migrations to head (CRM_DATABASE_URL, or the embedded server)
	$(BIN)/python -m launcher migrate

lint: $(STAMP) ## ruff check, ruff format --check, mypy (strict)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy $(MYPY_PATHS)

test: lint ## lint, then the whole test suite (CRM_TEST_DATABASE_URL, or the embedded server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-quick: $(STAMP) ## the tests without the slow launcher end-to-end test, no lint
	$(BIN)/python -m pytest -m 'not slow' $(PYTEST_ARGS)

bench: $(STAMP) ## 100k clients, the stack under load from a separate process: figures and ratios
	$(BIN)/python -m bench $(BENCH_ARGS)

fuzz: $(STAMP) ## schemathesis over the whole merged OpenAPI, 100 examples per operation
	$(BIN)/python -m fuzz --max-examples 100 $(FUZZ_ARGS)

fuzz-ci: $(STAMP) ## the same, bounded for CI (a few examples per operation)
	$(BIN)/python -m fuzz --max-examples 5 $(FUZZ_ARGS)

sdk: $(STAMP) ## the Python and TypeScript clients of /openapi.json in sdk/ (generated, checked; docs/sdk.md)
	$(BIN)/python -m sdkgen sdk

clean-data: $(STAMP) ## stop leftover embedded servers and delete ./.data (demo data included)
	$(BIN)/python -m launcher clean-data
