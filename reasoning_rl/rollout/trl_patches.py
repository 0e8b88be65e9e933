"""Every change reasoning_rl makes inside TRL, or to the policy's `generate`, in one module.

TRL 1.16 builds its generation backend inside `GRPOTrainer.__init__` from module-level names and
takes no backend or engine arguments, and its transformers sampler calls the policy's `generate`
with no way to add a keyword. So four patches remain, each either scoped to a block (restored
when it ends, also on error) or bound to one model object:

1. `generation_backend(cls)`: while a trainer is built, `trl.trainer.grpo_trainer.VLLMGeneration`
   is `cls`: the CPU colocate subclass (`rollout/vllm_cpu.py`) or the async stream, which
   starts no engine (`rollout/online/hooks.py`).
2. `engine_factory(build)`: while a trainer is built, `trl.generation.vllm_generation.LLM` is
   `build`, which adds the engine arguments TRL leaves out (`rollout/vllm_cpu.py`).
3. `bind_generate_tokenizer(model, tokenizer)`: transformers needs the tokenizer in `generate`
   for `stop_strings`; TRL does not pass it.
4. `policy_generate(model, fn)`: while open, the policy's `generate` is `fn` (the shared-prefix
   prefill, `objective/shared_prefix.py`), so other callers such as evaluation are untouched.

Why not TRL's public `rollout_func` for the async path: with `use_vllm` TRL still builds its own
engine next to it and pushes weights to that engine every step, and without `use_vllm` it turns
off the vLLM importance-sampling correction that stale async rollouts need.
`tests/rollout/test_trl_patches.py` fails when TRL or transformers stop calling things the way
these patches rely on.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

_ABSENT = object()


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.name` is `value` while open; afterwards what was there (or nothing) again.

    >>> from types import SimpleNamespace
    >>> box = SimpleNamespace(a=1)
    >>> with replaced(box, "a", 2), replaced(box, "b", 3):
    ...     (box.a, box.b)
    (2, 3)
    >>> box
    namespace(a=1)
    """
    # An instance attribute is looked up in its __dict__ only: restoring a class-level method
    # as an instance attribute would pin a stale bound method on the object.
    before = vars(owner).get(name, _ABSENT) if hasattr(owner, "__dict__") else _ABSENT
    setattr(owner, name, value)
    try:
        yield
    finally:
        if before is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, before)


def generation_backend(cls: type) -> contextlib.AbstractContextManager[None]:
    """While open, `GRPOTrainer.__init__` builds `cls` as its vLLM generation backend."""
    from trl.trainer import grpo_trainer

    return replaced(grpo_trainer, "VLLMGeneration", cls)


def engine_factory(build: Callable[..., Any]) -> contextlib.AbstractContextManager[None]:
    """While open, TRL's colocated backend calls `build(...)` where it calls `vllm.LLM(...)`."""
    from trl.generation import vllm_generation

    return replaced(vllm_generation, "LLM", build)


def policy_generate(model: Any, fn: Callable[..., Any]) -> contextlib.AbstractContextManager[None]:
    """While open, `model.generate` is `fn` (on this instance only)."""
    return replaced(model, "generate", fn)


def bind_generate_tokenizer(model: Any, tokenizer: Any) -> None:
    """From now on the policy's `generate` gets `tokenizer=` (for `stop_strings`) by default.

    >>> from types import SimpleNamespace
    >>> model = SimpleNamespace(generate=lambda **kw: sorted(kw))
    >>> bind_generate_tokenizer(model, "tok")
    >>> model.generate(max_new_tokens=4)
    ['max_new_tokens', 'tokenizer']
    """
    model.generate = functools.partial(model.generate, tokenizer=tokenizer)
