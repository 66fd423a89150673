# The two commands a newcomer needs are `make run` and `make test`; both
# create or refresh the virtual environment in .venv by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever the declared dependencies change.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run demo test lint format bench bench-drs bench-seqcol venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## The whole stack on one machine: embedded S3, a Celery worker, the site on
## 127.0.0.1:$(PORT) with the demo genome published. Ctrl-C stops it all.
PORT ?= 8000
run: $(STAMP)
	PORT=$(PORT) $(BIN)/python -m fasta_drs.demo.stack

## Only the generator: the demo genome's FASTA into var/demo/fasta/.
demo: $(STAMP)
	$(BIN)/python -m fasta_drs.demo

## Lint, then run every test tier that this machine can run.
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Generator benchmark; SIZES in megabases, e.g. make bench SIZES="100 200 400".
SIZES ?= 100 200 400
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.generator --sizes $(SIZES)

## DRS benchmark: time to a usable URL, access endpoint under wrk.
bench-drs: $(STAMP)
	$(BIN)/python -m tests.benchmarks.drs

## seqcol benchmark: level-2 lookups from 10, 100 and 1,000 collections.
bench-seqcol: $(STAMP)
	$(BIN)/python -m tests.benchmarks.seqcol

clean:
	rm -rf $(VENV) var build *.egg-info
