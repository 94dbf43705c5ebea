# Everything installs itself from nothing: a fresh clone needs only python3, node and npm.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := tests/interop/node_modules/.installed-stamp

.PHONY: help run test unit lint bench e2e install node clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z0-9-]*:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## the virtual environment in .venv (Python packages)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The real next-auth and @auth/core, pinned by the committed lock file.
node: $(NODE_STAMP) ## the real next-auth and @auth/core for the interop tests

$(NODE_STAMP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --omit=peer --no-audit --no-fund --loglevel=error
	touch $@

run: $(STAMP) ## the demo: gateway on 127.0.0.1:8080 in front of a demo app
	$(PY) -m gateway.demo

# Lint first: a finding fails the run before any test starts.
test: lint $(NODE_STAMP) deploy-tools forward-auth-tools e2e-setup bench-tools ## lint, then every test
	$(PY) -m pytest

unit: $(STAMP) ## the fast unit tests alone (seconds)
	$(PY) -m pytest -q tests/unit

# The deploy checks' Debian tools (tests/deploy): promtool and a real prometheus. hadolint,
# kubectl (kustomize) and kubernetes-validate come from PyPI with the dev extras.
.PHONY: deploy-tools
deploy-tools:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then \
	  apt-get -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
	    --no-install-recommends prometheus; \
	fi

# The forward-auth checks' proxies (tests/deploy/test_forward_auth_proxies.py): Debian's real
# nginx (nginx-light has auth_request) and Caddy; systemd-analyze checks the service unit.
.PHONY: forward-auth-tools
forward-auth-tools:
	@if ! command -v nginx >/dev/null || ! command -v caddy >/dev/null \
	    || ! command -v systemd-analyze >/dev/null; then \
	  apt-get -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
	    --no-install-recommends nginx-light caddy systemd; \
	fi

# End to end (tests/e2e): Debian's Chromium (never a downloaded browser), the example Next.js
# app from its committed lock file, and Python Playwright driving that Chromium.
E2E_APP   := examples/nextjs-app
E2E_NODE  := $(E2E_APP)/node_modules/.installed-stamp
E2E_BUILD := $(E2E_APP)/.next/BUILD_ID
E2E_SRC   := $(shell find $(E2E_APP)/app $(E2E_APP)/lib -type f) $(E2E_APP)/next.config.mjs
.PHONY: e2e-setup

e2e: e2e-setup ## only the browser test (Chromium, the example Next.js app)
	$(PY) -m pytest tests/e2e

e2e-setup: $(STAMP) /usr/bin/chromium $(E2E_BUILD)

/usr/bin/chromium:
	apt-get -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y chromium

$(E2E_NODE): $(E2E_APP)/package.json $(E2E_APP)/package-lock.json
	cd $(E2E_APP) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(E2E_BUILD): $(E2E_NODE) $(E2E_SRC)
	cd $(E2E_APP) && NEXT_TELEMETRY_DISABLED=1 node node_modules/next/dist/bin/next build

# The benchmark (bench/README.md): wrk from Debian's packages; nginx only for the optional
# nginx upstream. Knobs as variables or in the environment: BENCH_DURATION, BENCH_CONNECTIONS,
# BENCH_ROUNDS, BENCH_CASES, BENCH_UPSTREAM=nginx, BENCH_MEMORY_REQUESTS (python -m bench -h).
bench: $(STAMP) bench-tools ## the benchmark (bench/README.md); knobs: BENCH_ROUNDS, BENCH_DURATION, ...
	@if [ "$(BENCH_UPSTREAM)" = nginx ] && [ ! -x /usr/sbin/nginx ]; then \
	  apt-get -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y nginx-light; \
	fi
	$(PY) -m bench $(BENCH_ARGS)

# wrk, for `make bench` and for its smoke run in tests/bench.
.PHONY: bench-tools
bench-tools:
	@command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=300 update && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y wrk; }

# The soak (bench/soak.py): mixed traffic against a real gateway for SOAK_MINUTES, then
# requests, errors, 5xx, RSS and open fds; fails on a 5xx or RSS growth. Not in `make test`.
SOAK_MINUTES ?= 2
.PHONY: soak
soak: $(STAMP) ## mixed traffic against a real gateway for SOAK_MINUTES; not in make test
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

LINTED := gateway tests bench deploy

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict: fails on any finding
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

clean: ## remove .venv, node_modules and the Next.js build
	rm -rf $(VENV) tests/interop/node_modules examples/nextjs-app/node_modules \
	  examples/nextjs-app/.next
