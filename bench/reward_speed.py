"""Benchmark the reward package side by side with its baselines, in one run.

    .venv/bin/python bench/reward_speed.py [--math 1000] [--code 100] [--math-baseline DIR]

Math: our worker-pool verification vs TRL's ``accuracy_reward`` on the same MATH-500 based
completions (correct and perturbed); with ``--math-baseline`` (a copy of an earlier checkout,
e.g. ``git archive main | tar x -C /tmp/base``) also this grader against that one, turn about
in one run (``--math-only`` skips code and language). Code: sandboxed executions per
second on MBPP, and the per-run cost of the sandbox against a bare ``subprocess`` run.
Language ID: lingua (ours) vs langid on hand-written sentences. The machine is shared, so
compare the ratios, not the rates.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rewards import code_exec, language_id, math_answer, sandbox
from rewards.sandbox import launcher

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

SENTENCES = {
    "en": ["Two plus two makes four.", "Let us check each case carefully before answering.",
           "The triangle has three equal sides, so every angle measures sixty degrees."],
    "fr": ["Deux et deux font quatre.", "Vérifions chaque cas avec soin avant de répondre.",
           "Le triangle a trois côtés égaux, donc chaque angle mesure soixante degrés."],
    "es": ["Dos más dos son cuatro.", "Comprobemos cada caso con cuidado antes de responder.",
           "El triángulo tiene tres lados iguales, así que cada ángulo mide sesenta grados."],
    "it": ["Due più due fa quattro.", "Controlliamo ogni caso con attenzione prima di rispondere.",
           "Il triangolo ha tre lati uguali, quindi ogni angolo misura sessanta gradi."],
    "de": ["Zwei plus zwei ergibt vier.", "Prüfen wir jeden Fall sorgfältig, bevor wir antworten.",
           "Das Dreieck hat drei gleiche Seiten, also misst jeder Winkel sechzig Grad."],
    "zh": ["二加二等于四。", "在回答之前，让我们仔细检查每一种情况。",
           "这个三角形三条边相等，所以每个角都是六十度。"],
    "ru": ["Два плюс два равно четырём.",
           "Проверим каждый случай внимательно, прежде чем ответить.",
           "У треугольника три равные стороны, значит каждый угол равен шестидесяти градусам."],
}


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def bench_math(count: int) -> dict:
    from trl.rewards import accuracy_reward

    rows = _rows("math500_test.jsonl")
    answers = [(r["answer"], True) for r in rows] + [(r["answer"] + "+1", False) for r in rows]
    answers = (answers * (count // len(answers) + 1))[:count]
    references = [r["answer"] for r in rows] * 2
    references = (references * (count // len(references) + 1))[:count]
    completions = [f"<think>Working it out.</think> The answer is $\\boxed{{{a}}}$."
                   for a, _ in answers]
    math_answer.check_many(completions[:4], references[:4])  # start the workers
    start = time.perf_counter()
    ours = math_answer.check_many(completions, references)
    ours_s = time.perf_counter() - start
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    start = time.perf_counter()
    theirs = accuracy_reward([[{"content": c}] for c in completions],
                             [f"${r}$" for r in references])
    trl_s = time.perf_counter() - start
    expected = [ok for _, ok in answers]
    return {"items": count, "ours_per_s": count / ours_s, "trl_per_s": count / trl_s,
            "speedup": trl_s / ours_s,
            "ours_agree": sum((v is True) == e
                              for v, e in zip(ours, expected, strict=True)) / count,
            "trl_agree": sum((v == 1.0) == e
                             for v, e in zip(theirs, expected, strict=True)) / count}


# Run in a child with the baseline checkout first on its path: grade, print seconds as JSON.
_BASELINE_CHILD = textwrap.dedent("""
    import json, sys, time
    from rewards import math_answer
    completions, references = json.load(sys.stdin)
    math_answer.check_many(["<think>w</think> \\\\boxed{1}"] * 2, ["1", "2"])
    start = time.perf_counter()
    math_answer.check_many(completions, references)
    print(json.dumps(time.perf_counter() - start))
""")


def _math_set(count: int, perturb: bool) -> tuple[list[str], list[str], list[str], list[bool]]:
    """Completions (correct, and every other one +1 if ``perturb``), references, problems and
    expected verdicts."""
    rows = _rows("math500_test.jsonl")
    picked = (rows * (count // len(rows) + 1))[:count]
    wrong = [perturb and i % 2 == 1 for i in range(count)]
    completions = [f"<think>Working it out.</think> The answer is $\\boxed{{{r['answer']}"
                   f"{'+1' if w else ''}}}$." for r, w in zip(picked, wrong, strict=True)]
    return (completions, [r["answer"] for r in picked], [r["problem"] for r in picked],
            [not w for w in wrong])


def bench_math_baseline(count: int, baseline: Path, perturb: bool, repeats: int = 5) -> dict:
    """Seconds per completion, this grader vs the one in ``baseline``, fresh workers each turn."""
    completions, references, problems, expected = _math_set(count, perturb)
    env = {**os.environ, "PYTHONPATH": str(baseline)}
    ours: list[float] = []
    theirs: list[float] = []
    verdicts: list = []

    def run_ours() -> None:
        nonlocal verdicts
        if math_answer._pool is not None:
            math_answer._pool.close()
            math_answer._pool = None
        math_answer.check_many(["<think>w</think> \\boxed{1}"] * 2, ["1", "2"])
        start = time.perf_counter()
        verdicts = math_answer.check_many(completions, references, problems=problems)
        ours.append(time.perf_counter() - start)

    def run_theirs() -> None:
        child = subprocess.run([sys.executable, "-c", _BASELINE_CHILD], env=env, check=True,
                               input=json.dumps([completions, references]),
                               capture_output=True, text=True, cwd=baseline)
        theirs.append(json.loads(child.stdout.strip().splitlines()[-1]))

    for turn in range(repeats):  # alternate which goes first, so load drift hits both alike
        for run in (run_ours, run_theirs) if turn % 2 == 0 else (run_theirs, run_ours):
            run()
    return {"items": count, "ours_ms": 1000 * statistics.median(ours) / count,
            "baseline_ms": 1000 * statistics.median(theirs) / count,
            "ratio": statistics.median(ours) / statistics.median(theirs),
            "ours_agree": sum((v is True) == e for v, e in zip(verdicts, expected, strict=True))}


def _median_ms(runs: dict, repeats: int) -> dict[str, float]:
    """Median wall time of each run in ms, taken round-robin so that load shifts hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def _grade_mbpp(answers: list[str], tests: list, keys: list[str], warm: bool) -> tuple[list, float]:
    launcher.USE_ZYGOTE = warm
    try:
        start = time.perf_counter()
        rates = code_exec.grade_answers(answers, tests, keys)
        return rates, time.perf_counter() - start
    finally:
        launcher.USE_ZYGOTE = True


def _fresh_run(code: str, test: str) -> None:
    launcher.USE_ZYGOTE = False
    try:
        assert sandbox.run_python(code, test).via == "fresh"
    finally:
        launcher.USE_ZYGOTE = True


def bench_code(count: int) -> dict:
    rows = _rows("mbpp_sanitized.jsonl")[:count]
    # No test_imports: the programs import what they use.
    programs = [f"import math\n{r['test_setup_code']}\n{r['code']}" for r in rows]
    broken = [p.replace("return ", "return None and ", 1) for p in programs]
    answers = [f"```python\n{p}\n```" for p in programs + broken]
    tests = [r["test_list"] for r in rows] * 2
    keys = [r["text"] for r in rows] * 2
    load_before = os.getloadavg()
    rates, warm_s = _grade_mbpp(answers, tests, keys, warm=True)
    fresh_rates, fresh_s = _grade_mbpp(answers, tests, keys, warm=False)
    executions = sum(len(t) for t, rate in zip(tests, rates, strict=True) if rate == 1.0) + sum(
        1 for rate in rates if rate != 1.0)  # a failing program stops at its first failed test
    python = sandbox.capabilities().python
    tiny = "x = sum(range(1000))"
    ms = _median_ms({
        "bare": lambda: subprocess.run([python, "-I", "-S", "-c", tiny], check=True),
        "site": lambda: subprocess.run([python, "-c", tiny], check=True),
        "warm": lambda: sandbox.run_python(tiny, "assert x"),
        "warm_io": lambda: sandbox.run_python(tiny),
        "fresh": lambda: _fresh_run(tiny, "assert x")}, 30)
    return {"programs": len(answers), "references_pass": sum(r == 1.0 for r in rates[:count]),
            "broken_fail": sum(r != 1.0 for r in rates[count:]),
            "same_verdicts": rates == fresh_rates, "warm_exec_per_s": executions / warm_s,
            "fresh_exec_per_s": executions / fresh_s, "bare_ms": ms["bare"],
            "site_ms": ms["site"], "warm_ms": ms["warm"], "fresh_ms": ms["fresh"],
            "warm_io_ms": ms["warm_io"],
            "strong": sandbox.capabilities().strong,
            "load": f"{load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}"}


def bench_language(repeats: int = 20) -> dict:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
    identifier.set_languages(list(language_id.MAGISTRAL_LANGUAGES))
    cases = [(code, text) for code, texts in SENTENCES.items() for text in texts]
    language_id.detect("warm up")
    results = {}
    for name, detect in (("lingua", language_id.detect),
                         ("langid", lambda t: identifier.classify(t)[0])):
        correct = sum(detect(text) == code for code, text in cases)
        start = time.perf_counter()
        for _ in range(repeats):
            for _, text in cases:
                detect(text)
        rate = repeats * len(cases) / (time.perf_counter() - start)
        results[name] = {"accuracy": correct / len(cases), "texts_per_s": rate}
    results["sentences"] = len(cases)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--math", type=int, default=1000, help="math completions to grade")
    parser.add_argument("--code", type=int, default=100, help="MBPP tasks (x2: reference, broken)")
    parser.add_argument("--math-baseline", type=Path, help="checkout of an earlier grader")
    parser.add_argument("--math-only", action="store_true", help="skip code and language")
    parser.add_argument("--turns", type=int, default=5, help="turns each against the baseline")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, 1-min load "
          f"{os.getloadavg()[0]:.1f}")
    for perturb in (False, True) if args.math_baseline else ():
        b = bench_math_baseline(args.math, args.math_baseline.resolve(), perturb, args.turns)
        kind = "half right, half +1" if perturb else "all right"
        print(f"math vs baseline: {b['items']} completions, {kind} (median of {args.turns} turns, "
              f"alternating) | "
              f"ours {b['ours_ms']:.2f} ms, baseline {b['baseline_ms']:.2f} ms per completion "
              f"-> ratio x{b['ratio']:.2f} | ours agree with ground truth {b['ours_agree']}/"
              f"{b['items']} (1-min load now {os.getloadavg()[0]:.1f})")
    m = bench_math(args.math)
    print(f"math  : {m['items']} completions | ours {m['ours_per_s']:.0f}/s, TRL accuracy_reward "
          f"{m['trl_per_s']:.0f}/s -> ours x{m['speedup']:.2f} | agreement with ground truth: "
          f"ours {m['ours_agree']:.3f}, TRL {m['trl_agree']:.3f}")
    if args.math_only:
        return
    c = bench_code(args.code)
    print(f"code  : {c['programs']} MBPP programs, {c['references_pass']}/{args.code} references "
          f"pass, {c['broken_fail']}/{args.code} broken fail, same verdicts on both paths: "
          f"{c['same_verdicts']} | sandboxed executions/s: warm {c['warm_exec_per_s']:.1f}, "
          f"fresh {c['fresh_exec_per_s']:.1f} | per run (median of 30, round-robin): judged "
          f"assertion test, warm {c['warm_ms']:.1f} ms / fresh {c['fresh_ms']:.1f} ms; plain "
          f"program (I/O test), warm {c['warm_io_ms']:.1f} ms; bare "
          f"`python -I -S` {c['bare_ms']:.1f} ms, bare `python -c` {c['site_ms']:.1f} ms -> "
          f"overhead warm {c['warm_ms'] - c['bare_ms']:.1f} ms, fresh "
          f"{c['fresh_ms'] - c['bare_ms']:.1f} ms (strong isolation: {c['strong']}; 1-min load "
          f"{c['load']})")
    g = bench_language()
    print(f"lang  : {g['sentences']} sentences, 7 languages | lingua acc "
          f"{g['lingua']['accuracy']:.3f} at {g['lingua']['texts_per_s']:.0f}/s, langid acc "
          f"{g['langid']['accuracy']:.3f} at {g['langid']['texts_per_s']:.0f}/s -> lingua/langid "
          f"speed x{g['lingua']['texts_per_s'] / g['langid']['texts_per_s']:.2f}")


if __name__ == "__main__":
    main()
