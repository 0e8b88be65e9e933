"""The recipe section `prompt:`: the instruction, worked examples and template a prompt is built
from (`reasoning_rl.data.prompting` builds it), validated before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

from reasoning_rl.recipe.errors import RecipeError

MAGISTRAL_SYSTEM_PROMPT = (
    "A user will give you a problem. First think it through as an inner monologue, as long and "
    "as informal as you need, like working on scratch paper, until you are sure of the answer. "
    "Write this reasoning between <think> and </think>. After </think>, write a short, "
    "self-contained summary of the key steps and the final answer. Use Markdown and LaTeX. "
    "Write both the reasoning and the summary in the language of the user's problem. "
    "For a math problem, put the final answer in \\boxed{}."
)
TEMPLATE_FIELDS = {"system", "examples", "problem"}


@dataclass
class ExampleTurn:
    """A worked example shown before the real problem (few-shot)."""

    user: str
    assistant: str


@dataclass
class PromptSection:
    """Recipe section `prompt`: instructions, optional worked examples, and how to render them.

    `template` None renders chat messages with the model's chat template, or, for a model that
    has none (a base checkpoint), the plain text `TEXT_TEMPLATE`; a string is a plain-text
    template with the fields {system}, {examples} and {problem}. `stop` (text prompts only):
    generation stops at these strings; None means `TEXT_STOP`.
    """

    system: str = MAGISTRAL_SYSTEM_PROMPT
    examples: list[ExampleTurn] | None = None
    template: str | None = None
    stop: list[str] | None = None


def check_template(template: str | None, key_path: str) -> None:
    """Raise `RecipeError` unless `template` is None or a template with known fields only.

    >>> check_template("Q: {problem}\\nA: <think>", "prompt.template")
    >>> try:
    ...     check_template("Q: {question}", "prompt.template")
    ... except RecipeError as exc:
    ...     print(str(exc)[:48])
    prompt.template: unknown field {question}; use {
    """
    if template is None:
        return
    try:
        fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise RecipeError(f"{key_path}: not a valid template ({exc}); write literal braces "
                          "as {{ and }}") from None
    unknown = sorted(fields - TEMPLATE_FIELDS)
    if unknown:
        raise RecipeError(f"{key_path}: unknown field {{{unknown[0]}}}; use {{problem}}, "
                          "{system} and {examples}")
    if "problem" not in fields:
        raise RecipeError(f"{key_path}: the template has no {{problem}} field")
