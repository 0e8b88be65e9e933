"""Writing an evaluation's results for people and programs: JSON, Markdown, PNG, samples.

Why: `results.json` is what scripts compare across runs; the Markdown table is what goes into
a README or a pull request; the chart is what one looks at; `samples.jsonl` keeps every
completion with its grade, so a surprising number can be traced to the answers behind it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAIN_COLUMNS = ("problems", "samples", "pass@1", "pass@1_lenient", "maj@", "pass@",
                "format_rate", "language_consistency", "language_judged",
                "language_no_words", "mean_tokens")


def write_report(out_dir: Path, results: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """Write results.json, results.md, results.png and samples.jsonl into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (out_dir / "results.md").write_text(markdown_table(results))
    with open(out_dir / "samples.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    plot(results, out_dir / "results.png")


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    ordered = []
    for prefix in MAIN_COLUMNS:
        ordered += [k for k in keys if k == prefix or (
            prefix.endswith("@") and k.startswith(prefix) and not k.startswith("pass@1"))]
    return list(dict.fromkeys(ordered))


def _cell(value: Any) -> str:
    if value is None:  # a rate over no samples (e.g. no sample had words to judge)
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(results: dict[str, Any]) -> str:
    """One Markdown table: a line per benchmark, then per subject, level and language.

    >>> r = {"benchmarks": {"gsm8k": {"metrics": {"problems": 2, "pass@1": 0.5}, "by": {}}}}
    >>> print(markdown_table(r).splitlines()[2])
    | gsm8k | 2 | 0.500 |
    """
    lines: list[tuple[str, dict[str, Any]]] = []
    for name, bench in results["benchmarks"].items():
        lines.append((name, bench["metrics"]))
        for key, groups in bench.get("by", {}).items():
            if len(groups) > 1:  # one group would repeat the benchmark's own line
                lines += [(f"{name} / {key}={value}", m) for value, m in groups.items()]
    columns = _columns([m for _, m in lines])
    out = ["| benchmark | " + " | ".join(columns) + " |",
           "|---" * (len(columns) + 1) + "|"]
    for label, m in lines:
        out.append(f"| {label} | " + " | ".join(_cell(m.get(c, "")) for c in columns) + " |")
    return "\n".join(out) + "\n"


BARS = (("pass@1", "pass@1 strict"), ("pass@1_lenient", "pass@1 lenient"),
        ("language_consistency", "language consistency"))


def chart_groups(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, metrics) per bar group: each benchmark, and each language of a multilingual one.

    >>> r = {"benchmarks": {"mgsm": {"metrics": {}, "by": {"lang": {"en": {}, "fr": {}}}}}}
    >>> [label for label, _ in chart_groups(r)]
    ['mgsm', 'mgsm/en', 'mgsm/fr']
    """
    groups = []
    for name, bench in results["benchmarks"].items():
        groups.append((name, bench["metrics"]))
        langs = bench.get("by", {}).get("lang", {})
        if len(langs) > 1:
            groups += [(f"{name}/{lang}", m) for lang, m in langs.items()]
    return groups


def plot(results: dict[str, Any], path: Path) -> None:
    """Bar chart per benchmark and per language: strict and lenient pass@1, consistency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = chart_groups(results)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(groups)), 3.8))
    width = 0.8 / len(BARS)
    for i, (key, label) in enumerate(BARS):
        xs = [x + (i - 1) * width for x in range(len(groups))]
        ax.bar(xs, [m.get(key) or 0.0 for _, m in groups], width=width, label=label)
    ax.set_xticks(list(range(len(groups))), [label for label, _ in groups], rotation=30,
                  ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share")
    ax.set_title(f"{results.get('config', {}).get('model', '')}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
