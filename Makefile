# Two commands on a fresh clone: `make tutorial` and `make test`.
# Each creates .venv with pip if it is missing.

PYTHON ?= python3
PROFILE ?= article
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sqslab-installed

.PHONY: tutorial handouts test test-unit test-slow bench workshop soak lab clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[jupyter,test]'
	@touch $(STAMP)

## The main job: executes the notebook series offline (no Docker, no AWS account,
## no network) and writes the HTML handouts to build/handouts/, and the whole series as
## one PDF there (build/handouts/sqslab.pdf; printed by Chromium, skipped in one line without it).
## PROFILE=article (90 s / 20 s, as in the article) or PROFILE=quick (6 s / 2 s).
tutorial: $(STAMP)
	$(BIN)/sqslab tutorial --profile $(PROFILE)

handouts: tutorial

## The default test run (about 2 minutes on 2 cores): tests/unit/ and tests/integration/;
## four workers, each test file on one of them, each worker with its own offline server
## for the integration tests. Most tests wait (long polls, visibility
## timeouts, the notebooks' forced waits) rather than compute, so four workers share
## two cores well.
test: $(STAMP)
	$(BIN)/python -m pytest -n 4 --dist loadfile

## The unit tests alone (tests/unit/: no offline server), in about 15 seconds.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests/unit

## The slow tests: the article's own 90 s visibility timeout and 20 s long polls.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

## Invoke latency (cold, warm) and long-poll timing, printed with medians.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_invoke.py && $(BIN)/python benchmarks/bench_event_source.py

## Learners on one machine: each with its own offline server, running the quick series one
## chapter at a time, each in a kernel of its own; their peak memory (PSS) and time, alone and
## LEARNERS side by side (about 8 minutes for 4 on 2 cores). ONLY=05,06 for some chapters.
LEARNERS ?= 4
ONLY ?=
workshop: $(STAMP)
	$(BIN)/python benchmarks/bench_workshop.py --learners $(LEARNERS) $(if $(ONLY),--only $(ONLY),)

## A long mixed load (30 minutes) on an offline server of its own: the server's memory over
## it, and every message accounted for. MINUTES=5 for a shorter run.
MINUTES ?= 30
soak: $(STAMP)
	$(BIN)/python benchmarks/bench_soak.py --minutes $(MINUTES)

## JupyterLab with the offline server running.
lab: $(STAMP)
	$(BIN)/sqslab offline start
	$(BIN)/jupyter lab notebooks/

clean:
	-$(BIN)/sqslab offline stop
	rm -rf build .pytest_cache
