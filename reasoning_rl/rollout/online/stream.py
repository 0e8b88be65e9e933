"""Learner side of async rollouts: feed the generator prompts ahead of time, publish weights
after each optimizer step, and hand TRL completed batches as if it had generated them itself.

Why this seam: TRL's GRPOTrainer asks its `vllm_generation` object for two things only:
`sync_weights()` when the policy changed and `generate(prompt_ids)` for a batch. Answering those
from a separate generator process leaves everything else on the sync path untouched: rewards,
the Magistral (or TRL) objective, group filtering, the truncated importance-sampling correction
against the engine's behaviour log-probs, logging and checkpoints. The generator runs ahead on
the same data order (TRL's own sampler), so the learner checks each delivered batch against the
prompts TRL asks for and stops on any mismatch rather than training on the wrong rows.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reasoning_rl.rollout.online.generator import BatchPlan, EngineSpec, Rollouts, run_generator
from reasoning_rl.rollout.online.transport import WeightPublisher
from reasoning_rl.rollout.seeding import request_seeds

WAIT_SLICE_S = 1.0  # how often a waiting learner checks that the generator is alive


class GeneratorFailed(RuntimeError):
    """The generator process died, reported an error, or delivered nothing in time."""


def plan_prompts(trainer: Any) -> Iterator[list[list[int]]]:
    """Prompt token ids of the batch each optimizer step generates for, step 0 onwards.

    The same sampler TRL's dataloader uses (seeded, repeated per generation), chunked into the
    dataloader's batches; with `steps_per_generation = S` only every S-th batch is generated for.
    """
    args = trainer.args
    per_batch = trainer._train_batch_size * args.steps_per_generation
    sampler = trainer._get_train_sampler()
    for _epoch in itertools.count():  # each pass draws the next epoch's shuffle, as TRL's does
        indices = list(iter(sampler))
        batches = [indices[i:i + per_batch] for i in range(0, len(indices), per_batch)]
        for batch in batches[::args.steps_per_generation]:
            prompts = [trainer.train_dataset[int(i)]["prompt"] for i in batch]
            yield trainer._tokenize_prompts(prompts)[0]


class RolloutStream:
    """Owns the generator process, the weight publisher and the per-step rollout metrics."""

    def __init__(self, spec: EngineSpec, trainer: Any, timeout_s: float) -> None:
        self.spec, self.trainer, self.timeout_s = spec, trainer, timeout_s
        self.publisher = WeightPublisher(Path(spec.weights_dir))
        self._plans_iter = plan_prompts(trainer)
        self._planned = -1  # highest step whose prompts were sent
        self._first_step: int | None = None
        self._last_take = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch state
        self._plans, self._results = ctx.Queue(), ctx.Queue()
        # Not a daemon: daemonic processes may not start children, and vLLM may. `close` runs
        # at exit (and at train end); the generator also exits when this process is gone.
        self.process = ctx.Process(target=run_generator, args=(spec, self._plans, self._results),
                                   name="reasoning-rl-generator")
        self.process.start()
        atexit.register(self.close)

    # -- weights -----------------------------------------------------------------------------

    def publish(self, named_tensors: Iterator[tuple[str, Any]]) -> None:
        """Publish the learner's weights as version = global step, then plan ahead."""
        step = self.trainer.state.global_step
        self._metric("online/weight_sync_s", self.publisher.publish(step, named_tensors))
        self._metric("online/weight_sync_mb", self.publisher.last_bytes / 2**20)
        self._plan_until(step + self.spec.max_staleness)

    def publish_adapter(self, peft_model: Any) -> None:
        """Publish a LoRA policy's adapter alone as version = global step, then plan ahead."""
        step = self.trainer.state.global_step
        self._metric("online/weight_sync_s", self.publisher.publish_adapter(step, peft_model))
        self._metric("online/weight_sync_mb", self.publisher.last_bytes / 2**20)
        self._plan_until(step + self.spec.max_staleness)

    # -- batches -----------------------------------------------------------------------------

    def take(self, prompt_ids: list[list[int]]) -> Rollouts:
        """The generated batch for the current step; its prompts must be `prompt_ids`."""
        step = self.trainer.state.global_step
        self._plan_until(step + self.spec.max_staleness)
        waited = time.perf_counter()
        rollouts = self._receive(step)
        now = time.perf_counter()
        if [list(p) for p in rollouts.prompt_ids] != [list(p) for p in prompt_ids]:
            raise GeneratorFailed(
                f"step {step}: the generator's prompts differ from the trainer's batch (data "
                f"order changed, e.g. resuming in a later epoch); rollout.mode: sync avoids this")
        self._log_batch(step, rollouts, idle=now - waited, cycle=now - self._last_take)
        self._last_take = now
        return rollouts

    def _receive(self, step: int) -> Rollouts:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                kind, payload = self._results.get(timeout=WAIT_SLICE_S)
            except queue.Empty:
                if not self.process.is_alive():
                    raise GeneratorFailed(f"the generator process exited (code "
                                          f"{self.process.exitcode}) before step {step}") from None
                if time.monotonic() > deadline:
                    raise GeneratorFailed(
                        f"no rollouts for step {step} within rollout.batch_timeout_s="
                        f"{self.timeout_s:g}s (engine stalled or weight transfer stuck)") from None
                continue
            if kind == "error":
                raise GeneratorFailed(f"the generator failed: {payload}")
            if kind == "ready":
                deadline = time.monotonic() + self.timeout_s  # engine start is not a stall
            elif payload.step == step:
                return payload
            elif payload.step > step:
                raise GeneratorFailed(f"expected rollouts for step {step}, got {payload.step}")

    def _plan_until(self, last_step: int) -> None:
        """Send the prompts of every step up to `last_step` that the generator lacks."""
        if self._first_step is None:  # first call: skip the steps a resumed run already did
            self._first_step = self.trainer.state.global_step
            for _ in range(self._first_step):
                next(self._plans_iter)
            self._planned = self._first_step - 1
        while self._planned < last_step:
            step = self._planned + 1
            prompts = next(self._plans_iter)
            seeds = request_seeds(self.spec.seed, step, 0, len(prompts))
            self._plans.put(BatchPlan(step=step, prompt_ids=prompts, seeds=seeds))
            self._planned = step

    # -- metrics and shutdown ----------------------------------------------------------------

    def _log_batch(self, step: int, rollouts: Rollouts, idle: float, cycle: float) -> None:
        staleness = [step - v for v in rollouts.first_version]
        limit = self.spec.max_staleness
        if max(staleness) > limit:  # the generator's back-pressure makes this impossible
            raise GeneratorFailed(f"step {step}: a sample is {max(staleness)} versions old, "
                                  f"over rollout.max_staleness={limit}")
        for k in range(limit + 1):
            self._metric(f"online/staleness_hist/{k}", staleness.count(k) / len(staleness))
        self._metric("online/staleness_mean", sum(staleness) / len(staleness))
        self._metric("online/staleness_max", float(max(staleness)))
        inflight = [b - a for a, b in zip(rollouts.first_version, rollouts.last_version,
                                                  strict=True)]
        self._metric("online/inflight_updates_mean", sum(inflight) / len(inflight))
        self._metric("online/learner_idle_frac", idle / max(cycle, 1e-9))
        busy = rollouts.generate_s + rollouts.idle_s
        self._metric("online/generator_idle_frac", rollouts.idle_s / max(busy, 1e-9))
        self._metric("online/queue_depth", float(self._results.qsize()))
        if rollouts.reload_s:
            self._metric("online/engine_reload_s", sum(rollouts.reload_s) / len(rollouts.reload_s))

    def _metric(self, name: str, value: float) -> None:
        self.trainer._metrics["train"][name].append(float(value))

    def close(self) -> None:
        """Stop the generator and delete the published weights."""
        if self.process.is_alive():
            self._plans.put(None)
            self.process.join(timeout=30)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=10)
        self.publisher.clear()
        with contextlib.suppress(OSError):  # our default folder; a user's folder may hold more
            Path(self.spec.weights_dir).rmdir()
