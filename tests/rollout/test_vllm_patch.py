"""The TRL seams reasoning_rl.rollout.vllm_cpu relies on: fails loudly if a TRL upgrade moves them
(the module-level swaps themselves: tests/rollout/test_trl_patches.py).

Runs in the main venv too (no vLLM needed): it checks TRL's source and module attributes, and
the swap-and-restore behaviour of `colocate_engine_defaults`, with no engine started.
"""

from __future__ import annotations

import inspect
import os
from types import SimpleNamespace

import pytest

from reasoning_rl.rollout import vllm_cpu

vllm_generation = pytest.importorskip("trl.generation.vllm_generation")
grpo_trainer = pytest.importorskip("trl.trainer.grpo_trainer")

COLOCATE_CPU = SimpleNamespace(use_vllm=True, vllm_mode="colocate", use_cpu=True)


def test_trl_builds_its_colocate_engine_through_the_module_level_llm():
    source = inspect.getsource(vllm_generation.VLLMGeneration._init_vllm)
    assert "self.llm = LLM(" in source
    assert 'distributed_executor_backend="external_launcher"' in source
    for argument in ("dtype=", "enforce_eager="):  # if TRL adds these, the patch is moot
        assert argument not in source


def test_trl_sync_helpers_we_call_still_exist():
    generation = vllm_generation.VLLMGeneration
    assert inspect.isgeneratorfunction(generation._iter_named_params)
    assert "load_weights([(name, param)])" in inspect.getsource(generation.sync_weights)


def test_caller_arguments_win_over_defaults():
    build = vllm_cpu.with_defaults(dict, vllm_cpu.engine_defaults("float32"))
    assert build(model="m") == {"enforce_eager": True, "dtype": "float32", "model": "m"}
    assert build(dtype="bfloat16")["dtype"] == "bfloat16"


def test_swap_is_scoped_to_the_block_and_restored_on_error(monkeypatch):
    monkeypatch.setattr(vllm_generation, "LLM", dict, raising=False)  # vLLM need not be here
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    llm, generation = vllm_generation.LLM, grpo_trainer.VLLMGeneration
    with pytest.raises(RuntimeError), vllm_cpu.colocate_engine_defaults(COLOCATE_CPU,
                                                                       "float32") as added:
        assert added == {"enforce_eager": True, "dtype": "float32"}
        assert vllm_generation.LLM.reasoning_rl_defaults == added
        assert issubclass(grpo_trainer.VLLMGeneration, generation)
        assert grpo_trainer.VLLMGeneration.__name__ == "CPUColocateGeneration"
        raise RuntimeError("trainer construction failed")
    assert vllm_generation.LLM is llm and grpo_trainer.VLLMGeneration is generation
    assert os.environ["VLLM_CPU_KVCACHE_SPACE"] == vllm_cpu.DEFAULT_KVCACHE_GIB


@pytest.mark.parametrize("args", [
    SimpleNamespace(use_vllm=False, vllm_mode="colocate", use_cpu=True),
    SimpleNamespace(use_vllm=True, vllm_mode="server", use_cpu=True),
])
def test_nothing_changes_without_cpu_colocate(args, monkeypatch):
    monkeypatch.setattr(vllm_generation, "LLM", dict, raising=False)
    llm, generation = vllm_generation.LLM, grpo_trainer.VLLMGeneration
    with vllm_cpu.colocate_engine_defaults(args, "float32") as added:
        assert added == {}
        assert vllm_generation.LLM is llm and grpo_trainer.VLLMGeneration is generation


def test_tied_head_is_repacked_and_untied_is_left_alone():
    calls = []
    shared = object()
    head = SimpleNamespace(weight=shared, quant_method=SimpleNamespace(
        process_weights_after_loading=calls.append))
    tied = SimpleNamespace(lm_head=head, model=SimpleNamespace(
        embed_tokens=SimpleNamespace(weight=shared)))
    assert vllm_cpu.repack_tied_head(tied) is True
    assert calls == [head]
    untied = SimpleNamespace(lm_head=head, model=SimpleNamespace(
        embed_tokens=SimpleNamespace(weight=object())))
    assert vllm_cpu.repack_tied_head(untied) is False
    assert calls == [head]
