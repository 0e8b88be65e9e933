"""Red-team round 3, part 1: descriptors a run inherits, and the fallback to the fresh path.

The hole (main before issue 20): on the fresh-process path the harness duplicated the tests'
memfd onto fd 0 but left the original descriptor open, so a task-independent program could
``os.pread`` it, parse the asserts and answer every call from a lookup table. The fallback to
that path (fork server without a pid in time, or gone) was silent. Every test here runs on both
paths (``sandbox_path``) and on a forced fallback.
"""

from __future__ import annotations

import pytest
from sandbox_attack_support import PERIMETER, assert_honest_passes, attack, mbpp, reference

from rewards import sandbox
from rewards.sandbox import launcher
from rewards.sandbox.zygote import ZygoteUnavailable

# Reads every descriptor the program holds, finds `name(args) == expected` in whatever text it
# got, and defines every called function as a lookup table: it solves nothing.
READ_INHERITED = r'''
import os, re
found = []
for fd in range(3, 1024):
    try:
        found.append(os.pread(fd, 1 << 20, 0).decode("utf-8", "replace"))
    except OSError:
        pass
TABLE = {}
for text in found:
    for name, args, expected in re.findall(r"(\w+)\(([^()]*)\)\s*==\s*([^\s,\]\\\"']+)", text):
        TABLE.setdefault(name, {})[args.strip()] = expected
def _lookup(name):
    def call(*args):
        return eval(TABLE[name][", ".join(map(repr, args))])
    return call
for _name in TABLE:
    globals()[_name] = _lookup(_name)
if not TABLE:
    def square_perimeter(a):
        return -1
'''

# Lists the descriptors above 2 that are open in the program's process.
OPEN_DESCRIPTORS = r'''
import os
open_fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
print(open_fds)
'''


def test_inherited_descriptors_do_not_give_away_the_tests(sandbox_path):
    tests = mbpp(PERIMETER)["test_list"]
    assert_honest_passes(reference(PERIMETER), tests, sandbox_path)
    assert attack(READ_INHERITED, tests).passed is False


def test_a_plain_run_starts_with_no_descriptor_above_stderr(sandbox_path):
    outcome = sandbox.run_python(OPEN_DESCRIPTORS, stdin=b"secret stdin")
    assert outcome.via == sandbox_path
    assert outcome.stdout == b"[]\n", outcome


def test_a_judged_program_holds_only_its_two_pipes_above_stderr(sandbox_path):
    program = OPEN_DESCRIPTORS.replace("print(open_fds)", "def count():\n    return open_fds")
    outcome = sandbox.judge(program, ["assert len(count()) == 2"])
    assert (outcome.status, outcome.via) == ("ok", sandbox_path), outcome


@pytest.fixture
def broken_fork_server(monkeypatch):
    """The fork server refuses every run, as when it gives no pid in time or has hung up."""
    def refuse(*args, **kwargs):
        raise ZygoteUnavailable("no pid from the fork server")
    monkeypatch.setattr(launcher, "USE_ZYGOTE", True)
    monkeypatch.setattr(launcher.zygote().__class__, "run", refuse)


@pytest.mark.skipif(not launcher.capabilities().strong, reason="the warm path needs root")
def test_the_fallback_is_counted_logged_and_as_strict(broken_fork_server, caplog):
    before = sandbox.stats()["fresh_fallbacks"]
    tests = mbpp(PERIMETER)["test_list"]
    honest = sandbox.judge(reference(PERIMETER), tests)
    assert (honest.status, honest.via) == ("ok", "fresh"), honest
    assert attack(READ_INHERITED, tests).passed is False
    assert sandbox.stats()["fresh_fallbacks"] == before + 2
    if before == 0:  # the 1st and 2nd fallbacks of this process are logged
        assert "sandbox/fresh_fallbacks=2" in caplog.text
