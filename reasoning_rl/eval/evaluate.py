"""`reasoning-rl eval`: sample K answers per benchmark problem, grade them, report the metrics.

Why: a trained reasoner is judged the way Magistral reports it: pass@1 averaged over K samples,
maj@K for math, unbiased pass@k for code, plus how often the format gate fails and how long the
answers are; per benchmark, per subject and level where the data has them, and per language.
Generation goes through `generation` (transformers or vLLM, same prompts) and grading through
`grading` (the `rewards` package), so these numbers and the training reward agree.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reasoning_rl.data.prompting import build_prompt, prompt_texts, stop_strings
from reasoning_rl.eval.benchmarks import load_benchmark, select_rows
from reasoning_rl.eval.grading import Graded, grade
from reasoning_rl.eval.pass_at_k import ks_for, majority_correct, mean_pass_at_1, pass_at_k
from reasoning_rl.recipe.errors import UserError
from reasoning_rl.recipe.prompt_section import PromptSection
from rewards.language_id import run_languages

GROUP_KEYS = ("subject", "level", "lang")


@dataclass
class EvalOptions:
    """What to evaluate and how to sample (the `eval` command's flags)."""

    model: str
    benchmarks: list[str]
    samples: int = 1
    max_new_tokens: int = 512
    temperature: float | None = None  # None: 0 (greedy) for one sample, else 0.7 (Magistral)
    top_p: float = 1.0
    limit: int | None = None
    langs: list[str] | None = None
    backend: str = "auto"
    dtype: str = "float32"
    batch_size: int = 8
    seed: int = 0
    data_dir: str | None = None
    output_dir: str = "eval_results"
    prompt: PromptSection = field(default_factory=PromptSection)

    @property
    def sampling_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.samples == 1 else 0.7


def metrics(graded: Sequence[Sequence[Graded]], task: str) -> dict[str, Any]:
    """Metrics of a set of problems, each with the same number of graded samples.

    `pass@1` is strict (format gate and answer, what the reward pays), `pass@1_lenient` counts
    a right answer wherever it is; `language_consistency` is over the samples judged
    (`language_judged`), and None when none was: a rate of 0.0 would read as "every sample in the
    wrong language" for a run whose thinking is numbers only; `language_no_words` counts the
    samples left out because a part has no words.

    >>> g = lambda ok, ans: Graded(True, ok, ans, 10, lenient=ok)
    >>> m = metrics([[g(True, "4"), g(False, "5")], [g(False, "1"), g(False, "1")]], "math")
    >>> m["pass@1"], m["pass@1_lenient"], m["pass@2"], m["maj@2"], m["format_rate"]
    (0.25, 0.25, 0.5, 0.0, 1.0)
    """
    samples = [s for group in graded for s in group]
    n = min((len(group) for group in graded), default=0)
    correct = [[bool(s.correct) for s in group] for group in graded]
    judged = [s.language_ok for s in samples if s.language_ok is not None]
    result: dict[str, Any] = {"problems": len(graded), "samples": len(samples),
                              "pass@1": mean_pass_at_1(correct),
                              "pass@1_lenient": _mean([float(s.lenient) for s in samples])}
    for k in ks_for(n)[1:]:
        result[f"pass@{k}"] = _mean([pass_at_k(len(c), sum(c), k) for c in correct])
    if task == "math" and n > 1:
        result[f"maj@{n}"] = _mean([float(majority_correct([s.answer for s in group], c))
                                    for group, c in zip(graded, correct, strict=True)])
    result["format_rate"] = _mean([float(s.format_ok) for s in samples])
    result["language_consistency"] = _mean([float(ok) for ok in judged]) if judged else None
    result["language_judged"] = len(judged)
    result["language_no_words"] = len(samples) - len(judged)
    result["mean_tokens"] = _mean([float(s.tokens) for s in samples])
    result["unscorable"] = sum(s.correct is None for s in samples)
    return result


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def breakdown(rows: Sequence[dict[str, Any]], graded: Sequence[Sequence[Graded]], task: str
              ) -> dict[str, dict[str, dict[str, Any]]]:
    """Metrics per subject, per level and per language, for the keys the rows have.

    >>> rows = [{"lang": "en", "meta": {}}, {"lang": "fr", "meta": {}}]
    >>> sorted(breakdown(rows, [[Graded(True, True, "1", 3)]] * 2, "math")["lang"])
    ['en', 'fr']
    """
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for key in GROUP_KEYS:
        groups: dict[str, list[Sequence[Graded]]] = {}
        for row, group in zip(rows, graded, strict=True):
            value = (row.get("lang") or "en") if key == "lang" else row.get("meta", {}).get(key)
            if value is not None:
                groups.setdefault(str(value), []).append(group)
        if groups:
            result[key] = {name: metrics(g, task) for name, g in sorted(groups.items())}
    return result


def evaluate_rows(backend, rows: list[dict[str, Any]], options: EvalOptions
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Generate, grade and summarise one benchmark; returns (results, per-problem records)."""
    from reasoning_rl.eval.generation import Sampling

    sampling = Sampling(n=options.samples, temperature=options.sampling_temperature,
                        top_p=options.top_p, max_new_tokens=options.max_new_tokens,
                        seed=options.seed,
                        stop=tuple(stop_strings(options.prompt, backend.tokenizer)))
    started = time.monotonic()
    completions = backend.generate(
        [build_prompt(r["prompt"], options.prompt, backend.tokenizer) for r in rows], sampling)
    generated = time.monotonic()
    languages = run_languages((r.get("lang") for r in rows), prompt_texts(options.prompt))
    graded = grade(rows, completions, languages=languages)
    task = rows[0].get("task") or "math"
    result = {"task": task, "metrics": metrics(graded, task),
              "by": breakdown(rows, graded, task),
              "seconds": {"generate": round(generated - started, 1),
                          "grade": round(time.monotonic() - generated, 1)}}
    records = [{"prompt": r["prompt"], "answer": r["answer"], "lang": r.get("lang"),
                "meta": r.get("meta", {}),
                "samples": [{"text": c.text, **asdict(g)} for c, g in zip(cs, gs, strict=True)]}
               for r, cs, gs in zip(rows, completions, graded, strict=True)]
    return result, records


def load_selected(options: EvalOptions) -> dict[str, list[dict[str, Any]]]:
    """Every requested benchmark's rows, filtered by language and limited (errors first)."""
    selected = {}
    for name in options.benchmarks:
        rows = select_rows(load_benchmark(name, options.data_dir), langs=options.langs,
                           limit=options.limit)
        if not rows:
            raise UserError(f"benchmark {name}: no rows left after --langs "
                            f"{','.join(options.langs or [])}")
        selected[name] = rows
    return selected


def run(options: EvalOptions) -> dict[str, Any]:
    """The whole `eval` command: results.json, results.md, results.png, samples.jsonl."""
    from reasoning_rl.eval.generation import open_backend
    from reasoning_rl.eval.report import write_report
    from reasoning_rl.model.loading import resolve_model_path

    if options.samples < 1:
        raise UserError("--samples: expected an integer >= 1")
    selected = load_selected(options)
    backend = open_backend(options.backend, resolve_model_path(options.model),
                           dtype=options.dtype, batch_size=options.batch_size, seed=options.seed)
    results: dict[str, Any] = {"config": _config(options, type(backend).__name__),
                               "benchmarks": {}}
    records: list[dict[str, Any]] = []
    for name, rows in selected.items():
        results["benchmarks"][name], problem_records = evaluate_rows(backend, rows, options)
        records += [{"benchmark": name, **r} for r in problem_records]
    write_report(Path(options.output_dir), results, records)
    return results


def _config(options: EvalOptions, backend: str) -> dict[str, Any]:
    config = asdict(options)
    config.pop("prompt")
    config.update(backend=backend, temperature=options.sampling_temperature)
    return config


def add_eval_parser(commands) -> None:
    """The `eval` subcommand's flags."""
    p = commands.add_parser("eval", help="evaluate a model on benchmarks (pass@k, maj@k)")
    p.add_argument("--model", required=True, help="model folder, hub name or embedded:NAME")
    p.add_argument("--benchmarks", required=True,
                   help="comma list: math500,aime24,amc23,gsm8k,mgsm,humaneval,mbpp or files")
    p.add_argument("--samples", type=int, default=1, help="samples per problem (K)")
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--temperature", type=float, default=None,
                   help="default: 0 (greedy) with one sample, else 0.7")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--limit", type=int, default=None,
                   help="first N problems per benchmark (per language when it has several)")
    p.add_argument("--langs", default=None, help="comma list of languages to keep, e.g. en,fr")
    p.add_argument("--backend", default="auto", choices=["auto", "transformers", "vllm"])
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16", "auto"])
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generate call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="benchmark folder (default ../shared/data)")
    p.add_argument("--output-dir", default="eval_results")
    p.add_argument("--recipe", default=None,
                   help="take the evaluation prompt (eval.prompt, else prompt) from this recipe")


def run_eval(args: argparse.Namespace) -> int:
    """`reasoning-rl eval`: run and print the Markdown table."""
    from reasoning_rl.eval.report import markdown_table

    prompt = PromptSection()
    if args.recipe:
        from reasoning_rl.recipe.config import load_recipe

        recipe = load_recipe(args.recipe)
        prompt = recipe.eval.prompt_for(recipe.prompt)  # evaluate as the recipe's evals do
    options = EvalOptions(
        model=args.model, benchmarks=_split(args.benchmarks), samples=args.samples,
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
        limit=args.limit, langs=_split(args.langs) or None, backend=args.backend,
        dtype=args.dtype, batch_size=args.batch_size, seed=args.seed, data_dir=args.data_dir,
        output_dir=args.output_dir, prompt=prompt)
    results = run(options)
    print(markdown_table(results), end="")
    print(f"results: {options.output_dir}/results.json, results.md, results.png")
    return 0


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
