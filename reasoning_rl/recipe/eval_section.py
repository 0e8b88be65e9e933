"""Recipe section `eval`: the held-out before/after eval and the periodic eval, typed apart.

Why: held-out problems (greedy, before and after training, read like the training data) and
benchmarks (sampled K times, during training) take different settings; one flat section let a
setting meant for one be silently ignored by the other. Each part is its own dataclass, and
`EvalSection.check` refuses any part that nothing would use.
"""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_rl.recipe.errors import RecipeError
from reasoning_rl.recipe.prompt_section import PromptSection


@dataclass
class HeldoutSection:
    """Recipe section `eval.heldout`: greedy eval on held-out problems before and after training.

    Rows go through `data.columns`, `data.task` and `data.lang` like the training data. A hub
    dataset is read from its `test` split unless `split` says otherwise.
    """

    source: str
    split: str | None = None
    limit: int = 64
    before_after: bool = True


@dataclass
class BenchmarkSection:
    """Recipe section `eval.benchmarks`: benchmarks evaluated every `eval.every_steps` steps."""

    names: list[str]
    samples: int = 1
    temperature: float = 0.0
    limit: int | None = None
    langs: list[str] | None = None
    data_dir: str | None = None


@dataclass
class EvalSection:
    """Recipe section `eval`: the held-out before/after eval and the periodic eval.

    `every_steps` > 0 evaluates the policy during training on `benchmarks` (else on the held-out
    set); `prompt`, `max_new_tokens` and `batch_size` apply to both.
    """

    heldout: HeldoutSection | None = None
    benchmarks: BenchmarkSection | None = None
    every_steps: int = 0
    max_new_tokens: int = 128
    batch_size: int = 16
    # The prompt for evaluation; None means the training prompt. A prompt with fewer worked
    # examples than training tests whether the format was learned, not copied from context.
    prompt: PromptSection | None = None

    def prompt_for(self, training_prompt: PromptSection) -> PromptSection:
        """The prompt evaluation uses."""
        return self.prompt if self.prompt is not None else training_prompt

    def check(self) -> None:
        """Refuse settings that would be ignored: every part given must be used."""
        if self.benchmarks is not None and self.every_steps <= 0:
            raise RecipeError("eval.benchmarks: evaluated only during training; set "
                              "eval.every_steps to a step count > 0, or remove eval.benchmarks")
        if self.every_steps > 0 and self.benchmarks is None and self.heldout is None:
            raise RecipeError("eval.every_steps: nothing to evaluate; set eval.benchmarks or "
                              "eval.heldout")
        periodic_on_heldout = self.every_steps > 0 and self.benchmarks is None
        if self.heldout is not None and not (self.heldout.before_after or periodic_on_heldout):
            raise RecipeError("eval.heldout: before_after is false and no periodic eval uses "
                              "it; remove eval.heldout or set eval.every_steps")
