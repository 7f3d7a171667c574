# Every target does one job; `make help` lists them. The two set-up commands are
# `make demo` (the story on the local stack) and `make test` (every test suite).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
ENV ?= dev
export AWS_DEFAULT_REGION ?= eu-west-1
export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := help
.PHONY: help setup test test-unit test-integration test-e2e test-browser lint format build local demo bench \
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

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q -r requirements-checkov.txt
	touch $@

setup: $(BIN)/.installed ## create .venv (app + tests) with pinned dependencies

# One pytest worker per core; a test file stays on one worker (module fixtures seed once),
# and each worker that runs end-to-end tests starts its own local stack.
test: $(BIN)/.installed ## unit, integration, end-to-end and browser tests (starts the local stack itself)
	scripts/install-chromium.sh
	$(BIN)/python -m pytest -q -n auto --dist loadfile

test-unit: $(BIN)/.installed ## pure logic only
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(BIN)/.installed ## handlers under moto
	$(BIN)/python -m pytest -q tests/integration

test-e2e: $(BIN)/.installed ## the local stack through the public contract
	$(BIN)/python -m pytest -q tests/e2e

test-browser: $(BIN)/.installed ## pages in headless Chromium (Debian's) against the local stack
	scripts/install-chromium.sh
	$(BIN)/python -m pytest -q tests/browser

# checkov: zero unsuppressed findings; each suppression is justified in the template
# (Metadata: checkov: skip: id/comment). Offline: no platform calls, no downloads.
lint: $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, content and metric definitions, sam validate --lint, checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/check_content.py
	$(BIN)/python scripts/check_metrics.py
	AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint $(SAM) validate --lint --region $(AWS_DEFAULT_REGION)
	BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false $(CHECKOV) --quiet --compact \
		--skip-download --framework cloudformation -f template.yaml

format: $(BIN)/.installed ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

build: $(BIN)/.installed $(SAM_VENV)/.installed ## sam build (needs a python3.13 interpreter; found on PATH or in pyenv); the catalogue, the journeys and the talent pool policy compiled to JSON first, the templates to bytecode into the built shared layer after
	$(BIN)/python scripts/compile_catalogue.py templates
	$(BIN)/python scripts/compile_policy.py
	@py313=$$(scripts/find-python313.sh) || { echo "python3.13 not found: sam build needs the runtime's Python"; exit 1; }; \
	PATH="$$(dirname $$py313):$$PATH" $(SAM) build --config-env $(ENV) && \
	PYTHONPATH=.aws-sam/build/SharedLayer/python $$py313 scripts/compile_templates.py templates \
	  .aws-sam/build/SharedLayer/python/talentops/content/bytecode

local: $(BIN)/.installed ## run the whole application on this machine (LOCAL_AWS_PORT, LOCAL_API_PORT)
	$(BIN)/python -m devstack

demo: $(BIN)/.installed ## play the event story on the local stack; table on stdout, emails in out/
	$(BIN)/python scripts/demo.py

bench: $(BIN)/.installed ## benchmarks: bench/results.json and docs/performance.md
	$(BIN)/python -m bench

schemas: $(BIN)/.installed ## export the contract's JSON Schemas to schemas/, the content files' to schemas/content/
	$(BIN)/python scripts/export_schemas.py
	$(BIN)/python scripts/export_content_schemas.py

openapi: $(BIN)/.installed ## export the HTTP API's OpenAPI document to docs/openapi.json
	$(BIN)/python scripts/export_openapi.py

deploy: build ## sam deploy to ENV (dev or prod; see samconfig.toml)
	$(SAM) deploy --config-env $(ENV)

token-key: $(SAM_VENV)/.installed ## token signing keys in SSM for ENV: create (once), ROTATE=1 (new current key), RETIRE=1 (drop the previous)
	ENV=$(ENV) ROTATE=$(ROTATE) RETIRE=$(RETIRE) $(SAM_VENV)/bin/python scripts/create_token_key.py

.PHONY: fuzz
fuzz: $(BIN)/.installed ## the fuzz suite at length: 50,000 new examples into every handler (FUZZ_EXAMPLES)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-50000} $(BIN)/python -m pytest -q -n auto --dist load tests/fuzz

.PHONY: check-content
check-content: $(BIN)/.installed ## the content before it ships: catalogue, journeys, policies, metrics, every variant rendered, journey events routed (CONTENT=dir)
	$(BIN)/python scripts/check_content.py $(CONTENT)

.PHONY: report
report: $(BIN)/.installed ## the HTML report over the local event lake: out/report.html (LAKE_DIR, FROM, TO)
	$(BIN)/python scripts/report.py $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

.PHONY: demo-insight
demo-insight: $(BIN)/.installed ## a month simulated over the sample with a known lift; checks the report recovers it (SEED, HOLDOUT, SMALL=n for a generated pool); out/report.html
	$(BIN)/python scripts/demo_insight.py $(if $(SEED),--seed $(SEED)) $(if $(HOLDOUT),--holdout $(HOLDOUT)) \
		$(if $(SMALL),--small $(SMALL))

.PHONY: chaos
chaos: $(BIN)/.installed ## the chaos soak at length: 5,000 mixed events under random faults (CHAOS_EVENTS, CHAOS_SEED)
	CHAOS_EVENTS=$${CHAOS_EVENTS:-5000} CHAOS_REPORT=$${CHAOS_REPORT:-out/chaos.json} \
		$(BIN)/python -m pytest -q -s -p no:xdist tests/chaos/test_soak.py

.PHONY: campaign
campaign: $(BIN)/.installed ## campaigns over the admin API: make campaign ARGS="create FILE | preview ID | launch ID --wait | status ID | list [--status S] | cancel ID | pause ID | resume ID"
	@test -n "$(ARGS)" || { $(BIN)/python scripts/campaign.py --help; exit 2; }
	$(BIN)/python scripts/campaign.py $(ARGS)

.PHONY: explain
explain: $(BIN)/.installed ## why (not), over the admin API: make explain CANDIDATE=c_... MESSAGE=x | CAMPAIGN=cmp_... | JOURNEY=x | JOB=x [AT=...] | DECISION=id; CANDIDATE=why-not for the pool
	@test -n "$(CANDIDATE)" || { $(BIN)/python scripts/explain.py --help; exit 2; }
	$(BIN)/python scripts/explain.py $(CANDIDATE) \
		$(if $(MESSAGE),--message $(MESSAGE)) $(if $(CAMPAIGN),--campaign $(CAMPAIGN)) \
		$(if $(JOURNEY),--journey $(JOURNEY)) $(if $(JOB),--job $(JOB)) \
		$(if $(DECISION),--decision $(DECISION)) $(if $(AT),--at $(AT)) $(ARGS)

.PHONY: simulate
simulate: $(BIN)/.installed ## replay the recorded triggers FROM..TO with the content of CONTENT (default templates/): who would gain or lose which message or variant; sends nothing
	$(BIN)/python scripts/simulate.py $(if $(CONTENT),--content $(CONTENT)) \
		$(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(ARGS)

clean: ## remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam out .pytest_cache .mypy_cache .ruff_cache templates/catalogue.compiled.json \
		templates/journeys/journeys.compiled.json

.PHONY: import
import: $(BIN)/.installed ## bulk-load a talent pool (CSV / JSON Lines) into the local stack: make import FILE=data/sample-pool.jsonl
	@test -n "$(FILE)" || { echo "usage: make import FILE=path/to/pool.csv|.jsonl [IMPORT_ARGS='--restart ...']"; exit 2; }
	AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://127.0.0.1:$${LOCAL_AWS_PORT:-4566}} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-testing} \
	$(BIN)/python scripts/import_pool.py $(FILE) $(IMPORT_ARGS)
