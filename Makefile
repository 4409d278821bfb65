# flask_sockevents — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-newest test-lowest lint docs bench bench-quick bench-bus fuzz soak system-deps node-deps clean

# The virtualenv with the package (editable) and everything the tests need.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test,metrics,redis,orjson,otel,schemas]'
	touch $@

# The same package at the lowest versions setup.cfg declares, in a virtualenv
# of its own, so that every declared floor is a tested one.
LOWEST := .venv-lowest
$(LOWEST)/.installed: setup.cfg pyproject.toml constraints/lowest.txt
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet --upgrade pip
	$(LOWEST)/bin/pip install --quiet -c constraints/lowest.txt -e '.[test,metrics,redis,orjson,otel,schemas]'
	touch $@

# Debian packages the integration tests use: headless Chromium and its driver,
# and Redis for the multi-process tests.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
		|| ! command -v redis-server >/dev/null; then \
		$(APT) update && $(APT) install -y --no-install-recommends \
			chromium chromium-driver redis-server; \
	fi

# The official Socket.IO JavaScript client for the chat example, from npm.
examples/chat/node_modules/.installed: examples/chat/package.json
	cd examples/chat && npm install --no-audit --no-fund --loglevel=error
	touch $@

# The official Socket.IO Admin UI (its built front-end) for the Admin UI test.
tests/admin_ui/node_modules/.installed: tests/admin_ui/package.json
	cd tests/admin_ui && npm install --no-audit --no-fund --loglevel=error
	touch $@

# The official AsyncAPI parser, which checks the documents the routes generate.
tests/asyncapi/node_modules/.installed: tests/asyncapi/package.json
	cd tests/asyncapi && npm install --no-audit --no-fund --loglevel=error
	touch $@

node-deps: examples/chat/node_modules/.installed tests/admin_ui/node_modules/.installed \
	tests/asyncapi/node_modules/.installed

run: $(VENV)/.installed node-deps
	$(PY) -m flask_sockevents examples/chat/app.py --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check flask_sockevents tests examples bench docs
	$(VENV)/bin/mypy

# Sphinx and its theme, from the docs extra, in the same virtualenv.
$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) install --quiet -e '.[docs]'
	touch $@

# The documentation site (docs/), with the API reference from the docstrings,
# into docs/_build/html/. Warnings are errors, broken cross-references too
# (nitpicky), so a docstring or page that breaks the site fails `make test`;
# every page is read again each time (-E), so no warning hides in a cache.
docs: $(VENV)/.installed-docs
	$(VENV)/bin/sphinx-build -E -W --keep-going -n -q -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

# The docs build, then the suite against the newest releases and against the
# declared floors. The two runs go side by side: most of a run is spent waiting
# on servers, clients and timers, not computing, so together they take little
# longer than the longer one alone. Each run's output is printed whole when it
# ends (--output-sync), so the two never interleave.
test: lint docs
	$(MAKE) --no-print-directory -j2 --output-sync=target test-newest test-lowest

test-newest: $(VENV)/.installed system-deps node-deps
	$(PY) -m pytest

test-lowest: $(LOWEST)/.installed system-deps node-deps
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider

bench-bus: $(VENV)/.installed
	$(PY) bench/bus.py

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PIP) install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) bench/run.py

bench-quick: $(VENV)/.installed-bench
	$(PY) bench/run.py --quick

# A time-boxed, coverage-guided run (atheris) of the packet-to-event path.
fuzz: $(VENV)/.installed
	$(PIP) install --quiet atheris
	$(PY) bench/fuzz_packets.py -max_total_time=60

# 200 clients, mixed traffic, churn and faulty subscribers for 5 minutes.
soak: $(VENV)/.installed-bench
	$(PY) bench/soak.py --duration 300 --clients 200

clean:
	rm -rf $(VENV) $(LOWEST) examples/chat/node_modules tests/admin_ui/node_modules \
		tests/asyncapi/node_modules .pytest_cache .mypy_cache .ruff_cache
