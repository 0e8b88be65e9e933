"""bench/gpu_wheels.py: which wheels travel to a lent GPU machine (computed, not listed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_pins_are_the_training_path_minus_what_the_machine_has():
    done = subprocess.run([sys.executable, "-m", "bench.gpu_wheels", "--print-pins"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    pins = dict(line.split("==") for line in done.stdout.split())
    assert set(pins) == {"trl", "datasets", "dill", "multiprocess", "xxhash", "math-verify",
                         "latex2sympy2-extended", "antlr4-python3-runtime", "pebble"}
    # pinned to what the tests run with, including the ANTLR runtime math-verify's extra names
    assert pins["trl"] == "1.16.0" and pins["antlr4-python3-runtime"] == "4.13.2"


def _fake_wheel(folder: Path, name: str, version: str, requires: list[str]) -> None:
    import zipfile

    meta = "\n".join([f"Name: {name}", f"Version: {version}",
                      *(f"Requires-Dist: {r}" for r in requires)])
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{name}-{version}.dist-info/METADATA", meta)


def test_coverage_check_names_what_neither_the_folder_nor_the_machine_has(tmp_path):
    _fake_wheel(tmp_path, "datasets", "5.2.0",
                ["dill<0.4.2", "pandas", "trimesh; extra == 'mesh'", "fsspec<=2026.9.0"])
    _fake_wheel(tmp_path, "dill", "0.4.9", [])  # shipped, but outside datasets' range
    _fake_wheel(tmp_path, "trl", "1.16.0", ["nosuchpackage>=1"])
    code = ("import json, sys; from pathlib import Path; from bench.gpu_wheels import uncovered; "
            "print(json.dumps(uncovered(Path(sys.argv[1]))))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # pandas and fsspec are on the machine (fsspec through torch); trimesh is an unused extra
    assert sorted(json.loads(done.stdout)) == [
        "datasets needs dill<0.4.2, ships dill 0.4.9",
        "trl needs nosuchpackage>=1: not shipped, not on the machine"]
