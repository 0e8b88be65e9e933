"""Honest programs pass (issue 20): classes, generators, callbacks, in-place mutation, richer
data and the program's own exceptions, on both sandbox paths. Each task also runs as a "null"
variant (every function and class of the program replaced by one that does nothing), which must
fail: the tests pin the answers, so a pass means the judge really served the program.
"""

from __future__ import annotations

import re

import pytest
from sandbox_honest_tasks import CLASS_TASKS, DATA_TASKS, GENERATOR_TASKS, MUTATION_TASKS

from rewards.sandbox import judge

TASKS = {**{f"class-{k}": v for k, v in CLASS_TASKS.items()},
         **{f"generator-{k}": v for k, v in GENERATOR_TASKS.items()},
         **{f"mutation-{k}": v for k, v in MUTATION_TASKS.items()},
         **{f"data-{k}": v for k, v in DATA_TASKS.items()}}

NULL = '''
class _Null:
    def __init__(self, *args, **kwargs):
        pass
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
    def __call__(self, *args, **kwargs):
        return None
    def __iter__(self):
        return iter(())
    def __len__(self):
        return 0
def _nothing(*args, **kwargs):
    return None
'''


def null_variant(program: str) -> str:
    """The program with every top-level function and (non-exception) class doing nothing."""
    names = re.findall(r"^(?:def|class) (\w+)|^(\w+) = ", program, flags=re.MULTILINE)
    rebind = [f"{name} = (_Null if isinstance({name}, type) and not issubclass({name}, "
              f"BaseException) else _nothing if callable({name}) else {name})"
              for name in {a or b for a, b in names}]
    return program + NULL + "\n".join(rebind) + "\n"


def test_the_suite_has_30_class_tasks_and_generator_and_mutation_tasks():
    assert len(CLASS_TASKS) >= 30 and len(GENERATOR_TASKS) >= 5 and len(MUTATION_TASKS) >= 5


@pytest.mark.parametrize("task", sorted(TASKS))
def test_honest_program_passes_and_its_null_variant_fails(sandbox_path, task):
    program, tests = TASKS[task]
    honest = judge(program, tests, stop_at_first_failure=False)
    assert honest.via == sandbox_path
    assert honest.status == "ok", honest.verdicts
    null = judge(null_variant(program), tests, stop_at_first_failure=False)
    assert null.status != "ok", null.verdicts
