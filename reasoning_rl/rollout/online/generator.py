"""The generator process: a vLLM engine that runs ahead of the learner and takes new weights
between engine steps, without dropping the requests in flight.

Why a hand-written step loop rather than `LLM.generate`: `generate` returns only when every
request is done, so weights could change only between batches. Driving `LLMEngine.step()`
ourselves lets a new policy version land after any decoding step: the tokens decoded after it
come from the new weights (the KV cache of earlier tokens stays, as in Magistral's and
PipelineRL's in-flight updates), and each completion records the version that produced its
first and its last token. The behaviour log-probs vLLM returns are those of the policy that
actually sampled each token, which is what the learner's importance-sampling correction needs.

Bounded staleness is enforced here, before generation: batch b (trained at step b) may start only
once version b - K is loaded, so no first token is older than K versions when it is trained on.

A LoRA policy arrives as an adapter folder. Every request names one LoRA slot (id 1); a new
version replaces the adapter in that slot between two engine steps (`remove_lora`, `add_lora`),
so running requests decode their next tokens with it, as a full-weight reload does.
"""

from __future__ import annotations

import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_rl.rollout.online.transport import adapter_path, latest_version, load_version

POLL_S = 0.01  # how often an idle generator looks for new weights or new prompts


@dataclass
class EngineSpec:
    """Everything the generator process needs (plain data: it crosses a process boundary)."""

    model: str
    dtype: str
    seed: int  # the run seed: request seeds derive from it
    max_model_len: int | None
    max_num_seqs: int
    sampling: dict[str, Any]  # vLLM SamplingParams keyword arguments, as TRL builds them
    max_staleness: int
    weights_dir: str
    parent_pid: int
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    lora_rank: int | None = None  # set: versions are LoRA adapters of at most this rank


@dataclass
class BatchPlan:
    """One generation batch: its step, prompt token ids (one row per sample) and seeds."""

    step: int
    prompt_ids: list[list[int]]
    seeds: list[int]


@dataclass
class Rollouts:
    """What the generator sends back for one `BatchPlan`."""

    step: int
    prompt_ids: list[list[int]]
    completion_ids: list[list[int]]
    logprobs: list[list[float]]
    first_version: list[int]
    last_version: list[int]
    generate_s: float
    idle_s: float
    reload_s: list[float]


LORA_SLOT = 1  # the one adapter id every request uses; its contents change with each version


class EngineState:
    """The engine plus the policy version it holds; `refresh()` loads a newer version if any."""

    def __init__(self, llm: Any, weights_dir: Path, adapters: bool = False) -> None:
        self.llm = llm
        self.weights_dir = weights_dir
        self.adapters = adapters
        self.lora_request: Any = None  # adapters: the request naming the loaded version
        self.version: int | None = None
        self.reload_s: list[float] = []
        self.dirty_cache = False

    def refresh(self) -> bool:
        """Load the newest published weights in place; True when the version changed."""
        newest = latest_version(self.weights_dir)
        if newest is None or newest == self.version:
            return False
        start = time.perf_counter()
        try:
            self._load_adapter(newest) if self.adapters else self._load_weights(newest)
        except FileNotFoundError:  # pruned between reading the pointer and opening: retry later
            return False
        self.version = newest
        self.dirty_cache = True
        self.reload_s.append(time.perf_counter() - start)
        return True

    def _load_weights(self, version: int) -> None:
        from reasoning_rl.rollout.vllm_cpu import repack_tied_head

        tensors = load_version(self.weights_dir, version)
        self.llm.collective_rpc("reload_weights",
                                kwargs={"weights_iterator": iter(tensors.items())})
        self.llm.apply_model(repack_tied_head)

    def _load_adapter(self, version: int) -> None:
        from vllm.lora.request import LoRARequest

        path = adapter_path(self.weights_dir, version)
        if not (path / "adapter_config.json").is_file():
            raise FileNotFoundError(path)
        engine = self.llm.llm_engine
        request = LoRARequest("policy", LORA_SLOT, str(path))
        if self.lora_request is not None:
            engine.remove_lora(LORA_SLOT)
        engine.add_lora(request)  # loads now: running requests see it from the next step
        self.lora_request = request


def build_engine(spec: EngineSpec) -> Any:
    """A vLLM engine in this process (no engine-core subprocess), CPU-friendly arguments.

    A missing model folder is refused first, before vLLM is imported: the error then names the
    folder, wherever vLLM is installed or not, instead of whatever the engine start hits first.
    """
    from reasoning_rl.model.loading import resolve_model_path

    resolve_model_path(spec.model)  # UserError naming a local folder that does not exist
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # reload_weights needs the model in-process
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    from vllm import LLM

    lora = {}
    if spec.lora_rank is not None:
        lora = {"enable_lora": True, "max_loras": 1, "max_lora_rank": spec.lora_rank}
    # Engine seed 0 as TRL's colocate engine on rank 0; every request carries its own seed anyway.
    return LLM(model=spec.model, dtype=spec.dtype, seed=0, enforce_eager=True,
               max_model_len=spec.max_model_len, max_num_seqs=spec.max_num_seqs,
               max_num_batched_tokens=4096, logprobs_mode="processed_logprobs",
               **lora, **spec.engine_kwargs)


def wait_for_version(state: EngineState, needed: int, parent_pid: int) -> float:
    """Block until the engine holds version >= `needed`; return the seconds spent idle."""
    start = time.perf_counter()
    while True:
        state.refresh()
        if state.version is not None and state.version >= needed:
            return time.perf_counter() - start
        if not _alive(parent_pid):
            raise SystemExit("generator: the learner process is gone")
        time.sleep(POLL_S)


def generate_batch(state: EngineState, plan: BatchPlan, sampling: dict[str, Any]) -> Rollouts:
    """Decode one batch step by step, loading new weights between steps (in flight)."""
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    if state.dirty_cache:  # nothing is running now: cached prompt blocks of old weights go
        state.llm.reset_prefix_cache()
        state.dirty_cache = False
    engine = state.llm.llm_engine
    ids = [f"{plan.step}-{row}" for row in range(len(plan.prompt_ids))]
    for request_id, prompt, seed in zip(ids, plan.prompt_ids, plan.seeds, strict=True):
        params = SamplingParams(**sampling, seed=seed, output_kind=RequestOutputKind.CUMULATIVE)
        engine.add_request(request_id, {"prompt_token_ids": prompt}, params,
                           lora_request=state.lora_request)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    done: dict[str, Any] = {}
    start = time.perf_counter()
    while engine.has_unfinished_requests():
        state.refresh()  # an in-flight update: requests keep running on the new weights
        for out in engine.step():
            if out.outputs and out.outputs[0].token_ids:
                first.setdefault(out.request_id, state.version)
            if out.finished:
                done[out.request_id], last[out.request_id] = out.outputs[0], state.version
    return Rollouts(
        step=plan.step, prompt_ids=plan.prompt_ids,
        completion_ids=[list(done[i].token_ids) for i in ids],
        logprobs=[sampled_logprobs(done[i]) for i in ids],
        first_version=[first.get(i, last[i]) for i in ids],
        last_version=[last[i] for i in ids],
        generate_s=time.perf_counter() - start, idle_s=0.0, reload_s=[],
    )


def sampled_logprobs(completion: Any) -> list[float]:
    """The log-prob of each sampled token (vLLM's processed log-probs, after temperature)."""
    return [float(step[token].logprob)
            for token, step in zip(completion.token_ids, completion.logprobs, strict=True)]


def run_generator(spec: EngineSpec, plans: Any, results: Any) -> None:
    """Process entry point: generate each `BatchPlan` from `plans` into `results`, forever.

    `None` on `plans` stops it. An exception is sent to the learner as text before exiting.
    """
    try:
        state = EngineState(build_engine(spec), Path(spec.weights_dir),
                            adapters=spec.lora_rank is not None)
        results.put(("ready", None))
        while True:
            waiting = time.perf_counter()  # idle: no prompts yet, or the K bound holds us back
            plan = _next_plan(plans, state, spec.parent_pid)
            if plan is None:
                return
            wait_for_version(state, plan.step - spec.max_staleness, spec.parent_pid)
            idle = time.perf_counter() - waiting
            rollouts = generate_batch(state, plan, spec.sampling)
            rollouts.idle_s, rollouts.reload_s = idle, state.reload_s
            state.reload_s = []  # each reload is reported once, with the next batch
            results.put(("batch", rollouts))
    except BaseException as exc:  # reported to the learner, which stops the run
        results.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


def _next_plan(plans: Any, state: EngineState, parent_pid: int) -> BatchPlan | None:
    """Wait for the next plan, loading weights that arrive meanwhile."""
    while True:
        try:
            return plans.get(timeout=0.2)
        except queue.Empty:
            state.refresh()
            if not _alive(parent_pid):
                raise SystemExit("generator: the learner process is gone") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
