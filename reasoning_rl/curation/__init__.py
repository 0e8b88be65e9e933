"""Data curation commands (`reasoning-rl data ...`): difficulty filtering, translation and
decontamination of canonical rows."""
