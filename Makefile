# Small task runner; CI (.ci/run) uses the same targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint format typecheck test run bench clean

install:  ## create the venv and install the project with its dev tools
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'

lint:  ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck:
	$(BIN)/mypy

test:  ## the test suite (PostgreSQL variants run when CSPM_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest

run:  ## the bot (with SLACK_BOT_TOKEN set) or else the playground in a browser
	$(BIN)/cspm-bot run

bench:
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
