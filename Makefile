# Switchboard: `make run` starts the whole stack locally; `make test` runs every test tier
# against a real Kafka broker and a real PostgreSQL server started by the test run itself.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest -p no:cacheprovider
# Only the tiers that exist (an empty folder is not kept by git on a fresh clone).
TIERS := $(wildcard tests/unit tests/integration tests/e2e)
CODE := schemas projections streams services

.PHONY: install infra test test-unit test-integration test-e2e lint run bench chaos clean

install: $(VENV)/.installed

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml
	@echo "== installing Python dependencies into $(VENV) (first run: a minute or two)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@

# Fetch the Kafka broker's jars from Maven Central now, so the slow step shows up front.
infra: install
	$(PY) -m services.infra fetch

# One pytest run over every tier: it fails if any test in any tier fails.
test: install infra
	$(PYTEST) -v --durations=15 $(TIERS)

test-unit: install
	$(PYTEST) -v tests/unit

test-integration: install infra
	$(PYTEST) -v tests/integration

test-e2e: install infra
	$(PYTEST) -v tests/e2e

lint: install
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/mypy $(CODE)

run: install infra
	$(VENV)/bin/switchboard dev

bench: install infra
	$(PY) -m services.bench

# CHAOS_ARGS, e.g. `make chaos CHAOS_ARGS="--duration 600 --seed 7"`.
chaos: install infra
	$(PY) -m services.chaos $(CHAOS_ARGS)

# Stops the local servers first so no broker or postgres keeps running on deleted files.
clean:
	-test -x $(PY) && $(PY) -m services.infra down
	rm -rf .cache bench-results .pytest_cache .mypy_cache .ruff_cache *.egg-info build
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
