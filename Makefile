# The commands: `make run` (Paygate on http://127.0.0.1:8000), `make test` and `make fuzz`.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test fuzz compensate bench package system-tools clean

# The `paygate` CLI (pyproject.toml) is installed editable, from the setuptools chalice brings.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

# DynamoDB Local needs Java 17+ and npm (to fetch it); install them if missing.
system-tools:
	@command -v java >/dev/null && command -v npm >/dev/null || { \
	  echo "Installing Java and npm for DynamoDB Local ..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q default-jre-headless npm; }

run: $(VENV)/.installed system-tools
	$(PY) -m localdev.run

test: $(VENV)/.installed system-tools
	$(PY) -m pytest

# Every route under >= 10,000 generated requests (tests/fuzz); prints cases, 5xx, traceback leaks
# and unsigned state changes per route, and fails if any count is above zero.
fuzz: $(VENV)/.installed system-tools
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/fuzz

# One compensation pass against a running `make run` (give it the DynamoDB it printed).
compensate: $(VENV)/.installed
	$(PY) -m localdev.compensate

# The performance figures (round trips, cold start, warm CPU, memory, the zip's size) as counts and
# same-run ratios, each against its target; fails when one misses (docs/performance.md).
bench: $(VENV)/.installed system-tools
	$(PY) -m bench

# A deployable template for one stage: build/$(STAGE)/sam.json (see README "Deployment"); prints
# the deployment zip's size and largest entries, and fails when it is over 5 MB.
STAGE ?= dev
package: $(VENV)/.installed
	$(PY) -m deploy.package --stage $(STAGE)

clean:
	rm -rf $(VENV) .local .pytest_cache .hypothesis build
