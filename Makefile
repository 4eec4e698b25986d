# socialmap: `make app` runs the app on the embedded Kosovo demo, `make test` runs the test suite.
# Both create the virtual environment (.venv) and install the project into it on first use: `make app`
# the library and the app only, `make test` also the test and development tools.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
# What is installed, one stamp each: the library and the app (`make app`), and the development tools.
APP_STAMP := $(VENV)/.installed-app-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp
# uv (from PyPI, into the virtual environment) installs the packages: several times faster than pip.
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python

.PHONY: install install-app system-deps assets app test lint bench demo-data clean

# Debian packages the tests use: Chromium for the browser tests, poppler for reading PDFs back.
DEBIAN_PACKAGES := chromium chromium-driver poppler-utils libreoffice-writer-nogui

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"

$(APP_STAMP): pyproject.toml | $(BIN)/uv
	$(UV) -e ".[app]"
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/uv
	$(UV) -e ".[dev]"
	touch $@ $(APP_STAMP)

install-app: $(APP_STAMP)

install: $(DEV_STAMP)

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "please install the Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# Map libraries the app serves itself, so its maps draw with no internet (folium would load them
# from CDNs): exact versions from the npm registry into static/vendor/node_modules (git-ignored),
# served by Streamlit's static serving at /app/static/vendor. Keep in step with
# socialmap.views.VENDOR_PACKAGES (a test compares them).
VENDOR_DIR      := static/vendor
VENDOR_PACKAGES := leaflet@1.9.3 leaflet.markercluster@1.1.0 jquery@3.7.1
VENDOR_STAMP    := $(VENDOR_DIR)/node_modules/.socialmap-$(subst @,-,$(subst $() ,_,$(VENDOR_PACKAGES)))

$(VENDOR_STAMP):
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; \
	  else echo "please install npm (sudo apt-get install npm)"; exit 1; fi; }
	npm install --prefix $(VENDOR_DIR) --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
	  $(VENDOR_PACKAGES)
	rm -f $(VENDOR_DIR)/node_modules/.socialmap-*
	touch $@

assets: $(VENDOR_STAMP)

# `python -m socialmap.serve` is `streamlit run` with the first page prepared while the server starts.
app: $(APP_STAMP) assets
	$(BIN)/python -m socialmap.serve app.py --server.port $(PORT) --server.headless true \
	  --server.enableStaticServing true

test: $(DEV_STAMP) system-deps assets
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check socialmap tests benchmarks scripts app.py
	$(BIN)/mypy socialmap

bench: $(DEV_STAMP) system-deps assets
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_access.py --sizes 10000x500,50000x1000
	$(BIN)/python benchmarks/bench_app.py
	$(BIN)/python benchmarks/bench_network.py --quick

demo-data: $(DEV_STAMP)
	npm ci --prefix scripts --no-audit --no-fund
	$(BIN)/python scripts/build_demo.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache $(VENDOR_DIR)/node_modules
