"""Writing an evaluation's results for people and programs: JSON, Markdown, PNG, samples.

Why: `results.json` is what scripts compare across runs; the Markdown table is what goes into
a README or a pull request; the chart is what one looks at; `samples.jsonl` keeps every
completion with its grade, so a surprising number can be traced to the answers behind it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAIN_COLUMNS = ("problems", "samples", "pass@1", "maj@", "pass@", "format_failure_rate",
                "language_consistency", "mean_tokens")


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
        ordered += [k for k in keys if k == prefix or (prefix.endswith("@") and
                                                       k.startswith(prefix) and k != "pass@1")]
    return list(dict.fromkeys(ordered))


def _cell(value: Any) -> str:
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


def plot(results: dict[str, Any], path: Path) -> None:
    """Bar chart of pass@1 (and maj@K where measured) per benchmark and per language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, pass1, maj = [], [], []
    for name, bench in results["benchmarks"].items():
        groups = [(name, bench["metrics"])]
        langs = bench.get("by", {}).get("lang", {})
        if len(langs) > 1:
            groups += [(f"{name}/{lang}", m) for lang, m in langs.items()]
        for label, m in groups:
            labels.append(label)
            pass1.append(m["pass@1"])
            maj.append(next((v for k, v in m.items() if k.startswith("maj@")), None))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(labels)), 3.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], pass1, width=0.4, label="pass@1 (mean)")
    ax.bar([x + 0.2 for x in xs], [m or 0.0 for m in maj], width=0.4, label="maj@K")
    ax.set_xticks(list(xs), labels, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(f"{results.get('config', {}).get('model', '')}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
