"""User-facing errors.

Why: a user who mistypes a recipe key, points at a missing file or names a wrong dataset column
should get one clear line naming the problem and the fix, and exit code 2, not a traceback from
deep inside TRL. Everything that is the user's to fix raises `UserError`; the CLI prints it and
exits 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """A problem the user can fix (bad recipe, missing file, wrong column). CLI exit code 2.

    >>> str(UserError("trainer.beta: expected a number, got 'x'"))
    "trainer.beta: expected a number, got 'x'"
    """


class RecipeError(UserError):
    """The recipe (file or command-line overrides) is malformed; each problem names its key path.

    One error carries every problem found, so a user fixes a recipe in one pass, not one
    error per run.

    >>> RecipeError("run.seed: expected an integer", "trainer.beta: expected a number").problems
    ['run.seed: expected an integer', 'trainer.beta: expected a number']
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@contextmanager
def collecting(problems: list[str]) -> Iterator[None]:
    """Run a check, moving the problems of any `RecipeError` it raises into `problems`.

    Why: the recipe loader runs every check and reports all problems at once.

    >>> found = []
    >>> with collecting(found):
    ...     raise RecipeError("run.seed: expected an integer")
    >>> found
    ['run.seed: expected an integer']
    """
    try:
        yield
    except RecipeError as exc:
        problems.extend(exc.problems)


class DataError(UserError):
    """The dataset is missing, unreadable, or lacks a column the recipe maps to."""
