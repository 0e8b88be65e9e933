"""The `reasoning-rl data` subcommands: flags, and thin handlers over the curation modules.

Why: the CLI should only turn flags into calls; each step's logic lives in its own module and
can be used from Python directly.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _io_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="canonical rows, .jsonl or .parquet")
    p.add_argument("--output", required=True, help="where to write rows, .jsonl or .parquet")


def _model_flags(p: argparse.ArgumentParser, max_new_tokens: int) -> None:
    p.add_argument("--model", required=True, help="model folder, hub name or embedded:NAME")
    p.add_argument("--backend", default="auto", choices=["auto", "transformers", "vllm"])
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16", "auto"])
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generate call")
    p.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    p.add_argument("--seed", type=int, default=0)


def add_data_parser(commands) -> None:
    """`data prepare | filter-difficulty | translate | decontaminate`."""
    data = commands.add_parser("data", help="curate training data").add_subparsers(
        dest="data_command", required=True)
    p = data.add_parser("prepare", help="turn a local file or hub dataset into canonical rows")
    p.add_argument("--input", required=True, help=".jsonl/.json/.parquet file or hub owner/name")
    p.add_argument("--output", required=True, help="where to write rows, .jsonl or .parquet")
    p.add_argument("--split", default="train", help="hub dataset split")
    p.add_argument("--columns", default=None,
                   help="canonical=column list, e.g. prompt=question,answer=answer_number")
    p.add_argument("--task", default="math", choices=["math", "code"], help="for rows without one")
    p.add_argument("--lang", default="", help="ISO 639-1 code for rows without one")
    p.add_argument("--answer-after", default=None,
                   help="keep only the answer text after this marker (GSM8K: '####')")
    p.add_argument("--limit", type=int, default=None, help="first N rows")
    f = data.add_parser("filter-difficulty", help="keep problems with a pass rate in a band")
    _io_flags(f)
    _model_flags(f, 1024)
    f.add_argument("--samples", type=int, default=8, help="answers sampled per problem (K)")
    f.add_argument("--temperature", type=float, default=0.7)
    f.add_argument("--min-pass-rate", type=float, default=0.0, help="keep rates above this")
    f.add_argument("--max-pass-rate", type=float, default=1.0, help="keep rates below this")
    f.add_argument("--wrong-majority", type=float, default=0.5,
                   help="drop math problems where one wrong answer has more than this share")
    f.add_argument("--recipe", default=None, help="take the prompt section from this recipe")
    t = data.add_parser("translate", help="add translated copies of some English problems")
    _io_flags(t)
    _model_flags(t, 1024)
    t.add_argument("--fraction", type=float, default=0.1, help="share of English rows")
    t.add_argument("--langs", default="fr,es,it,de,zh,ru", help="target languages, comma list")
    d = data.add_parser("decontaminate", help="drop problems that overlap evaluation sets")
    _io_flags(d)
    d.add_argument("--against", default="math500,aime24,amc23,gsm8k,humaneval,mbpp",
                   help="benchmarks (names or files) to compare with")
    d.add_argument("--ngram", type=int, default=8, help="n-gram size in words")
    d.add_argument("--threshold", type=float, default=0.5,
                   help="drop when this share of a problem's n-grams is in one eval problem")
    d.add_argument("--data-dir", default=None, help="benchmark folder (default ../shared/data)")


def run_data(args: argparse.Namespace) -> int:
    """Dispatch `reasoning-rl data <command>`."""
    handlers = {"prepare": _prepare, "filter-difficulty": _filter, "translate": _translate,
                "decontaminate": _decontaminate}
    return handlers[args.data_command](args)


def _backend(args: argparse.Namespace):
    from reasoning_rl.eval.generation import open_backend
    from reasoning_rl.model.loading import resolve_model_path

    return open_backend(args.backend, resolve_model_path(args.model), dtype=args.dtype,
                        batch_size=args.batch_size, seed=args.seed)


def _prepare(args: argparse.Namespace) -> int:
    from reasoning_rl.curation.prepare import PrepareOptions, parse_columns, prepare
    from reasoning_rl.curation.rows_io import write_rows
    from reasoning_rl.data.dataset import read_records
    from reasoning_rl.recipe.errors import UserError

    local = args.input.endswith((".jsonl", ".json", ".parquet"))
    if local and not Path(args.input).is_file():
        raise UserError(f"--input {args.input}: file not found")
    options = PrepareOptions(parse_columns(args.columns), args.task, args.lang,
                             args.answer_after, args.limit)
    rows = prepare(read_records(args.input, args.split, args.limit), args.input, options)
    write_rows(rows, args.output)
    langs = sorted({row["lang"] or "?" for row in rows})
    print(f"wrote {len(rows)} canonical rows to {args.output} (languages: {', '.join(langs)})")
    return 0


def _filter(args: argparse.Namespace) -> int:
    from reasoning_rl.curation.filter_difficulty import (
        DifficultyOptions,
        filter_difficulty,
        summarize,
    )
    from reasoning_rl.curation.rows_io import read_rows, write_rows
    from reasoning_rl.recipe.prompt_section import PromptSection

    rows = read_rows(args.input)
    prompt = PromptSection()
    if args.recipe:
        from reasoning_rl.recipe.config import load_recipe

        prompt = load_recipe(args.recipe).prompt
    options = DifficultyOptions(
        samples=args.samples, temperature=args.temperature, max_new_tokens=args.max_new_tokens,
        min_pass_rate=args.min_pass_rate, max_pass_rate=args.max_pass_rate,
        wrong_majority=args.wrong_majority, chunk=args.batch_size, seed=args.seed, prompt=prompt)
    scores = Path(str(args.output) + ".scores.jsonl")
    kept = filter_difficulty(rows, _backend(args), scores, options)
    write_rows(kept, args.output)
    print(f"kept {len(kept)} of {len(rows)} problems {summarize(rows, scores)}; "
          f"per-problem scores: {scores}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from reasoning_rl.curation.rows_io import read_rows, write_json, write_rows
    from reasoning_rl.curation.translate import translate_rows

    rows = read_rows(args.input)
    copies, rejected = translate_rows(
        rows, _backend(args), fraction=args.fraction,
        langs=[x.strip() for x in args.langs.split(",") if x.strip()], seed=args.seed,
        max_new_tokens=args.max_new_tokens)
    english = [{**row, "lang": row.get("lang") or "en"} for row in rows]
    write_rows(english + copies, args.output)
    report = Path(str(args.output) + ".translate_report.json")
    write_json({"accepted": len(copies), "rejected": rejected}, report)
    print(f"added {len(copies)} translated rows, rejected {len(rejected)}; report: {report}")
    return 0


def _decontaminate(args: argparse.Namespace) -> int:
    from reasoning_rl.curation.decontaminate import decontaminate
    from reasoning_rl.curation.rows_io import read_rows, write_json, write_rows
    from reasoning_rl.eval.benchmarks import load_benchmark
    from reasoning_rl.recipe.errors import UserError

    if not 0 < args.threshold <= 1 or args.ngram < 1:
        raise UserError("--threshold must be in (0, 1] and --ngram >= 1")
    rows = read_rows(args.input)
    names = [x.strip() for x in args.against.split(",") if x.strip()]
    eval_sets = {name: load_benchmark(name, args.data_dir) for name in names}
    kept, removed = decontaminate(rows, eval_sets, n=args.ngram, threshold=args.threshold)
    write_rows(kept, args.output)
    report = Path(str(args.output) + ".decontamination.json")
    write_json({"input_rows": len(rows), "kept": len(kept), "removed": removed,
                "ngram": args.ngram, "threshold": args.threshold, "against": names}, report)
    print(f"removed {len(removed)} of {len(rows)} problems; report: {report}")
    return 0
