"""The Magistral objective (arXiv 2506.10910, section 2.1) on top of TRL's GRPOTrainer.

One concept per module, in the order a step uses them (the recipe section `objective:` and
the TRL settings it needs live in `reasoning_rl.recipe.objective_section`):

- `scaffold`: which groups the sampler sees with worked examples (base checkpoints);
- `loss`: the equations as pure tensor functions (advantages, minibatch normalisation, group
  weights, clipped surrogate, truncated importance weights);
- `batch`: selecting, stacking and splitting the rows of TRL's batch dict;
- `shared_prefix`: scoring (and transformers prefill) with each distinct prompt forwarded
  once, exact to float32 round-off, with a logged per-sample fallback;
- `shared_prefix_trainer`: that scoring inside TRL's GRPOTrainer, for both algorithms;
- `trainer`: `MagistralGRPOTrainer`, the TRL seam (imports torch and TRL).

Importing this package loads neither torch nor TRL; import the modules you need.
"""
