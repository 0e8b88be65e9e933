"""Generation backends: n samples per prompt, greedy copies, seeds; vLLM missing is exit 2."""

from __future__ import annotations

import pytest

from reasoning_rl.cli import main
from reasoning_rl.eval.generation import (
    Sampling,
    TransformersBackend,
    open_backend,
    vllm_available,
)
from reasoning_rl.model.loading import resolve_model_path
from reasoning_rl.recipe.errors import UserError

PROMPTS = [[{"role": "user", "content": "Name a colour."}],
           [{"role": "user", "content": "What is 2 + 3? Answer briefly."}]]


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    return TransformersBackend(resolve_model_path("embedded:smollm2-135m-instruct"),
                               batch_size=2)


def test_sampling_gives_n_completions_per_prompt_reproducibly(backend):
    sampling = Sampling(n=3, temperature=1.0, max_new_tokens=8, seed=1)
    first = backend.generate(PROMPTS, sampling)
    assert [len(group) for group in first] == [3, 3]
    assert all(0 < c.tokens <= 8 and isinstance(c.text, str) for g in first for c in g)
    assert backend.generate(PROMPTS, sampling) == first  # same seed, same samples


def test_greedy_copies_for_n_and_ignores_batching(backend):
    groups = backend.generate(PROMPTS, Sampling(n=2, temperature=0.0, max_new_tokens=8))
    assert all(group[0] == group[1] for group in groups)
    one_by_one = TransformersBackend.from_loaded(backend.model, backend.tokenizer, batch_size=1)
    assert one_by_one.generate(PROMPTS, Sampling(max_new_tokens=8)) == [g[:1] for g in groups]


def test_model_mode_is_restored(backend):
    backend.model.train()
    backend.generate(PROMPTS[:1], Sampling(max_new_tokens=2))
    assert backend.model.training
    backend.model.eval()


@pytest.mark.skipif(vllm_available(), reason="vllm is installed here")
def test_vllm_missing_is_a_clear_user_error(capsys):
    with pytest.raises(UserError, match="vllm is not installed"):
        open_backend("vllm", "unused")
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks", "gsm8k",
                 "--backend", "vllm", "--data-dir", "/nonexistent"])
    assert code == 2  # missing files are reported first; then the backend
    code = main(["eval", "--model", "embedded:smollm2-135m-instruct", "--benchmarks", "humaneval",
                 "--backend", "vllm", "--limit", "1"])
    assert code == 2 and "vllm is not installed" in capsys.readouterr().err
