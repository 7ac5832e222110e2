# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-shifted-clock lint setup setup-dev

# The runtime only: what `make run` needs.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The runtime plus the dev extras: linters, the test suite and its independent references.
$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# irrCAC (Gwet's package, the reference for AC1 in the tests) pins scipy==1.12, which would
	# drag numpy back to 1.x; its code runs on current versions, so install it without its pins.
	$(BIN)/python -m pip install --quiet --no-deps 'irrcac==0.4.4'
	touch $@

setup: $(BIN)/.installed

setup-dev: $(BIN)/.installed-dev

run: setup
	$(BIN)/procure init --with-sample
	$(BIN)/streamlit run app.py

lint: setup-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2

# The suite again with the wall clock a year ahead: a test that depends on the day it runs fails
# now, not next year. Tests marked real_clock compare file times with the clock and ran above;
# clock_free ones check nothing the date changes. The fuzz tests take fewer inputs here.
test-shifted-clock: setup-dev
	PROCURE_TEST_CLOCK_SHIFT_DAYS=365 $(BIN)/pytest -n 2 -m "not real_clock and not clock_free" -p no:cacheprovider
