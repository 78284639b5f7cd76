# dutychat: `make run` starts a demo, `make test` runs every test.
# Both install what is missing first (virtual environment, Python and npm packages);
# `make test` runs `make lint` (ruff, mypy, eslint) before the tests.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VENDOR     := static/vendor/socket.io.esm.min.js
CHART      := static/vendor/chart.umd.min.js
ARTIFACTS  := test-artifacts

.PHONY: run test lint audit deps browser clean bench bench-redis

run: deps
	$(BIN)/dutychat run --demo

test: deps browser lint
	$(BIN)/pytest
	@echo "Screenshots and browser artefacts: $(abspath $(ARTIFACTS))"

# Lint and types: ruff (style, imports, likely bugs) and mypy (strict for the
# chat domain, the stores and the roster; checked everywhere else); eslint
# (eslint.config.js, pinned in package.json) for the browser code in static/.
lint: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/ruff check chat_server roster tests bench migrations
	$(BIN)/mypy
	node_modules/.bin/eslint static

deps: $(PY_STAMP) $(VENDOR) $(CHART)

# Known vulnerabilities in the pinned Python and npm packages. Needs the
# registries' advisory databases, so it is not part of `make test`, which must
# pass offline; where none is reachable both tools say so and fail.
AUDIT_STAMP := $(VENV)/.audit-installed

audit: $(AUDIT_STAMP) $(NODE_STAMP)
	$(BIN)/pip-audit --skip-editable --progress-spinner off --vulnerability-service pypi
	npm audit --omit=dev

$(AUDIT_STAMP): $(PY_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,audit]'
	touch $@

# Benchmarks against a bare python-socketio relay (docs/performance.md); never part of `make test`.
# `make bench QUICK=1` is a smaller run that leaves the docs alone; PROFILE=1 also records
# py-spy flame graphs of every saturation phase into bench/profiles/ (not committed).
BENCH_STAMP := $(VENV)/.bench-installed
QUICK ?=
PROFILE ?=
# ONLY="group relay1": run only these scenarios (bench/run.py SCENARIOS).
ONLY ?=

bench: deps $(BENCH_STAMP) bench-redis
	$(BIN)/python -m bench.run $(if $(QUICK),--quick,--publish) $(if $(PROFILE),--profile bench/profiles) \
	  $(if $(ONLY),--only $(ONLY))

# The two-worker runs start a throwaway redis-server of their own (or use DUTYCHAT_BENCH_REDIS_URL).
bench-redis:
	@command -v redis-server >/dev/null 2>&1 || [ -n "$$DUTYCHAT_BENCH_REDIS_URL" ] || { \
	  echo "installing Debian's redis-server for the two-worker benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

$(BENCH_STAMP): $(PY_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR): $(NODE_STAMP)
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js static/vendor/
	touch $@

# Chart.js for the report page: the UMD build (a classic script that defines
# window.Chart), since its ES module build imports bare package names.
$(CHART): $(NODE_STAMP)
	mkdir -p static/vendor
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/
	touch $@

# Browser tests drive Debian's chromium; no browser download is possible.
# A Thai font too, so the screenshots of the Thai widget are legible.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=th 2>/dev/null | grep -q . || { \
	  echo "installing a Thai font for the browser screenshots"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-tlwg-loma-otf >/dev/null; }

clean:
	rm -rf $(VENV) node_modules static/vendor $(ARTIFACTS) .pytest_cache bench/results*.json bench/results*.png
