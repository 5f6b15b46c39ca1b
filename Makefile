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

.PHONY: help install run test lint typecheck unit integration infra-up infra-down bench pins validate clean

help:
	@echo "make run        run the whole system in one process (SQLite, in-process bus, demo data) on 127.0.0.1:8000"
	@echo "make test       install, start Kafka + PostgreSQL, lint, type-check and run every test"
	@echo "make bench      run the benchmarks (numbers in bench/results/)"
	@echo "make infra-up   start Kafka and PostgreSQL by hand; make infra-down stops them"

$(VENV)/.installed: requirements/pins.txt */pyproject.toml services/*/pyproject.toml
	@if ! command -v uv >/dev/null 2>&1; then python3 -m venv $(VENV) && $(VENV)/bin/pip install -q uv; fi
	UV=$$(command -v uv || echo $(VENV)/bin/uv)
	[ -x $(PY) ] || $$UV venv -q $(VENV) --python 3.11
	$$UV pip install -q -p $(VENV) -r requirements/pins.txt
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

validate: install
	$(VENV)/bin/pytest -q -p no:cacheprovider --import-mode=importlib tests/deploy

# The whole suite: checks, then every test on real Kafka and PostgreSQL (started here, stopped after).
test: install
	$(MAKE) --no-print-directory lint typecheck
	bash deploy/local/postgres.sh start
	bash deploy/local/kafka.sh start
	trap 'bash deploy/local/kafka.sh stop || true' EXIT
	$(VENV)/bin/pytest -q -p no:cacheprovider --import-mode=importlib $(PYTEST_ARGS) \
		shared/tests services/*/tests gateway/tests hhpu/tests tests

bench: install
	bash deploy/local/postgres.sh start
	$(PY) bench/run_all.py

pins:
	uv lock --python 3.11 && uv export --no-hashes --no-emit-workspace --all-groups --no-header -o requirements/pins.txt >/dev/null

clean:
	rm -rf .run $(VENV)
