"""Scaffolded rollouts for base checkpoints: worked examples shown to the sampler only, faded out.

Why: a base model does not follow the Magistral format from instructions alone. Measured on the
embedded Gemma 3 270M (held-out arithmetic, 128 samples at temperature 1.0): 0 samples pass the
format gate with the instructions only, so GRPO sees all-equal groups and never updates; with one
worked example in the prompt 77 % pass, but a policy trained on that prompt learns to copy the
example, and still fails without it.

So for a share of groups that falls linearly from 1 at step 0 to 0 at `rollout.scaffold_steps`,
completions are sampled from the prompt WITH `rollout.scaffold_examples` (the behaviour policy
mu(y | hinted)), while rewards, advantages and the update use the recipe's own prompt WITHOUT
them (the policy pi(y | plain) that is trained and evaluated). Those samples are off-policy for
pi; this module is the prompt swap (what the sampler sees), and `objective.scaffold_weighting`
says how their tokens enter the loss (`reasoning_rl/objective/loss.py`):

- "shaped" (default), LUFFY's policy shaping (arXiv 2504.14945): the per-token term is
  f(pi_theta(y_t | plain, y_<t)) * A with f(p) = p / (p + gamma), gamma =
  `scaffold_shaping_gamma` (0.1), unclipped. Bounded (f < 1); its weight on grad log p,
  gamma p / (p + gamma)^2, peaks at p = gamma and falls off for tokens the plain prompt already
  makes likely, so the update goes to the ones it does not yet write: what the hint is there
  to teach. A deliberate bias.
- "tis", truncated importance sampling (Yao et al., 2025): Magistral's clipped surrogate times
  min(pi_old(y_t | plain) / mu(y_t | hinted), C), C = `scaffold_is_cap`: the plain prompt's own
  policy gradient up to the truncation, so a token the plain prompt finds unlikely gets an
  equally small weight.

Why "shaped" is the default: measured on recipes/smoke_cpu_base.yaml (README), "tis" left the
held-out format rate with the plain prompt at 0.000 after 30 steps, "shaped" raised it to 1.000,
with the same seed and learning rate. A likely reason (not measured token by token): the
unbiased weight is small exactly on the format tokens the base model does not write unprompted.
Both bound the push a negative advantage gives a sequence the plain prompt would never write,
which the earlier unweighted update lacked. From `scaffold_steps` on, training is plain
on-policy GRPO. docs/algorithm.md has the full objective.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from reasoning_rl.data.prompting import build_prompt
from reasoning_rl.recipe.prompt_section import PromptSection
from reasoning_rl.recipe.rollout_section import RolloutSection, ScaffoldExample


@dataclass(frozen=True)
class Scaffold:
    """The prompt swap: `prompt(problem, lang)` is the hinted prompt, shown over the first
    `steps`; in a scaffolded group the first `rows` rows are hinted (None: all of them).

    >>> scaffold = Scaffold(prompt=lambda problem, lang: "2 + 2 = 4. " + problem, steps=2)
    >>> scaffold.swap(["1 + 1?", "1 + 1?"], ["1 + 1?", "1 + 1?"], [None, None], group_size=2,
    ...               step=0, seed=0, draw=0)
    (['2 + 2 = 4. 1 + 1?', '2 + 2 = 4. 1 + 1?'], [True, True])
    """

    prompt: Callable[[str, str | None], object]
    steps: int
    rows: int | None = None

    def share(self, step: int) -> float:
        """Share of groups sampled from the hinted prompt at optimizer step `step`."""
        return hint_share(step, self.steps)

    def swap(self, prompts: Sequence[object], problems: Sequence[str],
             langs: Sequence[str | None], *, group_size: int, step: int, seed: int,
             draw: int) -> tuple[list[object], list[bool]]:
        """The prompts the sampler is shown (hinted rows of scaffolded groups) and which rows
        are hinted. Deterministic in (`seed`, `step`, `draw`), so a resumed run scaffolds the
        same rows.
        """
        flags = hinted_rows(len(prompts), group_size, self.share(step), seed, draw, self.rows)
        shown = [self.prompt(problem, lang) if flag else prompt
                 for prompt, problem, lang, flag in zip(prompts, problems, langs, flags,
                                                        strict=True)]
        return shown, flags


def scaffold_for(prompt: PromptSection, rollout: RolloutSection,
                 tokenizer: object) -> Scaffold | None:
    """The recipe's scaffold: its prompt with `rollout.scaffold_examples` (None: no scaffold);
    a row is shown the untagged examples and those of its `lang`."""
    if not rollout.scaffold_steps:
        return None
    return Scaffold(functools.partial(hinted_prompt, prompt=prompt,
                                      examples=tuple(rollout.scaffold_examples),
                                      tokenizer=tokenizer),
                    rollout.scaffold_steps, rollout.scaffold_rows)


def hinted_prompt(problem: str, lang: str | None, *, prompt: PromptSection,
                  examples: Sequence[ScaffoldExample], tokenizer: object) -> object:
    """`problem`'s prompt with the scaffold examples untagged or tagged `lang`, in recipe order.

    >>> examples = (ScaffoldExample("2+2?", "4", lang="en"), ScaffoldExample("2+2 ?", "4",
    ...             lang="fr"), ScaffoldExample("1+1?", "2"))
    >>> [m["content"] for m in hinted_prompt("3+3 ?", "fr", prompt=PromptSection(system=""),
    ...                                      examples=examples, tokenizer=None)]
    ['2+2 ?', '4', '1+1?', '2', '3+3 ?']
    """
    shown = [example for example in examples if example.lang in (None, lang)]
    return build_prompt(problem, dataclasses.replace(prompt, examples=shown), tokenizer)


def hint_share(step: int, scaffold_steps: int) -> float:
    """Share of groups sampled with the scaffold at optimizer step `step` (0-based).

    >>> [hint_share(s, 4) for s in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    >>> hint_share(0, 0)
    0.0
    """
    if scaffold_steps <= 0:
        return 0.0
    return max(0.0, 1.0 - step / scaffold_steps)


def hinted_rows(rows: int, group_size: int, share: float, seed: int, draw: int,
                per_group: int | None = None) -> list[bool]:
    """Which rows are sampled with the scaffold: groups drawn with probability `share`, and in
    each the first `per_group` rows (None: the whole group).

    Deterministic in (`seed`, `draw`), so a resumed run scaffolds the same rows.

    >>> hinted_rows(6, 2, 1.0, 0, 0), hinted_rows(4, 2, 0.0, 0, 0)
    ([True, True, True, True, True, True], [False, False, False, False])
    >>> flags = hinted_rows(8, 4, 0.5, 0, 3)
    >>> flags[:4] == [flags[0]] * 4 and flags[4:] == [flags[4]] * 4
    True
    >>> hinted_rows(8, 4, 1.0, 0, 0, per_group=1)
    [True, False, False, False, True, False, False, False]
    """
    if rows % group_size:
        raise ValueError(f"{rows} rows do not split into groups of {group_size}")
    generator = torch.Generator().manual_seed(seed * 1_000_003 + draw)
    groups = torch.rand(rows // group_size, generator=generator) < share
    within = torch.arange(group_size) < (group_size if per_group is None else per_group)
    return [bool(flag) for flag in (groups[:, None] & within[None, :]).flatten()]
