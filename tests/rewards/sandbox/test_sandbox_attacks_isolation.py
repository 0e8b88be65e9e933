"""Red-team corpus, part 2: Python programs that attack the grader and the machine, not the score.

Each runs on both sandbox paths (``sandbox_path``) through ``run_tests`` only. "HOLE" marks the
classes that beat the sandbox of f7a84fe (rewards/sandbox*.py), "holds" those it stopped; the
rewritten sandbox (rewards/sandbox/, 807d076) stops all of them.
- root writes through planted symlinks (stdin.txt & co. in the work dir shared by one call's
  tests): HOLE on the fresh path; the work dir swapped through ``..``: holds
- grader hangs/raises on planted FIFOs, directories, sockets, symlink loops: HOLE (fresh path);
  sparse, unreadable, /dev/zero: hold
- world-writable directories (/run/lock reaches the host) and SysV shm / POSIX mqueues carrying
  data from one run to the next: HOLE
- memory per run as a whole (8 forked children x 100 MB under memory_mb=300): HOLE; disk
  written per run (448 MB into the work dir): HOLE on the fresh path; process count per run,
  processes outliving the run: hold
- network: a unix socket on disk (/run) is reachable: HOLE; TCP loopback/host/internet and
  abstract sockets: hold
- secrets on other processes' command lines (/proc/*/cmdline): HOLE; environment secrets,
  ptrace, /proc/<pid>/mem, signals to the trainer, root via setuid/sudo, writes into the
  project: hold
"""

from __future__ import annotations

import ctypes
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sandbox_attack_support import (
    CHECKOUT,
    MBPP_FILE,
    PLANT_KINDS,
    SOCKET_DIR,
    TIMEOUT_S,
    TWO_IO_TESTS,
    assert_untouched,
    attack,
    bounded_run,
    io_test,
    leaks,
    plant_program,
    victims,
)


@pytest.mark.parametrize("kind", PLANT_KINDS)
def test_planted_files_neither_redirect_nor_hang_the_grader(sandbox_path, kind, tmp_path):
    """Classes: root writes where the program says (symlinks in the shared work dir, the work
    dir swapped for a link) and grader hangs/crashes (FIFO, directory, socket, sparse file,
    unreadable file, link loop): the next test of the same call must stay inside, return a
    failed result within its deadline and never raise."""
    target_file, target_dir = victims(tmp_path)
    program = plant_program(kind, target_file, target_dir)
    result = attack(program, TWO_IO_TESTS, stop_at_first_failure=False)
    assert result.passed is False
    assert_untouched(target_file, target_dir)


def _host_world_writable_dirs() -> list[str]:
    """World-writable directories of the root file system (shallow), plus the usual suspects."""
    found = subprocess.run(["find", "/", "-xdev", "-maxdepth", "3", "-type", "d", "-perm",
                            "-0002", "-not", "-path", "/proc/*"], capture_output=True, text=True,
                           timeout=60, check=False).stdout.split()
    return sorted(set(found) | {"/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock",
                                "/var/lock", "/run/shm"})


def test_world_writable_dirs_do_not_carry_data_between_runs(sandbox_path):
    """Class: run 1 leaves a marker in every world-writable dir (and in the work dir's parent,
    i.e. the host's /tmp); run 2 must not find it, and nothing may land on the host."""
    token = f"rrl-redteam-{secrets.token_hex(8)}"
    dirs = _host_world_writable_dirs() + ["..", "../.."]
    writer = (f"import os\nfor d in {dirs!r}:\n    try:\n"
              f"        with open(os.path.join(d, {token!r}), 'w') as f:\n"
              f"            f.write('x')\n        os.chmod(os.path.join(d, {token!r}), 0o666)\n"
              "    except OSError:\n        pass\n")
    reader = (f"import os\nfor d in {dirs!r}:\n    try:\n"
              f"        if {token!r} in os.listdir(d):\n            print({token!r})\n"
              "            break\n    except OSError:\n        pass\n")
    assert leaks(writer + reader, token)  # the control: within one run the marker is seen
    try:
        attack(writer, [io_test("", "")])
        assert not leaks(reader, token), "a marker survived from one run to the next"
    finally:
        host_dirs = {os.path.realpath(d) for d in dirs if not d.startswith("..")}
        landed = sorted(d for d in host_dirs | {tempfile.gettempdir()}
                        if os.path.lexists(f"{d}/{token}"))
        for d in landed:
            os.unlink(f"{d}/{token}")
    assert landed == [], f"a run wrote into the host's {landed}"


IPC = r'''
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
if MODE == "write":
    shm = libc.shmget(KEY, 4096, 0o1000 | 0o666)  # IPC_CREAT
    if shm >= 0:
        address = libc.shmat(shm, None, 0)
        if address not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(address, TOKEN.encode(), len(TOKEN))
    libc.mq_open(("/" + TOKEN).encode(), 0o100 | 0o2, 0o666, None)  # O_CREAT | O_RDWR
else:
    shm = libc.shmget(KEY, 0, 0)
    if shm >= 0:
        address = libc.shmat(shm, None, 0o10000)  # SHM_RDONLY
        if address not in (None, ctypes.c_void_p(-1).value):
            print(ctypes.string_at(address, len(TOKEN)).decode())
            sys.exit()
    if libc.mq_open(("/" + TOKEN).encode(), 0, 0, None) >= 0:
        print(TOKEN)
'''


def _remove_ipc(key: int, token: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(key, 0, 0)
    if shm >= 0:
        libc.shmctl(shm, 0, None)  # IPC_RMID
    libc.mq_unlink(f"/{token}".encode())


def test_ipc_objects_do_not_carry_data_between_runs(sandbox_path):
    """Class: SysV shared memory and POSIX message queues outlive a run unless each run has its
    own IPC namespace; run 2 must not see what run 1 left."""
    token, key = f"rrl-redteam-{secrets.token_hex(8)}", 0x5EED0000 + secrets.randbelow(1 << 16)
    head = f"KEY = {key}\nTOKEN = {token!r}\n"
    try:
        assert leaks(head + IPC.replace('if MODE == "write":', "if True:") +
                     IPC.replace('if MODE == "write":', "if False:"), token)  # the control
        _remove_ipc(key, token)
        attack(head + "MODE = 'write'\n" + IPC, [io_test("", "")])
        assert not leaks(head + "MODE = 'read'\n" + IPC, token)
    finally:
        _remove_ipc(key, token)


FORKED_MEMORY = '''
import os
N, MB = {n}, {mb}
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
kids = []
for _ in range(N):
    pid = os.fork()
    if pid == 0:
        try:
            block = b"\\x01" * (MB << 20)  # touched, so it is resident
            code = 0
        except MemoryError:
            code = 1
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        os._exit(code)
    kids.append(pid)
os.close(ready_w)
got = 0
while got < N:
    chunk = os.read(ready_r, N)
    if not chunk:
        break
    got += len(chunk)
os.write(go_w, b"x" * N)
print("done" if all(os.waitpid(p, 0)[1] == 0 for p in kids) and got == N else "failed")
'''


def test_memory_limit_holds_for_the_run_as_a_whole(sandbox_path):
    """Class: 8 forked children each hold 100 MB (under the 300 MB limit one by one, 800 MB
    together); all alive at once must not succeed."""
    small = FORKED_MEMORY.format(n=2, mb=40)
    may_fork = attack("import os\nos.waitpid(os.fork() or os._exit(0), 0)\nprint('forked')",
                      [io_test("", "forked")]).passed  # a sandbox may forbid fork outright
    if may_fork:  # the control: within the limit, the same program succeeds
        assert attack(small, [io_test("", "done")], memory_mb=300, timeout_s=4).passed
    big = FORKED_MEMORY.format(n=8, mb=100)
    assert attack(big, [io_test("", "done")], memory_mb=300, timeout_s=4).passed is False


def test_disk_written_by_a_run_is_bounded(sandbox_path):
    """Class: many files each under the file-size limit; a run must not fill the disk
    (here 448 MB in total, more than the run's whole memory budget of 300 MB)."""
    program = ("import os\nblock = b'x' * (7 << 20)\nfor i in {count}:\n"
               "    with open('fill-%d' % i, 'wb') as f:\n        f.write(block)\n"
               "    os.unlink('fill-%d' % i) if {unlink} else None\nprint('done')\n")
    churn = program.format(count="range(4)", unlink=True)
    assert attack(churn, [io_test("", "done")], timeout_s=4).passed  # control: small, cleaned
    fill = program.format(count="range(64)", unlink=False)
    assert attack(fill, [io_test("", "done")], timeout_s=4).passed is False


def test_process_count_per_run_is_bounded(sandbox_path):
    """Class: a run starts 200 sleeping processes (bounded here, so a broken limit does not
    take the shared machine down); it must not get them all."""
    program = ("import os, time\nkids = 0\nfor _ in range(200):\n    try:\n"
               "        if os.fork() == 0:\n            time.sleep(3)\n            os._exit(0)\n"
               "        kids += 1\n    except OSError:\n        break\nprint(kids)\n")
    assert attack(program, [io_test("", "200")]).passed is False


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_no_process_outlives_its_run(sandbox_path):
    """Class: a double-forked, setsid daemon that execs a long sleep must be gone when
    ``run_tests`` returns (else it acts after the verdict, e.g. on the next run's files)."""
    token = f"rrl-redteam-{secrets.token_hex(8)}"
    program = ("import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               f"        os.execv({os.path.realpath(sys.executable)!r}, ['python3', '-c', "
               f"'import time; time.sleep(30)', {token!r}])\n    os._exit(0)\nprint('x')\n")
    attack(program, [io_test("", "")])
    survivors = _processes_with(token)
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors == []


def test_network_is_unreachable(sandbox_path, tmp_path):
    """Class: TCP to the host's loopback and address, unix sockets on disk (like
    /run/docker.sock) and abstract unix sockets: nothing may connect."""
    token = secrets.token_hex(8)
    tcp = socket.create_server(("127.0.0.1", 0))
    try:
        host_ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        host_ip = "127.0.0.2"
    wide = socket.create_server(("0.0.0.0", 0))
    unix_path = f"{SOCKET_DIR}/rrl-redteam-{token}.sock"
    on_disk, abstract = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    on_disk.bind(unix_path)
    os.chmod(unix_path, 0o777)
    abstract.bind(f"\0rrl-redteam-{token}")
    servers = [tcp, wide, on_disk, abstract]
    try:
        for server in servers[2:]:
            server.listen()
        targets = [("tcp", ("127.0.0.1", tcp.getsockname()[1])),
                   ("tcp", (host_ip, wide.getsockname()[1])), ("tcp", ("1.1.1.1", 443)),
                   ("unix", unix_path), ("unix", f"\0rrl-redteam-{token}")]
        program = (f"import socket\nfor kind, address in {targets!r}:\n"
                   "    family = socket.AF_INET if kind == 'tcp' else socket.AF_UNIX\n"
                   "    s = socket.socket(family)\n    s.settimeout(1)\n    try:\n"
                   "        s.connect(address)\n        print('CONNECTED')\n"
                   "        break\n    except OSError:\n        pass\n")
        assert leaks(program, "CONNECTED") is False
        for server in servers:
            server.setblocking(False)
            with pytest.raises(BlockingIOError):
                server.accept()
    finally:
        for server in servers:
            server.close()
        os.unlink(unix_path)


def test_secrets_of_the_trainer_are_unreadable(sandbox_path, monkeypatch):
    """Class: environment secrets (own env, /proc/*/environ) and secrets on other processes'
    command lines (/proc/*/cmdline, e.g. a server started with --api-key)."""
    token = secrets.token_hex(12)
    monkeypatch.setenv("RRL_REDTEAM_SECRET", token)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                               f"--api-key={token}"], env=dict(os.environ))
    try:
        program = ("import os, re\nfound = os.environ.get('RRL_REDTEAM_SECRET')\n"
                   "for pid in ['self'] + os.listdir('/proc'):\n    for part in ('environ', "
                   "'cmdline'):\n        try:\n            text = open(f'/proc/{pid}/{part}', "
                   "'rb').read().decode()\n        except (OSError, UnicodeDecodeError):\n"
                   "            continue\n        m = re.search('(?:SECRET=|--api-key=)(\\\\w+)',"
                   " text)\n        found = found or (m and m.group(1))\nprint(found)\n")
        assert leaks(program, token) is False
    finally:
        holder.kill()
        holder.wait()


def test_trainer_cannot_be_traced_or_signalled(sandbox_path):
    """Classes: ptrace / /proc/<pid>/mem on the parent or a bystander, signals to the parent,
    its group and a bystander: all must fail, and grading must go on. (Not kill(-1) nor pid 1:
    on a broken sandbox that would take the shared machine down.)"""
    bystander = subprocess.Popen(["sleep", "60"])
    program = ("import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "escaped = []\n"
               f"targets = [os.getppid(), {bystander.pid}]\nfor pid in targets:\n"
               "    if libc.ptrace(16, pid, None, None) == 0:\n        escaped.append('ptrace')\n"
               "    try:\n        open(f'/proc/{pid}/mem', 'rb').close()\n"
               "        escaped.append('mem')\n    except OSError:\n        pass\n"
               f"for pid in (os.getppid(), {bystander.pid}):\n"
               "    for kill in (os.kill, os.killpg):\n        try:\n"
               "            kill(pid if kill is os.kill else os.getpgid(pid), signal.SIGKILL)\n"
               "            escaped.append('kill')\n        except OSError:\n            pass\n"
               "print('ESCAPED' if escaped else 'contained')\n")
    try:
        assert leaks(program, "ESCAPED") is False
        assert bystander.poll() is None, "a sandboxed program killed a process outside"
        honest = "print(int(input()) * 4)"
        assert attack(honest, [io_test("10", "40")]).passed, "grading broke after the attack"
    finally:
        bystander.kill()
        bystander.wait()


PRIVILEGE = r'''
import os, subprocess
ESCAPED = []
for d in DIRS:
    try:
        open(os.path.join(d, TOKEN), "w").close()
        ESCAPED.append("wrote")
    except OSError:
        pass
try:
    os.setuid(0)
except OSError:
    pass
for argv in (["sudo", "-n", "true"], ["su", "-c", "true"]):
    try:
        if subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=1,
                          capture_output=True).returncode == 0:
            ESCAPED.append("root")
    except (OSError, subprocess.SubprocessError):
        pass
try:
    caps = [line for line in open("/proc/self/status") if line.startswith("CapEff")]
    privileged = int(caps[0].split()[1], 16) != 0
except (OSError, IndexError, ValueError):
    privileged = False
if os.geteuid() == 0 or privileged:
    ESCAPED.append("root")
print("ESCAPED" if ESCAPED else "contained")
'''


def test_no_privilege_and_no_writes_into_the_project(sandbox_path):
    """Classes: becoming root (setuid(0), sudo/su, capabilities) and writing into the checkout,
    its package dirs, the data dir or the venv (code the trainer imports next)."""
    token = f"rrl-redteam-{secrets.token_hex(8)}"
    dirs = sorted({str(CHECKOUT), str(CHECKOUT / "rewards"), str(MBPP_FILE.parent),
                   str(CHECKOUT.parent), os.path.dirname(os.__file__), sys.prefix})
    program = f"TOKEN, DIRS = {token!r}, {dirs!r}\n" + PRIVILEGE
    escaped = leaks(program, "ESCAPED", timeout_s=4)
    written = [d for d in dirs if os.path.exists(os.path.join(d, token))]
    for d in written:
        os.unlink(os.path.join(d, token))
    assert written == []
    assert escaped is False


def test_grading_goes_on_after_planted_files(sandbox_path):
    """Class: poisoned grader state: after a few planting attacks through ``run_tests`` (each
    must return in time), an honest program still passes."""
    honest = "print(int(input()) * 4)"
    for kind in ("fifo", "directory", "symlink_loop"):
        program = plant_program(kind, Path("/nonexistent"), Path("/nonexistent"))
        bounded_run(program, TWO_IO_TESTS, 2 * (TIMEOUT_S + 1) + 4, timeout_s=TIMEOUT_S,
                    stop_at_first_failure=False)
    assert attack(honest, [io_test("10", "40")]).passed
