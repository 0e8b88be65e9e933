"""The console script's own duties (each command's behaviour is tested with its module)."""
import subprocess
import sys
import textwrap

# In a fresh interpreter: torch.distributed keeps process-wide state.
SCRIPT = textwrap.dedent("""\
    import socket, sys
    import torch.distributed as dist
    from reasoning_rl.cli import leave_process_group
    leave_process_group()  # nothing opened: a no-op, not an error
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    assert dist.is_initialized()
    leave_process_group()
    print("closed" if not dist.is_initialized() else "still open")
""")


def test_leave_process_group_closes_an_open_group():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "closed"


def test_cli_without_torch_loaded_does_not_import_it():
    done = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom reasoning_rl.cli import leave_process_group\n"
        "leave_process_group()\nprint('torch.distributed' in sys.modules)")],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
