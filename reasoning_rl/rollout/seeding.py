"""One sampling seed per rollout request, so a batch's samples do not depend on who draws them.

Why: vLLM samples a request without its own seed from the engine's global random state, which
the engine shares with whatever else runs in its process (in colocate mode: the trainer). The
same prompts then give different samples in the synchronous path (engine inside the learner)
and the asynchronous one (engine in its own process). Seeding each request from (run seed,
step, round, row) makes the samples a function of the data order alone, in both paths.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any


def request_seeds(run_seed: int, step: int, round_index: int, count: int) -> list[int]:
    """`count` 31-bit seeds for the rows of one generation call.

    >>> request_seeds(0, 5, 0, 3) == request_seeds(0, 5, 0, 3)
    True
    >>> len(set(request_seeds(0, 5, 0, 4) + request_seeds(0, 6, 0, 4)))
    8
    """
    # String seeds go through SHA-512 in `random.Random`: the same in every process and release.
    rng = random.Random(f"reasoning-rl/{run_seed}/{step}/{round_index}")
    return [rng.getrandbits(31) for _ in range(count)]


def seeded_params(params: Any, seeds: list[int]) -> list[Any]:
    """One copy of vLLM `SamplingParams` per seed (the request-level `seed` field set).

    >>> from types import SimpleNamespace as NS
    >>> [p.seed for p in seeded_params(NS(seed=None, clone=lambda: NS(seed=None)), [7, 8])]
    [7, 8]
    """
    out = []
    for seed in seeds:
        copy = params.clone()
        copy.seed = seed
        out.append(copy)
    return out


class SeededLLM:
    """Wraps a vLLM `LLM` so that `generate(prompts, sampling_params=...)` seeds each request.

    `next_seeds(n)` gives the seeds of the next call's `n` requests. Everything else is the
    wrapped engine's.
    """

    def __init__(self, llm: Any, next_seeds: Callable[[int], list[int]]) -> None:
        self._llm = llm
        self._next_seeds = next_seeds

    def generate(self, prompts: list, sampling_params: Any = None, **kwargs: Any) -> Any:
        """vLLM's `LLM.generate` with one seeded copy of `sampling_params` per prompt."""
        if sampling_params is not None and not isinstance(sampling_params, list):
            sampling_params = seeded_params(sampling_params, self._next_seeds(len(prompts)))
        return self._llm.generate(prompts, sampling_params=sampling_params, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)


def bind_request_seeds(generation: Any, run_seed: int, step_of: Callable[[], int]) -> None:
    """Make a colocated TRL `VLLMGeneration` seed every request from (seed, step, round, row).

    `step_of()` returns the trainer's current global step; calls within one step (Magistral
    refill rounds) are numbered 0, 1, ... so each gets its own seeds.

    >>> from types import SimpleNamespace as NS
    >>> seeds_of = lambda prompts, sampling_params, **kw: [p.seed for p in sampling_params]
    >>> gen = NS(llm=NS(generate=seeds_of))
    >>> bind_request_seeds(gen, 0, lambda: 3)
    >>> params = NS(clone=lambda: NS(seed=None))
    >>> gen.llm.generate(["a"], sampling_params=params) == request_seeds(0, 3, 0, 1)
    True
    """
    rounds: dict[int, int] = {}

    def next_seeds(count: int) -> list[int]:
        step = step_of()
        round_index = rounds.get(step, 0)
        rounds.clear()  # only the current step's counter matters
        rounds[step] = round_index + 1
        return request_seeds(run_seed, step, round_index, count)

    generation.llm = SeededLLM(generation.llm, next_seeds)
