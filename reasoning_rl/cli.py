"""The `reasoning-rl` command line.

Why: one console script with subcommands, each a thin layer over a library function, so what
the CLI does can also be done from Python. User mistakes (`UserError`) print one line and exit
with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from reasoning_rl.curation.cli import add_data_parser, run_data
from reasoning_rl.eval.evaluate import add_eval_parser, run_eval
from reasoning_rl.plan.launch import add_plan_parser, run_plan
from reasoning_rl.recipe.errors import USER_ERROR_EXIT_CODE, UserError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="reasoning-rl", description="Magistral-style reasoning RL on top of TRL.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="run a GRPO training recipe")
    train.add_argument("recipe", help="path to a recipe YAML file")
    train.epilog = "Override recipe values with key.sub=value (command line wins over the file)."
    # Overrides (key.sub=value, anywhere after the recipe) are collected in main(), because
    # argparse cannot mix optional flags with a trailing list of positionals.
    train.add_argument("--print-config", action="store_true",
                       help="print the fully resolved recipe and exit")
    train.add_argument("--resume", action="store_true",
                       help="continue from the run's last complete checkpoint")
    commands.add_parser("doctor", help="print what isolation this machine gives graded code")
    add_eval_parser(commands)
    add_data_parser(commands)
    add_plan_parser(commands)
    return parser


def run_train(args: argparse.Namespace) -> int:
    """`reasoning-rl train`."""
    import yaml

    from reasoning_rl.recipe.config import load_recipe, load_stages, to_dict

    recipe = load_recipe(args.recipe, args.overrides)
    if args.print_config:
        print(yaml.safe_dump(to_dict(recipe), sort_keys=False, allow_unicode=True), end="")
        return 0
    from reasoning_rl.training import train, train_stages

    if recipe.stages:
        stages = load_stages(args.recipe, args.overrides)
        for stage, summary in zip(stages, train_stages(stages, resume=args.resume), strict=True):
            print(f"stage finished: {stage.run_dir}/summary.json ({summary['steps']} steps)")
        return 0
    summary = train(recipe, resume=args.resume)
    print(f"run finished: {recipe.run_dir}/summary.json ({summary['steps']} steps)")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    """`reasoning-rl doctor`: the code sandbox's isolation here; exit 2 below the minimum."""
    from rewards.sandbox.isolation import doctor

    return doctor()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    flags = [e for e in extra if e.startswith("-")]
    if flags or (extra and args.command not in ("train", "plan")):
        parser.error(f"unrecognized arguments: {' '.join(flags or extra)}")
    args.overrides = extra
    handlers = {"train": run_train, "eval": run_eval, "data": run_data, "plan": run_plan,
                "doctor": run_doctor}
    try:
        code = handlers[args.command](args)
    except UserError as exc:
        for line in str(exc).splitlines():  # a RecipeError lists every problem, one per line
            print(f"error: {line}", file=sys.stderr)
        return USER_ERROR_EXIT_CODE
    leave_process_group()  # only after success: a barrier after one rank's error would hang
    return code


def leave_process_group() -> None:
    """Close torch.distributed's process group, if this process opened one, before exit.

    Left open, gloo's threads can abort the interpreter at shutdown ("terminate called without
    an active exception", signal 6) after every rank finished its work, and `accelerate launch`
    then reports a failed run. Torch is only looked at if something already imported it.
    """
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.barrier()  # no rank closes the group while another still talks over it
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
