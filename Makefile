# make run   — install, migrate, start the app on the embedded SQLite store (http://127.0.0.1:8000)
# make test  — install and run the whole suite (SQLite, real PostgreSQL, real footage)
# make lint  — the import contracts (layers point inward), ruff's checks and its formatting (part of make test)
# make bench [NAME=append] — the benchmarks, one line per figure: "metric <name> <value>"
# make faults [FAULTS_ARGS=...] — the fault suite on a throwaway PostgreSQL cluster (minutes; not part of make test)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-10)

.PHONY: install run test lint bench faults clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: install
	$(BIN)/ssz serve

test: lint
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	test -x /usr/bin/wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py $(NAME)

faults: install
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)
	$(BIN)/python -m faults $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache
