# valueloop: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# PyTorch first, pinned to the CPU build, so that no dependency pulls a multi-GB GPU build.
TORCH ?= torch==2.13.0

.PHONY: demo test lint typecheck bench bench-optimize clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[platform]'
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[platform,dev]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/valueloop demo

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP_DEV)
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP_DEV)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/demo_stages.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/ingest_mqtt.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/edge_install.py

# Every optimisation instance set at the issue's time limits: about three hours on two cores.
bench-optimize: $(STAMP_DEV)
	$(BIN)/python bench/optimize.py

clean:
	rm -rf $(VENV) valueloop-data .pytest_cache .mypy_cache .ruff_cache
