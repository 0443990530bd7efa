# Soft-asset registry: `make run` serves the demo, `make test` runs the whole suite. `make help` lists all.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run migrate seed test test-fast test-services lint format worker beat up down clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv, install the pinned dependencies and compile the translations
	@$(BIN)/python manage.py compiletranslations

migrate: install ## apply database migrations
	$(BIN)/python manage.py migrate --noinput

seed: migrate ## load the demo province (idempotent)
	$(BIN)/python manage.py seed_demo

run: seed ## migrate, seed and serve on http://127.0.0.1:8000 (SQLite, jobs in-process unless REDIS_URL is set)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install ## the whole suite: embedded default, then PostgreSQL + Redis + a live worker when reachable
	$(BIN)/python -m pytest
	@bash scripts/test-services.sh

test-fast: install ## the suite on the embedded default only
	$(BIN)/python -m pytest

test-services: install ## only the PostgreSQL + Redis + live worker pass
	@bash scripts/test-services.sh

.PHONY: test-e2e
test-e2e: install ## only the browser tests (Playwright + Debian's Chromium); screenshots in build/e2e/
	$(BIN)/python -m pytest tests/e2e -m e2e

.PHONY: test-faults
test-faults: install ## fault tests: kill workers, Redis, PostgreSQL (private instances) and check recovery
	@bash scripts/test-faults.sh

lint: install ## ruff, formatting, import contracts and missing migrations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	@mkdir -p build
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file build/openapi.yaml

format: install ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install ## a Celery worker (needs REDIS_URL or CELERY_BROKER_URL)
	$(BIN)/celery -A config worker -l info

beat: install ## Celery beat, for the periodic jobs (needs REDIS_URL or CELERY_BROKER_URL)
	$(BIN)/celery -A config beat -l info

up: ## the full stack in Docker: PostgreSQL, Redis, web, worker, beat
	docker compose up --build

down: ## stop the Docker stack
	docker compose down

clean: ## remove the virtualenv, the SQLite database and caches
	rm -rf $(VENV) db.sqlite3 build .pytest_cache .ruff_cache
