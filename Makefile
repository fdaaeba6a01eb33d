# Every target sets up what it needs itself, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## serve: run the demo app (examples/everything.py) for one client on stdin/stdout
serve: $(STAMP)
	@echo "mocopr: serving examples/everything.py:app on stdio (newline-delimited JSON-RPC; Ctrl-D ends)" >&2
	$(BIN)/mocopr serve examples/everything.py:app --stdio

## test: lint, then the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest -q

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
