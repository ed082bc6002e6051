# `make run`: set up and start Kindling on SQLite at http://127.0.0.1:8000
# `make test`: set up and run every test (CI runs this through .ci/run)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNNER := kindling/engine/runner

.PHONY: run test setup lint clean-data
.DEFAULT_GOAL := run

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Kindling needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(RUNNER)/node_modules/.installed: $(RUNNER)/package.json $(RUNNER)/package-lock.json
	npm ci --prefix $(RUNNER) --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(BIN)/.installed node_modules/.installed $(RUNNER)/node_modules/.installed
	@scripts/system-deps.sh bubblewrap slirp4netns iproute2
	@# The runner's V8 startup snapshot (docs/engine.md): rebuilt only when the runner or Node changed.
	$(BIN)/python -c 'import sys; from kindling.engine import snapshot; sys.exit(snapshot.main([]))'

run: setup
	$(BIN)/kindling migrate --noinput -v 0
	$(BIN)/kindling bootstrap
	$(BIN)/kindling serve

test: setup
	@scripts/system-deps.sh chromium
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
