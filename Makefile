# Every target does one job; `make help` lists them. The two set-up commands are
# `make demo` (the story on the local stack) and `make test` (every test suite).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
ENV ?= dev
export AWS_DEFAULT_REGION ?= eu-west-1
export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := help
.PHONY: help setup test test-unit test-integration test-e2e lint format build local demo bench \
	schemas openapi deploy token-key clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt layers/talentops/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q -r requirements-sam.txt
	touch $@

setup: $(BIN)/.installed ## create .venv (app + tests) with pinned dependencies

test: $(BIN)/.installed ## unit, integration and end-to-end tests (starts the local stack itself)
	$(BIN)/python -m pytest -q

test-unit: $(BIN)/.installed ## pure logic only
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(BIN)/.installed ## handlers under moto
	$(BIN)/python -m pytest -q tests/integration

test-e2e: $(BIN)/.installed ## the local stack through the public contract
	$(BIN)/python -m pytest -q tests/e2e

lint: $(BIN)/.installed $(SAM_VENV)/.installed ## ruff, mypy, sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint $(SAM) validate --lint --region $(AWS_DEFAULT_REGION)

format: $(BIN)/.installed ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

build: $(SAM_VENV)/.installed ## sam build (needs a python3.13 interpreter; found on PATH or in pyenv)
	@py313=$$(scripts/find-python313.sh) || { echo "python3.13 not found: sam build needs the runtime's Python"; exit 1; }; \
	PATH="$$(dirname $$py313):$$PATH" $(SAM) build --config-env $(ENV)

local: $(BIN)/.installed ## run the whole application on this machine (LOCAL_AWS_PORT, LOCAL_API_PORT)
	$(BIN)/python -m devstack

demo: $(BIN)/.installed ## play the event story on the local stack; table on stdout, emails in out/
	$(BIN)/python scripts/demo.py

bench: $(BIN)/.installed ## benchmarks: bench/results.json and docs/performance.md
	$(BIN)/python -m bench

schemas: $(BIN)/.installed ## export the contract's JSON Schemas to schemas/
	$(BIN)/python scripts/export_schemas.py

deploy: build ## sam deploy to ENV (dev or prod; see samconfig.toml)
	$(SAM) deploy --config-env $(ENV)

token-key: $(SAM_VENV)/.installed ## create the token signing key in SSM for ENV's account (once)
	$(SAM_VENV)/bin/python scripts/create_token_key.py

clean: ## remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache
