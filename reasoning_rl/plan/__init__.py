"""Launch planning without a GPU: parameter counts (`model_size`), memory per GPU (`memory`),
and the launch command, layout and batch of a recipe (`launch`, the `reasoning-rl plan` command).
"""
