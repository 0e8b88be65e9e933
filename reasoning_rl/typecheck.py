"""Strict conversion of plain YAML data into typed dataclasses.

Why: a recipe is user input. A typo in a key (`lerning_rate`) or a wrong type
(`num_generations: four`) must stop the run before anything is written, with the key path in
the message. pydantic would do this too, but TRL's `GRPOConfig` is a plain dataclass with ~190
fields; one small checker that understands dataclass annotations validates both our own recipe
sections and TRL's fields the same way.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Union

from reasoning_rl.errors import RecipeError

_NoneType = type(None)


def describe(annotation: Any) -> str:
    """Human wording for a type annotation, used in error messages.

    >>> describe(int | None)
    'an integer or null'
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe(a) for a in args))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin is dict or annotation is dict:
        return "a mapping"
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             _NoneType: "null"}
    if annotation in names:
        return names[annotation]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in annotation)
    if dataclasses.is_dataclass(annotation):
        return "a mapping"
    return getattr(annotation, "__name__", str(annotation))


def convert(value: Any, annotation: Any, path: str) -> Any:
    """Check `value` against `annotation` and return it (dataclasses built recursively).

    >>> convert(1e-5, float, "trainer.learning_rate")
    1e-05
    >>> convert("x", int, "run.seed")
    Traceback (most recent call last):
    ...
    reasoning_rl.errors.RecipeError: run.seed: expected an integer, got 'x' (str)
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(value, annotation, args, path)
    if origin is Literal:
        if value in args:
            return value
        raise _mismatch(value, annotation, path)
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return build(annotation, value, path)
    if origin is list or annotation is list:
        if not isinstance(value, list):
            raise _mismatch(value, annotation, path)
        item_type = args[0] if args else Any
        items: list[Any] = []
        problems: list[str] = []
        for i, item in enumerate(value):
            with collecting(problems):
                items.append(convert(item, item_type, f"{path}[{i}]"))
        if problems:
            raise RecipeError(*problems)
        return items
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise _mismatch(value, annotation, path)
        return dict(value)
    return _convert_scalar(value, annotation, path)


def _convert_union(value: Any, annotation: Any, args: tuple, path: str) -> Any:
    if value is None:
        if _NoneType in args:
            return None
        raise _mismatch(value, annotation, path)
    candidates = [a for a in args if a is not _NoneType]
    if len(candidates) == 1:  # `X | None`: keep X's own, more precise error message
        return convert(value, candidates[0], path)
    for arg in candidates:
        try:
            return convert(value, arg, path)
        except RecipeError:
            continue
    raise _mismatch(value, annotation, path)


def _convert_scalar(value: Any, annotation: Any, path: str) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value  # an int is a valid float; keep it as written (save_steps: 10)
    elif annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is _NoneType:
        if value is None:
            return None
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if value in {m.value for m in annotation} or isinstance(value, annotation):
            return value
    elif isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
    else:  # an annotation we do not understand: let the consumer validate it
        return value
    raise _mismatch(value, annotation, path)


def _mismatch(value: Any, annotation: Any, path: str) -> RecipeError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return RecipeError(
        f"{path}: expected {describe(annotation)}, got {shown} ({type(value).__name__})"
    )


def build(cls: type, data: Any, path: str) -> Any:
    """Build dataclass `cls` from a mapping; every unknown, missing or mistyped key is reported.

    >>> @dataclasses.dataclass
    ... class Run:
    ...     seed: int = 0
    >>> build(Run, {"sead": 1}, "run")
    Traceback (most recent call last):
    ...
    reasoning_rl.errors.RecipeError: run.sead: unknown key; valid keys under run: seed
    """
    problems: list[str] = []
    values = convert_fields(cls, data, path, problems)
    if problems:
        raise RecipeError(*problems)
    return cls(**values)


def convert_fields(cls: type, data: Any, path: str, problems: list[str]) -> dict[str, Any]:
    """The fields of dataclass `cls` that convert cleanly; each problem is appended to `problems`.

    Why not raise at the first problem: a recipe with three mistakes should list all three.

    >>> @dataclasses.dataclass
    ... class Run:
    ...     seed: int = 0
    ...     name: str = "x"
    >>> found = []
    >>> convert_fields(Run, {"seed": "a", "name": 1}, "run", found), len(found)
    ({}, 2)
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a mapping, got {data!r} ({type(data).__name__})")
        return {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            problems.append(f"{_join(path, key)}: unknown key; valid keys under "
                            f"{path or 'the recipe root'}: {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        if name in data:
            with collecting(problems):
                values[name] = convert(data[name], hints[name], _join(path, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(f"{_join(path, name)}: required key is missing "
                            f"(expected {describe(hints[name])})")
    return values


@contextmanager
def collecting(problems: list[str]) -> Iterator[None]:
    """Run a check, moving the problems of any `RecipeError` it raises into `problems`.

    >>> found = []
    >>> with collecting(found):
    ...     convert("x", int, "run.seed")
    >>> found
    ["run.seed: expected an integer, got 'x' (str)"]
    """
    try:
        yield
    except RecipeError as exc:
        problems.extend(exc.problems)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)
