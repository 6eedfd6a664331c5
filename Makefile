# Small task runner; CI (.ci/run) uses the same targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install dev lint format typecheck test run bench mutate clean

install:  ## create the venv and install what running needs (the bot and its playground)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[playground]'

# the dev tools (pytest, Playwright, ruff, mypy…), installed once by the targets that need them
$(VENV)/.dev-installed: pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dev: $(VENV)/.dev-installed

lint: dev  ## ruff lint + format check + the layer contracts ([tool.importlinter] in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: dev
	$(BIN)/mypy

test: dev  ## the test suite (browser tests need /usr/bin/chromium) (PostgreSQL variants run when CSPM_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest

run:  ## the bot (with SLACK_BOT_TOKEN set) or else the playground in a browser
	$(BIN)/cspm-bot run

bench:
	$(BIN)/python bench/run_all.py

mutate: dev  ## mutation testing of the critical modules (mutmut; slow, not in CI): score per module and surviving mutants
	$(BIN)/python tools/mutate.py $(TARGETS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .mutants
