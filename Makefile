# Two commands on a fresh machine:
#   make run     the app (builds .venv with the runtime requirements on first use)
#   make test    the test suite (builds/updates .venv with the dev requirements)
#   make lint    ruff check .
#   make serve   N Streamlit replicas behind HAProxy over one PostgreSQL (REPLICAS=2; Ctrl-C
#                stops all; SERVE_ARGS="--port 8080" and the rest: python -m deploy.serve -h)
# .venv is rebuilt only when requirements*.txt or pyproject.toml are newer than its stamp
# files, so a second call starts at once. Extra arguments: make run ARGS="--server.port 8502",
# make test PYTEST_ARGS="tests/test_scripts.py -x". Another interpreter: make PYTHON=python3.12.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=
REPLICAS ?= 2
SERVE_ARGS ?=

RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev

.PHONY: run test lint serve venv venv-dev clean-venv

run: $(RUN_STAMP)
	$(BIN)/python -m streamlit run app.py $(ARGS)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# HAProxy and PostgreSQL come from Debian's packages; deploy/serve.py installs what is missing
# (as root, like .ci/run installs chromium) or says how.
serve: $(RUN_STAMP)
	$(BIN)/python -m deploy.serve --replicas $(REPLICAS) $(SERVE_ARGS)

venv: $(RUN_STAMP)

venv-dev: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is needed, this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# The runtime set. A dev install holds it too, so it refreshes this stamp as well.
$(RUN_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e .
	touch $@

$(DEV_STAMP): requirements-dev.txt requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -r requirements-dev.txt
	$(BIN)/python -m pip install -e .
	touch $(RUN_STAMP) $@

clean-venv:
	rm -rf $(VENV)
