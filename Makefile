# Bastion: `make run` to try it, `make test` to check everything.
PYTHON ?= python3
# Test processes: the suite mostly waits on the servers, browsers and CLI processes it
# starts, so two workers (one per core here) halve its time; TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 2
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .stamps
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -type f \( -name '*.ts' -o -name '*.tsx' -o -name '*.css' -o -name '*.html' -o -name '*.json' -o -name '*.mjs' \) -print 2>/dev/null)

.PHONY: run test lint web check-python clean bench

run: $(STAMPS)/venv $(STAMPS)/web
	$(BIN)/bastion serve --demo

test: $(STAMPS)/venv $(STAMPS)/web lint
	cd web && npm run --silent typecheck && npm test --silent
	@# Byte-compiled once: the tests start a few hundred server and CLI processes, and
	@# with PYTHONDONTWRITEBYTECODE set (as on CI machines) each would compile the sources.
	$(BIN)/python -m compileall -q src >/dev/null
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMPS)/venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

web: $(STAMPS)/web

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Bastion needs Python 3.11 or newer")'
	@command -v npm >/dev/null || { echo "Bastion needs Node.js 20+ and npm to build its front-end"; exit 1; }

# The virtual environment, from the lock file; the project itself is installed editable.
$(STAMPS)/venv: requirements.lock pyproject.toml | check-python
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(STAMPS)/npm: web/package.json web/package-lock.json | check-python
	@mkdir -p $(STAMPS)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/web: $(STAMPS)/npm $(WEB_SOURCES)
	cd web && npm run --silent build
	@touch $@

bench: $(STAMPS)/venv $(STAMPS)/web
	$(BIN)/python bench/run.py --short

clean:
	rm -rf $(STAMPS) src/bastion/web_dist web/node_modules
