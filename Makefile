# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint setup

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# irrCAC (Gwet's package, the reference for AC1 in the tests) pins scipy==1.12, which would
	# drag numpy back to 1.x; its code runs on current versions, so install it without its pins.
	$(BIN)/python -m pip install --quiet --no-deps 'irrcac==0.4.4'
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/procure init --with-sample
	$(BIN)/streamlit run app.py

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2
