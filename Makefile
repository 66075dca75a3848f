# Storecare: `make demo` runs the app, a worker and a seeded sandbox store; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint install translations system-packages services bench extension clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d plugin/translations

demo: install translations
	PORT=$(PORT) $(BIN)/python -m plugin.demo

# Debian packages the tests use: chromium for the browser tests (a test tool's own browser download
# cannot work here) and php-cli to lint the WordPress plugin.
system-packages:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v php >/dev/null 2>&1 || missing="$$missing php-cli"; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

# PostgreSQL and Redis: started if they are installed but down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

test: install translations system-packages services
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

test-fast: install translations
	STORECARE_TEST_DATABASES=sqlite $(BIN)/pytest -n 2 -p no:cacheprovider -m "not browser and not slow" $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/widgets.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/sync.py

# Shopify serves the loader from its CDN: the theme app extension ships a copy of static/loader.js
# (tests/integration/test_shopify_proxy.py fails while the two differ). Run after changing the loader.
extension:
	cp static/loader.js adapters/shopify/extension/assets/loader.js

clean:
	rm -rf var .pytest_cache
