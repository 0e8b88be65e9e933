"""bench/gpu_wheels.py: which wheels travel to a lent GPU machine (computed, not listed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_pins_are_the_training_path_minus_what_the_machine_has():
    done = subprocess.run([sys.executable, "-m", "bench.gpu_wheels", "--print-pins"], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    pins = dict(line.split("==") for line in done.stdout.split())
    assert set(pins) == {"trl", "datasets", "dill", "multiprocess", "xxhash", "math-verify",
                         "latex2sympy2-extended", "antlr4-python3-runtime"}
    # pinned to what the tests run with, including the ANTLR runtime math-verify's extra names
    assert pins["trl"] == "1.16.0" and pins["antlr4-python3-runtime"] == "4.13.2"
