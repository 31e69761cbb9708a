# Uptimatum — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help install run test fuzz bench lint format image clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[embedded,test,lint]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its test and lint tools

run: $(STAMP) ## run api + checker (embedded PostgreSQL unless DATABASE_URL/DB_* is set)
	$(BIN)/uptimatum dev

test: $(STAMP) ## run the test suite (TEST_DATABASE_URL, else an embedded PostgreSQL)
	$(BIN)/pytest

fuzz: $(STAMP) ## schemathesis, every check and phase, long: FUZZ_EXAMPLES (500), FUZZ_SEED (random)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} FUZZ_SEED=$${FUZZ_SEED:-$$RANDOM} \
	  $(BIN)/pytest tests/api/test_openapi.py -k schemathesis -s

bench: $(STAMP) ## run the benchmarks under tests/benchmarks and print their figures
	$(BIN)/python -m tests.benchmarks

lint: $(STAMP) ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

image: ## build the container image (needs a Docker engine)
	docker build -t uptimatum:$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml) .

clean: ## remove the virtual environment, caches and the dev data directory
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
