# Everything installs itself from nothing: a fresh clone needs only python3, node and npm.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := tests/interop/node_modules/.installed-stamp

.PHONY: run test lint bench e2e install node clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The real next-auth and @auth/core, pinned by the committed lock file.
node: $(NODE_STAMP)

$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --omit=peer --no-audit --no-fund --loglevel=error
	touch $@

run: $(STAMP)
	$(PY) -m gateway.demo

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) tests/interop/node_modules
