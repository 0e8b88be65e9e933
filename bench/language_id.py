"""The language judge's accuracy and cost with its candidate languages, in one run.

    .venv/bin/python -m bench.language_id [--data-dir ../shared/data] [--cost-against REV]

Accuracy (`rewards.language`, candidates: COMMON_LANGUAGES (30) plus the language judged; MGSM
detection: all 75 languages lingua knows):
  pieces   MGSM's 2750 questions (11 languages) cut into the pieces the judge reads, and 110
           short thinking-like strings written for this bench ("31 plus 45 makes 76."): the
           share that reads as its own language (should be 1) and, over the 10 other MGSM
           languages, the share that reads as another one (should be 0).
  judge    MGSM is parallel: problem i in language L, "thinking" = problem i in language W.
           The judge should never say consistent when W != L; when W == L the thinking
           restates the problem, which has no words of its own (NO_WORDS), so ~0 there too.
           Honest text the problem does not share words with (its names are exempt from the
           foreign-word rule): "thinking" = problem i+1 in L, and each short string as the
           thinking for problem i in its language; both should be consistent.
Cost (`--cost-against REV`, e.g. the commit before the judge): a reward batch of 64 completions
(MGSM questions as thinking, a short summary), format + correctness + length + language, with
the language component of REV (its candidates: the batch's languages plus English) and with
today's, alternated in one process; medians of 21 runs, wall seconds and the language part's
CPU seconds (every thread's). Before each of today's runs the caches of pieces and problems are
cleared (``TEXT_CACHES``); the word caches (lingua's and wordfreq's verdict on one word, a
letter's script) stay warm, as they are a few steps into training.
"cold" is today's judge with every cache cleared (only lingua's loaded models kept), as on a
run's first batch of new words. REV's judge caches only its detectors. Then lingua's full and
low-accuracy modes on MGSM's long script runs (``mode_speed``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import time
import types
from collections import defaultdict
from pathlib import Path

from rewards import language, language_id, prose, total
from rewards.language import Verdict, judge
from rewards.language_id import detect, reads_as
from rewards.prose import judged_pieces, prose_pieces

MGSM_LANGS = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
# Short thinking, the way a small model writes it: two operands, an operator word, a result.
THINKING = {
    "en": ["{a} plus {b} makes {c}.", "{a} minus {b} leaves {c}."],
    "de": ["{a} plus {b} ergibt {c}.", "{a} minus {b} bleiben {c}."],
    "fr": ["{a} plus {b} font {c}.", "{a} moins {b} donne {c}."],
    "es": ["{a} más {b} son {c}.", "{a} menos {b} quedan {c}."],
    "ru": ["{a} плюс {b} будет {c}.", "{a} минус {b} остаётся {c}."],
    "zh": ["{a} 加 {b} 等于 {c}。", "{a} 减 {b} 剩下 {c}。"],
    "ja": ["{a} たす {b} は {c} です。", "{a} ひく {b} は {c} になります。"],
    "th": ["{a} บวก {b} เท่ากับ {c}", "{a} ลบ {b} เหลือ {c}"],
    "bn": ["{a} যোগ {b} সমান {c}।", "{a} থেকে {b} বাদ দিলে থাকে {c}।"],
    "te": ["{a} కి {b} కలిపితే {c} వస్తుంది.", "{a} నుండి {b} తీసివేస్తే {c} మిగులుతుంది."],
    "sw": ["{a} jumlisha {b} ni {c}.", "{a} toa {b} inabaki {c}."],
}
OPERANDS = [(31, 45, 76), (7, 5, 12), (120, 35, 155), (64, 27, 91), (9, 8, 17)]
SUMMARY = {"en": "The answer is", "de": "Die Antwort ist", "fr": "La réponse est",
           "es": "La respuesta es", "ru": "Ответ:", "zh": "答案是", "ja": "答えは",
           "th": "คำตอบคือ", "bn": "উত্তর হল", "te": "సమాధానం", "sw": "Jibu ni"}


def thinking_strings() -> list[tuple[str, str]]:
    """(language, text) pairs: every template with every operand triple.

    >>> len(thinking_strings()) == len(THINKING) * 2 * len(OPERANDS)
    True
    """
    return [(lang, template.format(a=a, b=b, c=c)) for lang, templates in THINKING.items()
            for template in templates for a, b, c in OPERANDS]


def piece_rates(pairs: list[tuple[str, str]]) -> dict[str, tuple[float, float, int]]:
    """Per language and 'all': (share reading as its own language, share of (piece, other
    MGSM language) pairs reading as the other, pieces)."""
    own: dict[str, list[bool]] = defaultdict(list)
    other: dict[str, list[bool]] = defaultdict(list)
    for lang, text in pairs:
        for piece in judged_pieces(prose_pieces(text)):
            own[lang].append(reads_as(piece, lang))
            other[lang] += [reads_as(piece, w) for w in MGSM_LANGS if w != lang]
    own["all"] = [v for k in list(own) for v in own[k]]
    other["all"] = [v for k in list(other) for v in other[k]]
    return {k: (statistics.fmean(own[k]), statistics.fmean(other[k]), len(own[k])) for k in own}


def judge_matrix(mgsm: list[dict], per_language: int) -> dict[str, tuple[float, ...]]:
    """Per problem language: share consistent when the thinking is the same problem in the
    same language, the same problem in another language, the next problem in the same
    language, and a short thinking string in the same language."""
    by = {(r["lang"], r["id"].rsplit("_", 1)[-1]): r["question"] for r in mgsm}
    ids = sorted({i for _, i in by}, key=int)[:per_language]
    out = {}
    for lang in MGSM_LANGS:
        same, other = [], []
        for i in ids:
            for w in MGSM_LANGS:
                thinking = by[(w, i)]
                ok = judge(by[(lang, i)], thinking, f"{SUMMARY[w]} \\boxed{{1}}.",
                           lang).verdict is Verdict.CONSISTENT
                (same if w == lang else other).append(ok)
        following = [judge(by[(lang, i)], by[(lang, j)], f"{SUMMARY[lang]} \\boxed{{1}}.",
                           lang).verdict is Verdict.CONSISTENT
                     for i, j in zip(ids, ids[1:], strict=False)]
        short = [judge(by[(lang, ids[0])], text, f"{SUMMARY[lang]} \\boxed{{1}}.",
                       lang).verdict is Verdict.CONSISTENT
                 for w, text in thinking_strings() if w == lang]
        out[lang] = tuple(map(statistics.fmean, (same, other, following, short)))
    out["all"] = tuple(statistics.fmean(column) for column in zip(*out.values(), strict=True))
    return out


def module_at(rev: str) -> types.ModuleType:
    """`rewards/language.py` as it was at git revision `rev`, loaded as a module."""
    source = subprocess.run(["git", "show", f"{rev}:rewards/language.py"], check=True,
                            capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    module = types.ModuleType(f"language_at_{rev}")
    exec(compile(source, f"{rev}:rewards/language.py", "exec"), module.__dict__)  # noqa: S102
    return module


def reward_batch(mgsm: list[dict], size: int = 64) -> list[total.Sample]:
    """16 problems x 4 samples over the 11 languages; one sample in 4 thinks in English. The
    thinking is the next MGSM problem's text (in the problem's language, or English): the
    problem's own text would be a restatement, which the judge never reads."""
    rows = [r for r in mgsm if int(r["id"].rsplit("_", 1)[-1]) < 16][::11][:size // 4]
    text_of = {(r["lang"], int(r["id"].rsplit("_", 1)[-1])): r["question"] for r in mgsm}
    samples = []
    for row in rows:
        following = int(row["id"].rsplit("_", 1)[-1]) + 1
        for k in range(4):
            thinking = text_of[("en" if k == 3 else row["lang"], following)]
            text = f"<think>{thinking}</think> {SUMMARY[row['lang']]} \\boxed{{{row['answer']}}}."
            samples.append(total.Sample(row["question"], text, "math", str(row["answer"]),
                                        lang=row["lang"]))
    return samples


# Today's judge's caches: of whole pieces and problems, and of single words and letters.
TEXT_CACHES = (language_id.confidences, language_id.reading_languages, language._problem_words,
               language._judged_text, language._runs, language._own_in, language._cached_share)
WORD_CACHES = (language._foreign_word, language._zipf, prose._script)


def cost(samples: list[total.Sample], old: types.ModuleType, repeats: int = 21) -> dict:
    """Median seconds of a whole reward batch and of its language part, REV's and today's, and
    the language part's CPU seconds."""
    languages = old.languages_for(s.lang for s in samples)

    def old_language(checks):
        return [0.1 if c.passed and old.is_consistent(s.prompt, c.thinking, c.answer,
                                                      languages, s.lang) else 0.0
                for s, c in zip(samples, checks, strict=True)]

    def batch(language_part):
        start = time.perf_counter()
        checks = total.format_checks(samples)
        total.correctness_scores(samples, checks)
        total.length_scores(samples, checks)
        middle, cpu = time.perf_counter(), time.process_time()
        scores = language_part(checks)
        end = time.perf_counter()
        return end - start, end - middle, time.process_time() - cpu, scores

    first = {"old": batch(old_language)[0],  # models load on first use
             "new": batch(lambda checks: total.language_scores(samples, checks))[0]}
    runs: dict[str, list[tuple[float, float, float]]] = {"old": [], "new": [], "cold": []}
    for _ in range(repeats):
        for name, caches in (("new", TEXT_CACHES), ("cold", TEXT_CACHES + WORD_CACHES)):
            for cache in caches:
                cache.cache_clear()  # no help from repeated pieces across runs
            runs[name].append(batch(lambda checks: total.language_scores(samples, checks))[:3])
        runs["old"].append(batch(old_language)[:3])
    result = {"first_s": first, "peak_rss_gb": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1e6}
    for name, values in runs.items():
        result[name] = {"batch_s": statistics.median(v[0] for v in values),
                        "language_s": statistics.median(v[1] for v in values),
                        "language_cpu_s": statistics.median(v[2] for v in values)}
    for name in ("new", "cold"):
        suffix = "" if name == "new" else "_cold"
        result["batch_ratio" + suffix] = result[name]["batch_s"] / result["old"]["batch_s"]
        result["language_ratio" + suffix] = result[name]["language_s"] / result["old"]["language_s"]
    return result


def mode_speed(mgsm: list[dict], per_language: int = 100) -> dict:
    """Lingua's full and low-accuracy modes on MGSM's script runs of ``LOW_ACCURACY_CHARS`` or
    more (up to ``per_language`` each), among the judge's candidates: ms per run (warm, the
    second of two passes) and the share whose top language is the run's own."""
    runs = defaultdict(list)
    for row in mgsm:
        for piece in judged_pieces(prose_pieces(row["question"])):
            runs[row["lang"]] += [run for run in prose.script_runs(piece)
                                  if len(run) >= language_id.LOW_ACCURACY_CHARS]
    result = {}
    for low in (False, True, False, True):
        start, own, count = time.perf_counter(), 0, 0
        for lang, found in runs.items():
            detector = language_id._detector(language_id.candidates_for([lang]), low)
            for run in found[:per_language]:
                best = detector.compute_language_confidence_values(run)[0].language
                own += best.iso_code_639_1.name.lower() == lang
                count += 1
        result["low" if low else "full"] = {"runs": count, "own_top": own / count,
                                            "ms_per_run": (time.perf_counter() - start) / count
                                            * 1e3}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] /
                                                  "shared" / "data"))
    parser.add_argument("--per-language", type=int, default=20)
    parser.add_argument("--cost-against", default=None, metavar="REV")
    args = parser.parse_args()
    mgsm = [json.loads(line) for line in Path(args.data_dir, "mgsm.jsonl").read_text(
        encoding="utf-8").splitlines()]
    if args.cost_against:
        print(json.dumps(cost(reward_batch(mgsm), module_at(args.cost_against)), indent=1))
        print("lingua's modes on long runs:", json.dumps(mode_speed(mgsm)))
    start = time.perf_counter()
    detected = statistics.fmean(detect(r["question"]) == r["lang"] for r in mgsm)
    print(f"MGSM questions detected as their language among all 75: {detected:.4f} "
          f"({time.perf_counter() - start:.1f} s for {len(mgsm)})")
    print("\n| lang | MGSM pieces: own | other | n | thinking: own | other | n "
          "| judge: problem restated, consistent (no words by design) | other language consistent "
          "| next problem consistent | short string consistent |")
    print("|---" * 11 + "|")
    pieces = piece_rates([(r["lang"], r["question"]) for r in mgsm])
    short = piece_rates(thinking_strings())
    matrix = judge_matrix(mgsm, args.per_language)
    for lang in [*MGSM_LANGS, "all"]:
        same, other, following, brief = matrix[lang]
        print(f"| {lang} | {pieces[lang][0]:.3f} | {pieces[lang][1]:.4f} | {pieces[lang][2]} "
              f"| {short[lang][0]:.3f} | {short[lang][1]:.4f} | {short[lang][2]} "
              f"| {same:.3f} | {other:.4f} | {following:.3f} | {brief:.3f} |")
    misses = [(lang, text) for lang, text in thinking_strings() if not reads_as(text, lang)]
    print("\nshort strings not read as their language:", misses[:6])


if __name__ == "__main__":
    main()
