# Two commands on a fresh machine: `make demo` and `make test`.
# Everything installs from requirements.lock (hashes pinned), so a fresh
# machine and CI run what was tested; `make lock` refreshes it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install lock
$(BIN)/subcycle: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(BIN)/subcycle

demo: install
	env -u SUBCYCLE_REDIS_URL $(BIN)/subcycle demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Needs uv (pip install uv): the lock of requirements.in, for Python 3.11.
lock:
	uv pip compile requirements.in --generate-hashes --python-version 3.11 \
		--no-emit-package subcycle -o requirements.lock
