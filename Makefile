# multimargin: one entry point for setting up, running and testing.
#   make run    set up, then start the gRPC server on its embedded store with demo data
#               (plaintext, no authentication: loopback only; see README "Security")
#   make demo   set up, then evaluate an example scenario with --explain
#   make test   set up, then run the whole suite (what .ci/run calls)
#   make bench  set up, then run every benchmark and rewrite bench/RESULTS.md (5–7 min)
#   make reset  delete the demo store ($(DATA)), so that the next `make run` seeds it anew
#   make clean  delete the virtualenv, the Rust build and the demo store

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= ./data
LISTEN ?= 127.0.0.1:50051

.PHONY: setup run run-cluster test-cluster-long demo test lint test-rust test-python bench proto reset clean crash fuzz overload

$(BIN)/python:
	@echo "== setup 1/3: creating the virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dev tools first, then the package itself: `pip install .` builds the Rust extension
# (release profile) with maturin, exactly as the Dockerfile's builder stage does.
$(STAMP): $(BIN)/python requirements-dev.txt pyproject.toml Cargo.toml Cargo.lock $(shell find core_rs/src server -name '*.rs' -o -name '*.py' -o -name '*.pyi' -o -name '*.json' -o -name '*.proto' 2>/dev/null)
	@echo "== setup 2/3: installing the dev tools (requirements-dev.txt)"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@echo "== setup 3/3: building the Rust engine and installing multimargin (release build: minutes on 2 cores)"
	$(BIN)/pip install --quiet .
	touch $(STAMP)
	@echo "== setup done"

setup: $(STAMP)

run: setup
	$(BIN)/multimargin serve --demo --data-dir $(DATA) --listen $(LISTEN) --insecure-no-auth

# A throw-away PostgreSQL in $(DATA)/pg plus three instances on 50051-50053 (README,
# "Several instances"); DEMO=1 seeds the demo data.
run-cluster: setup
	$(BIN)/python scripts/run_cluster.py --data $(DATA) $(if $(DEMO),--demo,)

# The cluster tests with the stateful machine at 20 examples (minutes).
test-cluster-long: setup
	MM_CLUSTER_STATEFUL_EXAMPLES=20 $(BIN)/python -m pytest tests/cluster -q

demo: setup
	$(BIN)/multimargin evaluate --explain examples/futures-multi-asset.json

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(BIN)/ruff check server tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest multimargin._core
	$(BIN)/buf lint proto
	$(BIN)/buf format --diff --exit-code proto
	$(BIN)/hadolint Dockerfile

test-rust:
	cargo test --workspace

test-python: setup
	$(BIN)/python -m pytest

test: lint test-rust test-python

bench: setup
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run_all.py

# Reliability (README "Reliability"): a long crash campaign, long fuzz runs, overload.
CRASH_CYCLES ?= 1000
crash: setup
	cd bench && ../$(BIN)/python crash.py --cycles $(CRASH_CYCLES)

FUZZ_SECONDS ?= 3600
fuzz: setup
	MM_FUZZ_CASES=200000 cargo test --release -p multimargin-core --test fuzz_parsers
	mkdir -p fuzz/corpus/handlers
	$(BIN)/python fuzz/handlers_fuzz.py -max_total_time=$(FUZZ_SECONDS) fuzz/corpus/handlers
	cd fuzz && cargo +nightly fuzz run scenario -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && cargo +nightly fuzz run rulebook -- -max_total_time=$(FUZZ_SECONDS)

overload: setup
	cd bench && ../$(BIN)/python overload.py

proto: setup
	$(BIN)/python scripts/gen_proto.py

reset:
	rm -rf $(DATA)

clean:
	rm -rf $(VENV) target $(DATA)
