# ML Platform Portal: `make run` (portal + sandbox + worker + beat, with a demo org) and `make test`.
# Works on a fresh machine with Python 3.11+; uses DATABASE_URL / CELERY_BROKER_URL when set,
# else the embedded defaults (a SQLite file and a file broker under var/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-embedded test-browser install lock clean help

help:
	@echo "make run    start the portal with a demo organization on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test   run the whole test suite"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.12 for example." % sys.version.split()[0])'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "Python's venv module is missing: install it (Debian/Ubuntu: sudo apt-get install python3-venv) and run make again."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The locked dependencies (pyproject.toml's, test extra included; the project itself installs no
# package). uv installs them in seconds; where uv cannot be had or fails, pip does it.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	@echo "Installing the locked dependencies into $(VENV)…"
	@{ $(BIN)/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
	   && $(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock; } \
	 || { echo "uv was not available; installing with pip (slower)"; \
	      $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock; }
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_local.py

# The suite runs on TEST_WORKERS pytest-xdist workers (one per CPU by default; TEST_WORKERS=0 runs
# it in one process); browser journeys and real-broker tests keep to one worker each (tests/conftest.py).
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

test-embedded: $(STAMP)
	env -u DATABASE_URL -u CELERY_BROKER_URL $(BIN)/python -m pytest -m embedded

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip freeze --exclude-editable --exclude ml-platform-portal > requirements.lock

clean:
	rm -rf var staticfiles test-artifacts .pytest_cache
