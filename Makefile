# HHPU Platform. `make run` runs the whole system in one process; `make test` runs every test
# (installing what it needs and starting real Kafka and PostgreSQL itself).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)/bin/uv)
PACKAGES := -e shared -e services/referral-api -e services/ranking-service -e services/case-service \
	-e services/meeting-service -e gateway -e hhpu
export HHPU_TEST_KAFKA ?= 127.0.0.1:19092
export HHPU_TEST_PG_URL ?= postgresql+psycopg://hhpu:hhpu@127.0.0.1:5432/hhpu
PYTEST_ARGS ?=

.PHONY: help install run test e2e-browser lint typecheck unit integration infra-up infra-down bench pins validate clean reliability reliability-smoke migration

help:
	@echo "make run        run the whole system in one process (SQLite, in-process bus, demo data) on 127.0.0.1:8000"
	@echo "make test       install, start Kafka + PostgreSQL, lint, type-check and run every test"
	@echo "make bench      run the benchmarks (numbers in bench/results/)"
	@echo "make reliability  the fault-injection suite (long; private Kafka, PostgreSQL and Prometheus)"
	@echo "make reliability-smoke  the same, small (5 to 15 minutes)"
	@echo "make infra-up   start Kafka and PostgreSQL by hand; make infra-down stops them"

$(VENV)/.installed: requirements/pins.txt */pyproject.toml services/*/pyproject.toml
	@if ! command -v uv >/dev/null 2>&1; then python3 -m venv $(VENV) && $(VENV)/bin/pip install -q uv; fi
	UV=$$(command -v uv || echo $(VENV)/bin/uv)
	[ -x $(PY) ] || $$UV venv -q $(VENV) --python 3.11
	# --compile-bytecode: write the .pyc files now. uv does not by default, and where
	# PYTHONDONTWRITEBYTECODE is set (as on these machines) no process writes them either, so every
	# process compiled its imports again: 9.5 s to import the case-service's consumer, 4.5 s with them.
	$$UV pip install -q -p $(VENV) --compile-bytecode -r requirements/pins.txt
	$$UV pip install -q -p $(VENV) --no-deps $(PACKAGES)
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m hhpu run

infra-up:
	bash deploy/local/postgres.sh start
	bash deploy/local/kafka.sh start

infra-down:
	bash deploy/local/kafka.sh stop || true
	bash deploy/local/postgres.sh stop || true

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy shared/src
	$(VENV)/bin/mypy services/referral-api/src services/ranking-service/src services/case-service/src \
		services/meeting-service/src gateway/src hhpu/src
	$(VENV)/bin/mypy bench  # the benchmarks and the fault suite: run rarely, so checked here

validate: install
	bash deploy/local/promtool.sh >/dev/null  # Debian's prometheus package: the deploy tests need promtool
	$(VENV)/bin/pytest -q -p no:cacheprovider --import-mode=importlib tests/deploy

# The whole suite: checks, then every test on real Kafka and PostgreSQL (started here, stopped after).
test: install
	$(MAKE) --no-print-directory lint typecheck
	bash deploy/local/system-packages.sh
	bash deploy/local/postgres.sh start
	bash deploy/local/kafka.sh start
	bash deploy/local/promtool.sh >/dev/null  # Debian's prometheus package: the deploy tests need promtool
	trap 'bash deploy/local/kafka.sh stop || true' EXIT
	$(VENV)/bin/pytest -q -p no:cacheprovider --import-mode=importlib $(PYTEST_ARGS) \
		shared/tests services/*/tests gateway/tests hhpu/tests tests

# Only the headless-Chromium tests (also part of `make test`): /docs, /redoc and the meeting pack.
e2e-browser: install
	bash deploy/local/system-packages.sh
	$(VENV)/bin/pytest -q -p no:cacheprovider --import-mode=importlib $(PYTEST_ARGS) tests/browser

bench: install
	bash deploy/local/postgres.sh start
	bash deploy/local/kafka.sh start  # intake, consumers and pipeline run distributed mode on it
	$(PY) bench/run_all.py

# The fault-injection suite (docs/reliability.md), kept out of `make test` for its length. It runs its
# own Kafka broker, PostgreSQL cluster and Prometheus on private ports and data, and removes them after.
# It refuses a tree with uncommitted changes (figures must belong to a commit): run it from a clean
# worktree, `git worktree add ../hhpu-reliability <commit>`. It first drops private clusters orphaned by
# killed runs (bench/reliability/sweep.py). Exit 1 on any failure bench/reliability/checks.py finds.
reliability: install
	export HHPU_RUN_DIR=$(CURDIR)/.run/reliability HHPU_PG_CLUSTER=$${RELIABILITY_PG_CLUSTER:-hhpu_reliability}
	export HHPU_PG_PORT=$${RELIABILITY_PG_PORT:-55433} HHPU_KAFKA_PORT=$${RELIABILITY_KAFKA_PORT:-29192}
	export HHPU_KAFKA_CONTROLLER_PORT=$${RELIABILITY_KAFKA_CONTROLLER_PORT:-29193}
	[[ "$$HHPU_PG_CLUSTER" == hhpu_rel* ]] || { echo "RELIABILITY_PG_CLUSTER must start with hhpu_rel (sweep.py finds orphans by it)"; exit 2; }
	$(PY) bench/reliability/sweep.py
	trap 'bash deploy/local/kafka.sh stop || true; bash deploy/local/postgres.sh destroy || true' EXIT
	$(PY) bench/reliability/run.py

# The same suite, small (4.5 min on two quiet cores, 15 on busy ones, so not in `make test`): 150 referrals;
# faults: broker, the case-service's consumer, the referral-api's API, a poison message; one SIGKILL
# of single-process mode. Results in .run/reliability/smoke.json.
reliability-smoke:
	RELIABILITY_REFERRALS=$${RELIABILITY_REFERRALS:-150} RELIABILITY_SINGLE_KILLS=1 \
	RELIABILITY_FAULTS=$${RELIABILITY_FAULTS:-broker,consumer:case-service,api:referral-api,poison} \
	RELIABILITY_RESULTS=$(CURDIR)/.run/reliability/smoke.json $(MAKE) --no-print-directory reliability

pins: install
	$(UV) lock --python 3.11 && $(UV) export --no-hashes --no-emit-workspace --all-groups --no-header -o requirements/pins.txt >/dev/null

clean:
	rm -rf .run $(VENV)

# A new schema revision for one service, autogenerated from its models: make migration PKG=case_service MSG="add x"
migration: install
	$(PY) -c "from $(PKG).migrations import MIGRATIONS; print(MIGRATIONS.revision('$(MSG)'))"
