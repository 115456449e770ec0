# aimsflow — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
DAYS ?= 3
# make up: the port of the UI and API, the days the scheduler catches up, the log level of its task
# logs (make run stays at ERROR: it prints a summary), and whether the DAGs run (UNPAUSE=false: paused).
PORT ?= 8080
UP_DAYS ?= 7
UP_LOG_LEVEL ?= INFO
UNPAUSE ?= true
UV_VERSION := 0.13.8

# The embedded default: SQLite + LocalExecutor in .airflow/, no examples, this repo's DAGs.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= ERROR
# OpenLineage: one file per event in openlineage/staging (docker-compose: these files and HTTP to Marquez).
export AIRFLOW__OPENLINEAGE__DISABLED ?= False
export AIRFLOW__OPENLINEAGE__NAMESPACE ?= aimsflow
export AIRFLOW__OPENLINEAGE__TRANSPORT ?= {"type": "aimsflow.lineage.transport.StagingFileTransport"}
export AIMSFLOW_OPENLINEAGE_DIR ?= $(CURDIR)/openlineage/staging
export GX_ANALYTICS_ENABLED := false
export PATH := $(BIN):$(PATH)

.PHONY: help install run retention up test test-fast lint format bench lock clean schemas mutation browser
help:
	@echo "make run    set up everything, run the governance cycle for the last DAYS=$(DAYS) days, print where the evidence is"
	@echo "make test   ruff + the whole test suite (what CI runs)"
	@echo "make retention [EXECUTE=true]  retention plan (dry run), or delete, verify and certify what it lists"
	@echo "make up     airflow standalone on http://127.0.0.1:$(PORT) [PORT=8080 UP_DAYS=7 UNPAUSE=true UP_LOG_LEVEL=INFO]"
	@echo "make bench  benchmarks (results in bench/results/)"
	@echo "make mutation [TARGETS='evidence retention suppression']  mutation testing, not in CI (docs/mutation.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/db-migrate.log; exit 1)

run: $(AIRFLOW_HOME)/airflow.db
	$(BIN)/aimsflow cycle --days $(DAYS)

# retention_disposal for yesterday (clock: today 00:00 UTC), then evidence_seal. EXECUTE=true deletes.
retention: $(AIRFLOW_HOME)/airflow.db
	$(BIN)/python -m aimsflow.retention $(if $(filter true yes 1,$(EXECUTE)),--execute,)

# A demo: the DAGs run (unpaused, also those an earlier `make run` registered paused) so the scheduler
# catches up the last UP_DAYS days and the UI shows real runs; task logs at INFO say what each job did.
up: $(AIRFLOW_HOME)/airflow.db
	@$(BIN)/aimsflow keys demo
	@$(BIN)/aimsflow demo generate
	@# Only this repo's DAGs load here (no examples), so every DAG is an aimsflow DAG.
	@$(BIN)/airflow dags $(if $(filter true,$(UNPAUSE)),unpause,pause) --treat-dag-id-as-regex -y '.*' > /dev/null 2>&1 || true
	@$(if $(filter true,$(UNPAUSE)),\
	echo "DAGs unpaused: the scheduler catches up the last $(UP_DAYS) days (UNPAUSE=false keeps them paused; the UI's toggle pauses one)",\
	echo "DAGs paused (UNPAUSE=false): nothing runs until you unpause one with the UI's toggle or $(BIN)/airflow dags unpause DAG_ID")
	@echo "Airflow UI: http://127.0.0.1:$(PORT)  login: admin, password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	AIMSFLOW_SIGNING_KEY_ID=$$(cut -d' ' -f1 $${AIMSFLOW_KEYS_DIR:-$$HOME/.aimsflow}/demo-signing.key) \
	AIMSFLOW_SIGNING_KEY=$$(cut -d' ' -f2 $${AIMSFLOW_KEYS_DIR:-$$HOME/.aimsflow}/demo-signing.key) \
	AIMSFLOW_PSEUDONYM_KEY=$$(cat $${AIMSFLOW_KEYS_DIR:-$$HOME/.aimsflow}/demo-pseudonym.key) \
	AIMSFLOW_START_DATE=$$(date -u -d '$(UP_DAYS) days ago' +%F) \
	AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=$(if $(filter true,$(UNPAUSE)),False,True) \
	AIRFLOW__LOGGING__LOGGING_LEVEL=$(UP_LOG_LEVEL) \
	AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$(PORT)/execution/ \
	$(BIN)/airflow standalone

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint browser
	$(BIN)/python -m pytest -q

# The end-to-end UI test (tests/ui/test_e2e.py) drives Debian's chromium through Playwright (never a
# browser Playwright would download): installed here when missing, as root with apt (CI, a fresh machine).
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "installing Debian's chromium (apt) for the end-to-end UI test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core > /dev/null; \
	  else \
	    echo "$(CHROMIUM) is missing: install Debian's chromium (apt-get install chromium) for tests/ui/test_e2e.py" >&2; exit 1; \
	  fi; \
	fi

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(AIRFLOW_HOME)/airflow.db
	$(BIN)/python bench/run.py

# Mutation testing of the evidence package, the retention decision and fairness suppression
# (docs/mutation.md). Not part of `make test` or CI: 15-50 min on 2 cores. Installs mutmut itself.
# Prints killed/survived/score per target; survivors in bench/results/mutation/TARGET-survivors.txt.
TARGETS ?=
MUTATION_TIMEOUT ?= 5400
mutation: install
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-mutation.txt
	$(BIN)/python bench/mutation.py $(TARGETS) --timeout $(MUTATION_TIMEOUT)

# JSON Schemas of include/config/*.yaml from the pydantic models (editors validate with them).
schemas: install
	$(BIN)/python -m aimsflow.configschema

lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu requirements-mutation.in -c requirements.txt -o requirements-mutation.txt

clean:
	rm -rf .airflow .airflow-test data evidence witness .mutation
