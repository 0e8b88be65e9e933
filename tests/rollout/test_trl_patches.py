"""reasoning_rl.rollout.trl_patches: each patch restores what was there, and the TRL and
transformers behaviour each one relies on is still there (these fail on an upgrade that moves it).
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
import torch

from reasoning_rl.rollout import trl_patches

grpo_trainer = pytest.importorskip("trl.trainer.grpo_trainer")
vllm_generation = pytest.importorskip("trl.generation.vllm_generation")


# --- what TRL and transformers do that the patches rely on -------------------------------------

def test_trl_builds_its_generation_backend_by_module_level_name():
    assert grpo_trainer.VLLMGeneration is vllm_generation.VLLMGeneration
    assert "VLLMGeneration(" in inspect.getsource(grpo_trainer.GRPOTrainer.__init__)


def test_trl_builds_its_colocated_engine_by_module_level_name():
    assert "self.llm = LLM(" in inspect.getsource(vllm_generation.VLLMGeneration._init_vllm)


def test_trl_sampler_calls_generate_with_keywords_and_no_tokenizer():
    source = inspect.getsource(grpo_trainer.GRPOTrainer._generate_single_turn)
    call = source[source.index("unwrapped_model.generate("):]
    call = call[:call.index(")") + 1]
    # keywords: the shared-prefix prefill reads input_ids and attention_mask by name
    assert "**generate_inputs" in call
    assert '{"input_ids": padded_ids, "attention_mask": attention_mask}' in source
    # no tokenizer: if TRL starts passing one, bind_generate_tokenizer is moot (and would clash)
    assert "tokenizer" not in call


def test_stop_strings_need_the_bound_tokenizer(small_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(small_model, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(small_model)
    ids = tokenizer("Count: 1, 2,", return_tensors="pt")
    kwargs = {**ids, "max_new_tokens": 2, "do_sample": False, "stop_strings": ["\n"],
              "pad_token_id": tokenizer.eos_token_id}
    with pytest.raises(ValueError, match="tokenizer"):
        model.generate(**kwargs)  # transformers refuses stop strings without a tokenizer
    trl_patches.bind_generate_tokenizer(model, tokenizer)
    assert model.generate(**kwargs).shape[1] <= ids["input_ids"].shape[1] + 2


# --- the patches themselves ---------------------------------------------------------------------

def test_backend_and_engine_swaps_are_scoped_and_restored_on_error():
    backend, engine = grpo_trainer.VLLMGeneration, getattr(vllm_generation, "LLM", None)
    with pytest.raises(RuntimeError), trl_patches.generation_backend(dict), \
            trl_patches.engine_factory(list):
        assert grpo_trainer.VLLMGeneration is dict and vllm_generation.LLM is list
        raise RuntimeError("trainer construction failed")
    assert grpo_trainer.VLLMGeneration is backend
    assert getattr(vllm_generation, "LLM", None) is engine


class _Policy:
    def generate(self, **kwargs):
        return ("class", sorted(kwargs))


def test_policy_generate_leaves_no_instance_attribute_behind():
    policy = _Policy()
    with trl_patches.policy_generate(policy, lambda **kw: "prefill"):
        assert policy.generate() == "prefill"
    assert "generate" not in vars(policy)  # the class method again, not a pinned bound copy
    assert policy.generate(a=1) == ("class", ["a"])


def test_policy_generate_restores_a_bound_tokenizer():
    policy = _Policy()
    trl_patches.bind_generate_tokenizer(policy, "tok")
    with trl_patches.policy_generate(policy, lambda **kw: "prefill"):
        assert policy.generate() == "prefill"
    assert policy.generate(a=1) == ("class", ["a", "tokenizer"])


def test_replaced_on_a_module_without_the_name_removes_it_again():
    module = SimpleNamespace()
    with trl_patches.replaced(module, "LLM", list):
        assert module.LLM is list
    assert not hasattr(module, "LLM")
