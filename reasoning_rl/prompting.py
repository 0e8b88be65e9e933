"""How a problem becomes a chat prompt.

Why: Magistral trains the model to think inside `<think>...</think>`, then write a short summary
in the user's language with the final answer in `\\boxed{}`. The instruction lives in the system
prompt, and the chat template of the model turns messages into tokens (TRL applies it for
conversational prompts). Small models rarely follow the format from the instruction alone
(measured: 0/16 samples for SmolLM2-135M), so a recipe may add worked example turns; one example
lifts the format rate to ~20 %, enough signal for GRPO to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGISTRAL_SYSTEM_PROMPT = (
    "A user will give you a problem. First think it through as an inner monologue, as long and "
    "as informal as you need, like working on scratch paper, until you are sure of the answer. "
    "Write this reasoning between <think> and </think>. After </think>, write a short, "
    "self-contained summary of the key steps and the final answer. Use Markdown and LaTeX. "
    "Write both the reasoning and the summary in the language of the user's problem. "
    "For a math problem, put the final answer in \\boxed{}."
)


@dataclass
class ExampleTurn:
    """A worked example shown before the real problem (few-shot)."""

    user: str
    assistant: str


@dataclass
class PromptSection:
    """Recipe section `prompt`: the system prompt and optional few-shot example turns."""

    system: str = MAGISTRAL_SYSTEM_PROMPT
    examples: list[ExampleTurn] | None = None


def build_messages(problem: str, prompt: PromptSection) -> list[dict[str, str]]:
    """Chat messages for one problem: system, example turns, then the problem.

    >>> msgs = build_messages("What is 2 + 2?", PromptSection(system="S"))
    >>> [m["role"] for m in msgs], msgs[-1]["content"]
    (['system', 'user'], 'What is 2 + 2?')
    """
    messages = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for example in prompt.examples or []:
        messages.append({"role": "user", "content": example.user})
        messages.append({"role": "assistant", "content": example.assistant})
    messages.append({"role": "user", "content": problem})
    return messages

