"""Kernel lockdown of every run (seccomp filter, no capabilities) and the launch-time gate on
weak isolation (issue 20). The run tests go through both sandbox paths, as root and, in CI's
second attack stage, as a normal user (a user namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rewards import sandbox
from rewards.code_exec import run_tests
from rewards.sandbox import isolation, lockdown
from rewards.sandbox.launcher import Capabilities

# Each refused call is tried with harmless arguments; the program prints name=errno.
PROBE = r'''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(number, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    return ctypes.get_errno() if result == -1 else 0
calls = {"ptrace": (101, 0, 0, 0, 0), "unshare_user": (272, 0x10000000),
         "unshare_net": (272, 0x40000000), "mount": (165, 0, 0, 0, 0, 0),
         "chroot": (161, 0), "setns": (308, 0, 0), "bpf": (321, 0, 0, 0),
         "keyctl": (250, 0, 0, 0, 0, 0), "clone_newuser": (56, 0x10000000 | 17, 0, 0, 0, 0),
         "process_vm_readv": (310, 1, 0, 0, 0, 0, 0), "clone3": (435, 0, 0),
         "io_uring_setup": (425, 1, 0), "pidfd_getfd": (438, 0, 0, 0)}
print(" ".join(f"{name}={errno_of(*args)}" for name, args in sorted(calls.items())))
header = ctypes.create_string_buffer(bytes.fromhex("22050820") + bytes(4))
data = ctypes.create_string_buffer(24)
libc.capget(header, data)
print("capabilities", data.raw.hex())
'''
FORK = ("import os\npid = os.fork()\nif pid == 0:\n    os._exit(7)\n"
        "print(os.waitpid(pid, 0)[1] >> 8)\n")
EPERM, ENOSYS = 1, 38


@pytest.mark.skipif(not lockdown.seccomp_supported(), reason="the filter is x86-64 only")
def test_every_run_is_filtered_and_holds_no_capability(sandbox_path):
    outcome = sandbox.judge(PROBE + "def f():\n    return 1\n", ["assert f() == 1"])
    assert outcome.status == "ok", outcome
    direct = sandbox.run_python(PROBE, limits=sandbox.Limits(processes=4))
    lines = direct.stdout.decode().splitlines()
    errnos = dict(item.split("=") for item in lines[0].split())
    assert {name: int(value) for name, value in errnos.items()} == {
        "bpf": EPERM, "chroot": EPERM, "clone3": ENOSYS, "clone_newuser": EPERM,
        "io_uring_setup": EPERM, "keyctl": EPERM, "mount": EPERM, "pidfd_getfd": EPERM,
        "process_vm_readv": EPERM, "ptrace": EPERM, "setns": EPERM, "unshare_net": EPERM,
        "unshare_user": EPERM}, lines
    assert lines[1] == "capabilities " + "0" * 48, lines  # effective, permitted, inheritable


def test_the_judge_is_not_dumpable_and_filtered(sandbox_path):
    """The tests run in the judge process: ask the kernel there (PR_GET_DUMPABLE is 3,
    PR_GET_SECCOMP 21, which is 2 under a filter)."""
    outcome = sandbox.judge("def f():\n    return 1\n", [
        "import ctypes\nprctl = ctypes.CDLL(None).prctl\nassert prctl(3, 0, 0, 0, 0) == 0\n"
        "assert prctl(21, 0, 0, 0, 0) == (2 if SECCOMP else 0)\nassert f() == 1"
        .replace("SECCOMP", str(lockdown.seccomp_supported()))])
    assert outcome.status == "ok", outcome


def test_ordinary_forks_still_work_where_the_run_may_fork(sandbox_path):
    outcome = sandbox.run_python(FORK, limits=sandbox.Limits(processes=4))
    if sandbox.capabilities().cgroup:  # without a memory cgroup no run may fork at all
        assert outcome.stdout == b"7\n", outcome
    else:
        assert outcome.status == "crash" and b"BlockingIOError" in outcome.stderr, outcome


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
def test_cpp_compiles_while_the_uid_already_runs_many_processes(sandbox_path):
    """As a normal user the compiler runs under the trainer's own uid (in a user namespace),
    with RLIMIT_NPROC set: 40 other processes of that uid must not stop g++ from forking."""
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(40)]
    try:
        program = "#include <iostream>\nint main() { int a; std::cin >> a; std::cout << 2 * a; }\n"
        result = run_tests(program, ['{"input": "21", "output": "42"}'], "cpp")
        assert result.passed, result
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()


WEAK = Capabilities(False, "/usr/bin/python3", notes=("probe failed",), mode="weak")


def test_doctor_names_the_mode_and_the_minimum(capsys):
    code = isolation.doctor()
    out = capsys.readouterr().out
    caps = sandbox.capabilities()
    assert out.startswith(f"code sandbox: {caps.mode}") and "minimum:" in out
    assert code == (0 if caps.strong else 2)
    if os.geteuid() != 0:  # a normal user with user namespaces gets the user mode
        assert caps.mode == "user", caps.notes
    weak = "\n".join(isolation.describe(WEAK))
    assert "below the minimum" in weak and "to enable:" in weak and "data set" in weak


def test_the_cli_runs_the_doctor(capsys):
    cli = pytest.importorskip("reasoning_rl.cli", exc_type=ImportError)
    assert cli.main(["doctor"]) == isolation.doctor()
    assert capsys.readouterr().out.count("code sandbox:") == 2


def test_code_rewards_stop_at_launch_on_weak_isolation_unless_opted_in(monkeypatch, caplog):
    pytest.importorskip("reasoning_rl.training", exc_type=ImportError)
    from reasoning_rl.recipe.config import load_recipe
    from reasoning_rl.recipe.errors import UserError
    from reasoning_rl.training import require_code_sandbox

    monkeypatch.setattr(isolation, "capabilities", lambda: WEAK)
    recipe = load_recipe("recipes/smoke_cpu.yaml")
    code_rows, math_rows = [{"task": "Code"}], [{"task": "math"}]
    require_code_sandbox(recipe, math_rows)  # no code: nothing to refuse
    with pytest.raises(UserError) as refused:
        require_code_sandbox(recipe, code_rows)
    message = str(refused.value)
    assert "mode: weak" in message and isolation.OPT_IN_KEY in message
    assert "user namespace" in message and "to enable:" in message
    opted_in = load_recipe("recipes/smoke_cpu.yaml", ["run.unsafe_weak_code_sandbox=true"])
    require_code_sandbox(opted_in, code_rows)
    assert "UNSAFE" in caplog.text
    monkeypatch.setattr(isolation, "capabilities", lambda: Capabilities(
        True, "/usr/bin/python3", mode="user"))
    require_code_sandbox(recipe, code_rows)  # a user namespace meets the minimum


@pytest.mark.skipif(not lockdown.seccomp_supported(), reason="the filter is x86-64 only")
def test_the_weak_path_is_filtered_too():
    from rewards.sandbox.launcher import launch

    weak = Capabilities(False, sandbox.capabilities().python, mode="weak")
    outcome = launch({"action": "python", "code": PROBE}, sandbox.Limits(), caps=weak)
    errnos = dict(item.split("=") for item in outcome.stdout.decode().splitlines()[0].split())
    assert errnos["ptrace"] == str(EPERM) and errnos["unshare_user"] == str(EPERM), outcome
