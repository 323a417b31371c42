# genai-airflow-pipelines: the two commands a newcomer needs are `make start` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
AIRFLOW_PORT ?= 8080
export AIRFLOW_PORT

.PHONY: help venv tools focus-validator drift-quality lock start stop restart run test test-services check-image bench lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv:  ## create/update .venv from the committed lock (fast when already built)
	@scripts/venv.sh

tools:  ## install test-only tools outside .venv: focus-validator, pgserver (own venvs), Azurite (npm), into .tools/; Chromium (apt)
	@if [ -x scripts/install_tools.sh ]; then scripts/install_tools.sh; fi
	@if [ -x scripts/install_browser.sh ]; then scripts/install_browser.sh; fi

focus-validator:  ## install focus-validator 1.0.0 into .tools/focus-validator (its own pinned venv)
	@scripts/install_focus_validator.sh

lock:  ## re-resolve constraints.txt from requirements/local.in (needs the package index)
	.venv/bin/uv pip compile requirements/local.in -c constraints.txt --python-version 3.11 \
	  $$(for d in $${PIP_FIND_LINKS:-} $$(python3 -m pip config get global.find-links 2>/dev/null); do [ -d $$d ] && echo --find-links $$d; done) \
	  --no-header -o constraints.txt.new && \
	sed -i 's/^torch==\(.*\)+cpu$$/torch==\1/' constraints.txt.new && mv constraints.txt.new constraints.txt

start: venv  ## run Airflow locally at http://localhost:8080 without Docker (make stop to end)
	@scripts/start.sh

stop:  ## stop everything `make start` started
	@scripts/stop.sh

restart: stop start  ## stop, then start

run: venv  ## run one DAG once from the CLI: make run DAG=<dag_id> [CONF='{"k": 1}']
	@scripts/run_dag.sh "$(DAG)" '$(CONF)'

param-tables: venv  ## regenerate the Param tables in docs/<dag>.md from the DAGs' typed configs
	@bash -c '. scripts/local_env.sh && cd "$$PROJECT_DIR" && python scripts/param_tables.py'

test: venv tools  ## lint + Astro parse test + the full offline suite
	@scripts/test.sh $(ARGS)

test-services: venv  ## the service-backed suite (Postgres / Redis / Celery); skipped when they do not answer
	@if [ -x scripts/test_services.sh ]; then scripts/test_services.sh $(ARGS); \
	 else echo "no service-backed suite yet"; fi

check-image: venv  ## the Docker image's Python set without Docker: clean venv, parse test, 3 DAG runs (~4 min)
	@scripts/check_image_deps.sh

bench: venv  ## run every benchmark in bench/ (figures in bench/results/; peers such as Evidently in their own .tools/ venvs)
	@bash scripts/install_evidently.sh
	@mkdir -p bench/results; failed=""; for b in bench/*.py; do echo "==> $$b"; \
	  PYTHONPATH=$$PWD:$$PWD/plugins .venv/bin/python $$b || failed="$$failed $$b"; done; \
	  if [ -n "$$failed" ]; then echo "benchmarks that failed (the others ran):$$failed"; exit 1; fi

drift-quality: venv  ## drift verdicts vs Evidently's defaults on planted shifts (UCI Adult), ~9 min
	@bash scripts/install_evidently.sh
	@PYTHONPATH=$$PWD:$$PWD/plugins .venv/bin/python bench/drift_quality.py

lint:  ## ruff (style + Airflow 3 rules)
	.venv/bin/ruff check dags include plugins tests bench scripts .astro
	.venv/bin/ruff check --preview --select AIR dags include plugins

clean: stop  ## remove local runtime state (.airflow, logs, data); keeps .venv
	rm -rf .airflow logs data
