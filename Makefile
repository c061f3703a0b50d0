# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins versions that clash with boto3 and kubernetes, so it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: help install install-checkov install-chromium demo test lint bench schema docs golden render clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the kit with its dev tools

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3,<4'
	@touch $(CHECKOV_STAMP)

install-checkov: $(CHECKOV_STAMP)  ## Install checkov into its own .venv-checkov

# The usage page's browser test opens it in Debian's chromium; apt-get runs only when it is missing.
install-chromium:  ## Install Debian's chromium (headless) for the usage page's browser test
	@test -x /usr/bin/chromium || { \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)  ## Run the whole flow on the embedded sandbox (safe to re-run)
	$(BIN)/python -m platform_kit.demo

test: $(STAMP) $(CHECKOV_STAMP) install-chromium  ## Lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/platform schema --check
	$(BIN)/python -m platform_kit.config.docs --check
	$(BIN)/python -m platform_kit.terraform.docs --check
	$(BIN)/python -m platform_kit.render.golden --check
	$(BIN)/python -m platform_kit.catalog.build --check
	$(BIN)/python -m platform_kit.catalog.docs --check
	$(BIN)/python -m pytest

lint: $(STAMP)  ## Lint only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)  ## Run the benchmarks and write docs/benchmarks.md
	$(BIN)/python bench/run.py

schema: $(STAMP)  ## Regenerate docs/schema/*.json from the config models
	$(BIN)/platform schema

golden: $(STAMP)  ## Regenerate the golden renders and catalog interfaces in tests/golden/ (commit them with the change)
	$(BIN)/python -m platform_kit.render.golden
	$(BIN)/python -m platform_kit.catalog.build

render: $(STAMP)  ## Render the sandbox platform and teams into build/sandbox (offline)
	$(BIN)/platform render --env sandbox --platform-outputs tests/golden/sandbox/platform-outputs.json

docs: $(STAMP) $(CHECKOV_STAMP) render  ## Regenerate schemas, docs/configuration.md, module README tables and docs/security.md
	$(BIN)/platform schema
	$(BIN)/python -m platform_kit.config.docs
	$(BIN)/python -m platform_kit.terraform.docs
	$(BIN)/python -m platform_kit.catalog.docs
	$(BIN)/python -m platform_kit.policy --write docs/security.md --render-dir build/sandbox/rendered

clean:  ## Stop the sandbox and remove local state (keeps .venv)
	-$(BIN)/platform sandbox stop
	rm -rf .platform build .pytest_cache
