"""Build build/gpu/: the wheels a lent GPU machine lacks for bench/gpu_check.py, and a tokenizer.

    python -m bench.gpu_wheels build/gpu          # what `make gpu-wheels` runs

Why: the lent machine (docs/gpu.md) has torch, transformers, accelerate, peft, pyarrow and
pandas, no network, and takes at most 64 MiB along with the working tree. Everything else the
training path needs must travel as wheels that install there with
`pip install --no-index --no-deps build/gpu/wheels/*.whl`. The list is not written by hand: it
is the Requires-Dist closure of the training path's roots (TRL, datasets, math-verify with its
ANTLR runtime, pebble for its workers) minus the closure of what the machine has, each pinned to
the version installed here, the one the tests ran with. Binary wheels are fetched for CPython
3.12 manylinux x86_64. After building, every Requires-Dist of every shipped wheel must be met by
a shipped wheel (at a version its specifier allows) or by a package the machine has; the
project's own optional dependencies that the training path never imports are named in
OFF_TRAINING_PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
# On the lent machine (the issue that lends it lists them), with whatever they depend on.
PRESENT = ("torch", "transformers", "accelerate", "peft", "pyarrow", "pandas")
ROOTS = ("trl", "datasets", "math-verify[antlr4_13_2]", "pebble")
# The project's dependencies that only other features import (lazily): checked by gpu_check's
# dry run in an environment without them (make gpu-wheels-check).
OFF_TRAINING_PATH = {
    "wandb": "report_to: wandb only", "gguf": "converting the embedded GGUF model only",
    "rich": "not imported by the project", "langid": "language reward only",
    "lingua-language-detector": "language reward only", "matplotlib": "eval charts only",
}
TARGET = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}
PLATFORM_ARGS = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
                 "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                 "--platform", "manylinux2014_x86_64"]
MAX_BYTES = 30 * 2**20
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                   "special_tokens_map.json")


def requirements_of(name: str, extras: frozenset[str] = frozenset()) -> list[Requirement]:
    """Requires-Dist of an installed distribution that apply on the target with `extras`."""
    try:
        texts = metadata.requires(name) or []
    except metadata.PackageNotFoundError:  # not installed here (e.g. a CUDA-only dependency)
        return []
    found = []
    for text in texts:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**TARGET, "extra": e})
                                     for e in (extras or {""})):
            found.append(req)
    return found


def closure(roots: tuple[str, ...]) -> set[str]:
    """Canonical names of `roots` and everything they require on the target, transitively.

    >>> sorted(closure(("math-verify[antlr4_13_2]",)))[:2]
    ['antlr4-python3-runtime', 'latex2sympy2-extended']
    """
    expanded: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key not in expanded:
            expanded.add(key)
            todo += requirements_of(req.name, key[1])
    return {name for name, _ in expanded}


def pins() -> dict[str, str]:
    """{canonical name: installed version} of the wheels to ship (the project excluded)."""
    ship = closure(ROOTS) - closure(PRESENT)
    return {name: metadata.version(name) for name in sorted(ship)}


def download(pinned: dict[str, str], wheels: Path) -> None:
    for name, version in pinned.items():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        *PLATFORM_ARGS, "-d", str(wheels), f"{name}=={version}"], check=True)
    with tempfile.TemporaryDirectory() as tmp:  # setuptools leaves build/lib in the source tree
        source = Path(tmp) / "src"
        source.mkdir()
        for part in ("pyproject.toml", "README.md", "reasoning_rl", "rewards"):
            copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy2
            copy(REPO / part, source / part, **({"ignore": shutil.ignore_patterns(
                "__pycache__")} if (REPO / part).is_dir() else {}))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "-w", str(wheels.resolve()), str(source)],
                       check=True)


def wheel_metadata(wheel: Path) -> tuple[str, str, list[Requirement]]:
    """(canonical name, version, Requires-Dist) read from a .whl file."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    fields = [line.split(": ", 1) for line in lines if ": " in line]
    name = next(v for k, v in fields if k == "Name")
    version = next(v for k, v in fields if k == "Version")
    return canonicalize_name(name), version, [Requirement(v) for k, v in fields
                                              if k == "Requires-Dist"]


def uncovered(wheels: Path) -> list[str]:
    """Requirements of the shipped wheels that neither the folder nor the machine meets."""
    shipped = {name: (version, reqs)
               for name, version, reqs in map(wheel_metadata, sorted(wheels.glob("*.whl")))}
    present, extras = closure(PRESENT), {canonicalize_name(Requirement(r).name):
                                         set(Requirement(r).extras) for r in ROOTS}
    problems = []
    for owner, (_, reqs) in shipped.items():
        asked = extras.get(owner) or {""}
        for req in reqs:
            if req.marker and not any(req.marker.evaluate({**TARGET, "extra": e}) for e in asked):
                continue
            name = canonicalize_name(req.name)
            if name in shipped:
                if not req.specifier.contains(shipped[name][0], prereleases=True):
                    problems.append(f"{owner} needs {req}, ships {name} {shipped[name][0]}")
            elif name not in present and name not in OFF_TRAINING_PATH:
                problems.append(f"{owner} needs {req}: not shipped, not on the machine")
    return problems


def copy_tokenizer(target: Path) -> None:
    """The embedded SmolLM2 tokenizer's files (no weights): the machine has no hub."""
    from reasoning_rl.model.loading import resolve_model_path

    source = Path(resolve_model_path("embedded:smollm2-135m-instruct"))
    target.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)


def build(folder: Path) -> int:
    """Fill `folder` with wheels/ and tokenizer/; return 0, or 1 naming what is wrong."""
    shutil.rmtree(folder, ignore_errors=True)
    wheels = folder / "wheels"
    pinned = pins()
    download(pinned, wheels)
    copy_tokenizer(folder / "tokenizer")
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    problems = uncovered(wheels)
    if size > MAX_BYTES:
        problems.append(f"{folder} holds {size / 2**20:.1f} MiB > {MAX_BYTES / 2**20:.0f} MiB")
    for wheel in sorted(wheels.glob("*.whl")):
        print(f"{wheel.stat().st_size / 2**20:7.2f} MiB  {wheel.name}")
    print(f"{size / 2**20:7.2f} MiB  in all ({folder}); pins: "
          + ", ".join(f"{n}=={v}" for n, v in pinned.items()))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=REPO / "build" / "gpu")
    parser.add_argument("--print-pins", action="store_true",
                        help="print the pins as requirement lines and build nothing")
    args = parser.parse_args(argv)
    if args.print_pins:
        print("\n".join(f"{name}=={version}" for name, version in pins().items()))
        return 0
    return build(args.folder)


if __name__ == "__main__":
    raise SystemExit(main())
