# The two commands a newcomer needs are `make run` and `make test`; both
# create or refresh the virtual environment in .venv by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever the declared dependencies change.
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint format bench venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## Generate the bundled demo genome's FASTA through the generator's command line.
run: $(STAMP)
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

clean:
	rm -rf $(VENV) var build *.egg-info
