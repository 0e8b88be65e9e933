"""Rollouts: what the sampler sees and runs.

- `engines`: the transformers and vLLM engines TRL samples with (stop strings, CPU defaults);
- `vllm_cpu`: TRL's colocated vLLM engine on vLLM's CPU backend (weight sync that works there);
- `scaffold`: the prompt a base model's sampler is shown early on (worked examples, faded out);
- `seeding`: per-request seeds, so a run's samples depend on (seed, step, round, row) only;
- `trl_patches`: every change made inside TRL or to the policy's `generate`, scoped, in one place;
- `online/`: asynchronous RL, a generator process with bounded staleness and weight updates.

Importing this package loads neither torch, TRL nor vLLM; import the modules you need.
"""
