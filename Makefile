# Small task runner; CI (.ci/run) uses the same targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint format typecheck test run bench clean

install:  ## create the venv and install the project with its dev tools
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'

lint:  ## ruff lint + format check + the layer contracts ([tool.importlinter] in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck:
	$(BIN)/mypy

test:  ## the test suite (PostgreSQL variants run when CSPM_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest

run:  ## run the bot on the embedded default (SQLite under ./.cspm)
	$(BIN)/cspm-bot serve

bench:
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
