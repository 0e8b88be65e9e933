"""How a problem becomes a prompt: chat messages, or plain text for a base model.

Why: Magistral trains the model to think inside `<think>...</think>`, then write a short summary
in the user's language with the final answer in `\\boxed{}`. For an instruct model the
instruction is the system prompt and the model's chat template turns messages into tokens (TRL
applies it for conversational prompts). A pretrained base model has no chat template, so, as in
DeepSeek-R1-Zero, the instruction, any worked examples and the problem are written as one plain
text whose last words open the answer: `Assistant: <think>`. Small models rarely follow the
format from the instruction alone (measured: 0/16 samples for SmolLM2-135M), so a recipe may
add worked examples; one example lifts the format rate to ~20 %, enough signal for GRPO.

A text prompt has two consequences that every path (training, evaluation, curation) must treat
the same way, so both live here: the model never writes the `<think>` that the prompt already
holds, so the text rewards see is that opener plus the completion; and a base model does not
stop after its answer but writes the next "User:" turn, so generation stops at a stop string
and the completion is cut there.
"""

from __future__ import annotations

from collections.abc import Sequence

from reasoning_rl.recipe.prompt_section import ExampleTurn, PromptSection

THINK_OPENER = "<think>"
# The default plain-text prompt: instructions, worked examples as User/Assistant turns, then the
# problem; the answer starts inside the think block, as in R1-Zero's template.
TEXT_TEMPLATE = "{system}\n\n{examples}User: {problem}\nAssistant: " + THINK_OPENER
TEXT_EXAMPLE = "User: {user}\nAssistant: {assistant}\n\n"
TEXT_STOP = ["\nUser:"]  # where a base model starts the next turn after its answer

Messages = list[dict[str, str]]
Prompt = str | Messages


def prompt_texts(prompt: PromptSection, examples: Sequence[ExampleTurn] = ()) -> list[str]:
    """What a prompt shows the policy in words: its system prompt, template and each turn of its
    worked examples and of ``examples`` (the sampler's scaffold); the language judge takes
    their languages as candidates (``rewards.language_id.run_languages``).

    >>> prompt_texts(PromptSection(system="Be brief.", examples=[ExampleTurn("2+2?", "4.")]))
    ['Be brief.', '2+2?', '4.']
    """
    turns = [*(prompt.examples or []), *examples]
    return [prompt.system, *([prompt.template] if prompt.template else []),
            *(text for turn in turns for text in (turn.user, turn.assistant))]


def uses_text(prompt: PromptSection, tokenizer) -> bool:
    """True when prompts are plain text: a template is set, or the tokenizer has no chat template.

    >>> uses_text(PromptSection(template="{problem}"), None), uses_text(PromptSection(), None)
    (True, False)
    """
    if prompt.template is not None:
        return True
    return tokenizer is not None and not getattr(tokenizer, "chat_template", None)


def build_prompt(problem: str, prompt: PromptSection, tokenizer) -> Prompt:
    """The prompt for one problem: chat messages, or plain text (see `uses_text`).

    `tokenizer` None means "the model has a chat template".

    >>> msgs = build_prompt("What is 2 + 2?", PromptSection(system="S"), None)
    >>> [m["role"] for m in msgs], msgs[-1]["content"]
    (['system', 'user'], 'What is 2 + 2?')
    >>> print(build_prompt("What is 2 + 2?", PromptSection(system="S",
    ...     examples=[ExampleTurn("1 + 1?", "<think>1 + 1 = 2</think> 2")],
    ...     template=TEXT_TEMPLATE), None))
    S
    <BLANKLINE>
    User: 1 + 1?
    Assistant: <think>1 + 1 = 2</think> 2
    <BLANKLINE>
    User: What is 2 + 2?
    Assistant: <think>
    """
    if uses_text(prompt, tokenizer):
        examples = "".join(TEXT_EXAMPLE.format(user=e.user, assistant=e.assistant)
                           for e in prompt.examples or [])
        return (prompt.template or TEXT_TEMPLATE).format(
            system=prompt.system, examples=examples, problem=problem)
    messages = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for example in prompt.examples or []:
        messages.append({"role": "user", "content": example.user})
        messages.append({"role": "assistant", "content": example.assistant})
    messages.append({"role": "user", "content": problem})
    return messages


def stop_strings(prompt: PromptSection, tokenizer) -> list[str]:
    """Strings that end generation: none for chat prompts (the template's end of turn does).

    >>> text, chat = PromptSection(template=TEXT_TEMPLATE), PromptSection()
    >>> stop_strings(text, None), stop_strings(chat, None)
    (['\\nUser:'], [])
    """
    if not uses_text(prompt, tokenizer):
        return []
    return list(TEXT_STOP if prompt.stop is None else prompt.stop)


def answer_text(prompt: Prompt, completion: str, stop: Sequence[str] = ()) -> str:
    """The completion as rewards and graders see it, the same in training and evaluation.

    A text prompt that ends with `<think>` lends the completion that opener (the format gate
    wants the answer to start with it), and the completion is cut at its first stop string.

    >>> answer_text("Q: 2+2?\\nA: <think>", "2+2=4</think> \\\\boxed{4}\\nUser: next", ["\\nUser:"])
    '<think>2+2=4</think> \\\\boxed{4}'
    >>> answer_text([{"role": "user", "content": "2+2?"}], "<think>4</think> \\\\boxed{4}")
    '<think>4</think> \\\\boxed{4}'
    """
    cuts = [index for index in (completion.find(s) for s in stop if s) if index >= 0]
    text = completion[:min(cuts)] if cuts else completion
    if isinstance(prompt, str) and prompt.rstrip().endswith(THINK_OPENER):
        return THINK_OPENER + text
    return text

