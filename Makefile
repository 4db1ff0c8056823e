# Forløbsguiden — `make help` lists the targets. Set-up is a chain of file targets shared by run, chat and test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON310 := $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo $$p; break; }; done)

CONTENT := $(wildcard knowledge_base/content/*.yml knowledge_base/content/topics/*.yml)
TRAINING_DATA := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)
STAMP_VENV := $(VENV)/.installed
STAMP_NLP := build/spacy/da_forlob/meta.json
STAMP_KB := var/kb.version
STAMP_MODEL := models/.trained

.DEFAULT_GOAL := help
.PHONY: help setup run chat cluster test test-fast lint format system-deps kb kb-validate kb-overlaps kb-search kb-show train benchmark purge clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP_VENV): pyproject.toml constraints.txt
	@test -n "$(PYTHON310)" || { echo "Fejl: Python 3.10 blev ikke fundet. Rasa 3.6 kræver Python 3.10 (fx 'pyenv install 3.10.13')." >&2; \
		echo "Error: python3.10 not found on PATH or under ~/.pyenv/versions; Rasa 3.6 needs Python 3.10." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip==24.0"
	$(PY) -m pip install -q -c constraints.txt -e ".[test,bench]"
	@touch $@

# The pipeline's entity ruler reads only the places, diagnoses and organisations: editing a topic does not
# rebuild it (so `make kb` after an editor's change is the KB build alone)
NLP_CONTENT := $(addprefix knowledge_base/content/,municipalities.yml diagnoses.yml organisations.yml)
$(STAMP_NLP): $(STAMP_VENV) $(NLP_CONTENT) bot/ops/spacy_pipeline.py knowledge_base/content.py knowledge_base/text.py
	$(PY) -m bot nlp build

$(STAMP_KB): $(STAMP_VENV) $(STAMP_NLP) $(CONTENT) $(wildcard knowledge_base/*.py) bot/ops/names.py \
		bot/ops/name_tagger.py core/redaction.py $(wildcard tests/data/redaction*.yml)
	$(PY) -m bot.ops.names && $(PY) -m bot.ops.name_tagger && $(PY) -m bot kb build

$(STAMP_MODEL): $(STAMP_NLP) $(TRAINING_DATA) $(CONTENT) bot/server/intent_ensemble.py
	$(PY) -m bot train

# npm packages (package-lock.json), reinstalled when the lock file changes or node_modules is gone: the
# widget's socket.io-client, which the web app serves (so `make run` needs them), and axe-core and
# rasa-webchat for the browser tests. Without npm the web app refuses to start with a message that says so.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund; \
		else echo "Note: npm is missing; install Node.js/npm for the widget's socket.io client and the browser tests." >&2; fi

# Debian's Chromium (the browser tests) and nginx (make cluster and its tests) are system packages: installed
# by `make system-deps` (as root, or through sudo), never by `make test`; the tests that need them skip with a
# reason where they are missing (and fail under REQUIRE_SERVICES=1, as in .ci/run).
SYSTEM_PACKAGES := chromium nginx
system-deps: ## Install the system packages the browser and cluster tests use (Debian: chromium, nginx)
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	if [ -z "$$missing" ]; then echo "System packages present: $(SYSTEM_PACKAGES)"; exit 0; fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	command -v apt-get >/dev/null 2>&1 || { echo "Install$$missing with your package manager." >&2; exit 1; }; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq$$missing >/dev/null

setup: $(STAMP_MODEL) $(STAMP_KB) ## Install, build the Danish pipeline and the KB, train if data changed

run: setup $(NPM_STAMP) ## Start the assistant (action server, Rasa with REST/socket.io/Slack/Teams, web widget on :8080); Ctrl-C stops all
	$(PY) -m bot run

chat: setup ## Talk to the assistant in the terminal
	$(PY) -m bot chat

cluster: setup ## N replicas behind nginx on PostgreSQL + Redis: make cluster REPLICAS=3 [POSTGRES_START='…' REDIS_START='…']
	$(PY) -m bot cluster --replicas $(or $(REPLICAS),2) $(if $(POSTGRES_START),--postgres-start "$(POSTGRES_START)") \
		$(if $(REDIS_START),--redis-start "$(REDIS_START)")

test: setup $(NPM_STAMP) ## Run the whole test suite (what .ci/run calls, after system-deps and lint)
	$(PY) -m pytest -q -rs

test-fast: $(STAMP_KB) ## The tests without Rasa training, browser or services (a couple of minutes)
	$(PY) -m pytest -q -rs -m "not rasa and not services and not browser and not slow"

lint: $(STAMP_VENV) ## ruff (lint and format check) on the tree, mypy on knowledge_base/ and core/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy knowledge_base core

format: $(STAMP_VENV) ## Format the tree and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

kb-validate: $(STAMP_VENV) ## Validate the knowledge-base YAML without building
	$(PY) -m bot kb validate

kb: $(STAMP_KB) ## Validate and rebuild the knowledge-base database

kb-overlaps: $(STAMP_VENV) ## Asks that read like another topic's (about a minute): move them or leave them out
	$(PY) -m bot kb overlaps

kb-search: $(STAMP_KB) ## What the matcher makes of a question: make kb-search Q="hvad er aflastning"
	$(PY) -m bot kb search "$(Q)"

kb-show: $(STAMP_KB) ## Show a topic, organisation, glossary entry or diagnosis: make kb-show ID=1.6
	$(PY) -m bot kb show "$(ID)"

train: $(STAMP_MODEL) ## Train the Rasa model (only when data or config changed)

benchmark: setup ## Run the benchmarks (print numbers; not part of the test suite)
	$(PY) -m benchmarks.matcher
	$(PY) -m benchmarks.nlu
	$(PY) -m benchmarks.redaction --set all --compare
	$(PY) -m benchmarks.training

purge: $(STAMP_VENV) ## Delete conversations older than the retention period (privacy)
	$(PY) -m bot privacy purge

clean: ## Remove build output, models and local databases (keeps .venv)
	rm -rf build models var results
