"""The real data folder that some tests read (MBPP, GSM8K, MATH-500, AIME, AMC, MGSM).

Why a helper that fails: those tests used to skip when the folder was missing, so CI stayed
green without the MBPP, benchmark and decontamination coverage they exist for. The folder is
found as the project finds it (`reasoning_rl.eval.benchmarks.data_dir`: `$REASONING_RL_DATA`,
else `../shared/data` next to the working directory or the repository); missing, a test that
needs it fails with the path and how to provide it. A developer without the data can set
`REASONING_RL_SKIP_DATA_TESTS=1` to skip those tests instead; `.ci/run` unsets it, so CI never
skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reasoning_rl.eval.benchmarks import DATA_ENV, data_dir

SKIP_ENV = "REASONING_RL_SKIP_DATA_TESTS"
# Every file of the folder that a test reads (data/README.md lists where they come from).
DATA_FILES = ("gsm8k_test.jsonl", "math500_test.jsonl", "aime24.jsonl", "amc23.jsonl",
              "mbpp_sanitized.jsonl", "mgsm.jsonl")


def require_data(*names: str) -> Path:
    """The data folder holding `names` (default: every file the tests read).

    Fails the calling test when one is missing; skips it instead only when $SKIP_ENV is "1".
    """
    folder = data_dir()
    missing = [name for name in names or DATA_FILES if not (folder / name).is_file()]
    if not missing:
        return folder
    message = (f"real data missing: {', '.join(missing)} not found in {folder}. Put the shared "
               f"data folder at ../shared/data next to the repository, or point ${DATA_ENV} at "
               f"it; to skip the tests that need it on a machine without it (never in CI), set "
               f"{SKIP_ENV}=1")
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)
