# Everyday commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-tools
CHECKOV := .venv-checkov
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
PORT ?= 3000
LOCAL_STATE := .local-state

.DEFAULT_GOAL := help
.PHONY: help run test test-fast admin doctor validate build checkov check bench mutants deploy clean examples-node
STACK ?= pagerduty-connect

help:  ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/$$(PORT)/$(PORT)/g' | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The Node.js example's packages, from its lockfile; only where npm is (CI installs it: .ci/run).
NODE_EXAMPLE := examples/node/node_modules/.installed
NODE_EXAMPLE_IF_NPM := $(if $(shell command -v npm 2>/dev/null),$(NODE_EXAMPLE))

# Two stamps: `make run` installs only what running needs (quick on a fresh clone); the tests'
# packages come with the first `make test`. --no-compile: bytecode is written for the modules a
# run imports, not for all of botocore and moto up front.
$(VENV)/.run-installed: requirements-run.txt functions/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --no-compile -r requirements-run.txt
	touch $@

$(VENV)/.installed: requirements-dev.txt examples/python/requirements.txt $(VENV)/.run-installed
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q -r requirements-tools.txt
	touch $@

# checkov has a virtualenv of its own: its pins would break aws-sam-cli's in $(TOOLS).
$(CHECKOV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install -q --upgrade pip
	$(CHECKOV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $@

run: $(VENV)/.run-installed  ## Run the whole flow locally (embedded AWS + PagerDuty stand-in) on http://localhost:$(PORT); ARGS="--reset" starts empty
	PORT=$(PORT) $(PY) -m local.stack --state-dir $(LOCAL_STATE) $(ARGS)

$(NODE_EXAMPLE): examples/node/package-lock.json
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

examples-node: $(NODE_EXAMPLE)  ## Install the Node.js example's packages (npm ci, from its lockfile)

# SAM CLI (.venv-tools) too: tests/browser/sam_local serves the template through SAM's own start-api.
test: $(VENV)/.installed $(TOOLS)/.installed $(NODE_EXAMPLE_IF_NPM)  ## Run every test: unit, moto, local HTTP stack, template, SAM CLI, examples, headless Chromium
	$(PY) -m pytest

test-fast: $(VENV)/.installed $(TOOLS)/.installed $(NODE_EXAMPLE_IF_NPM)  ## Run the tests that need no browser
	$(PY) -m pytest -m "not browser"

admin: $(VENV)/.run-installed  ## Operate stored connections (finds a running make run): make admin ARGS="list" (show|refresh|delete KEY, --json)
	$(PY) -m admin --local-state $(LOCAL_STATE) $(ARGS)

doctor: $(VENV)/.installed  ## Check a deployed stack, one line per check: make doctor STACK=pagerduty-connect (ARGS="--region eu-west-1")
	$(PY) -m admin doctor --stack $(STACK) $(ARGS)

validate: $(TOOLS)/.installed  ## sam validate --lint (cfn-lint)
	$(SAM) validate --lint

build: $(TOOLS)/.installed  ## sam build for python3.13 arm64 (no Docker needed)
	$(SAM) build

checkov: $(CHECKOV)/.installed  ## checkov on template.yaml (suppressions explained next to each resource)
	$(CHECKOV)/bin/checkov --config-file .checkov.yaml

check: validate build checkov  ## Infrastructure checks CI runs before the tests

bench: $(VENV)/.installed  ## Benchmark: cold start, remote calls, zip size, latency, load; table + bench-results/bench.json
	$(PY) -m bench

mutants: $(VENV)/.installed  ## Mutation check: each pinned mutant of the critical modules against its tests (slow; not in CI)
	$(PY) -m mutation $(ARGS)

deploy: build  ## Build, then deploy with SAM's guided prompts
	$(SAM) deploy --guided

clean:  ## Remove build output and test artifacts
	rm -rf .aws-sam test-artifacts .pytest_cache mutation-results examples/node/node_modules
