"""Online (asynchronous) RL: generation runs in its own process and never waits for training.

`rollout.mode: async` in a recipe turns it on; docs/online_rl.md describes the design.
"""
