"""Weight transport through shared-memory files: whole versions only, the newest two kept."""

from __future__ import annotations

import torch

from reasoning_rl.model.loading import load_model, resolve_model_path
from reasoning_rl.rollout.online.transport import (
    WeightPublisher,
    default_dir,
    latest_version,
    load_version,
)


def test_publishes_the_embedded_model_bit_exactly(tmp_path):
    model = load_model(resolve_model_path("embedded:smollm2-135m-instruct"), "float32")
    folder = default_dir(tmp_path / "run")
    try:
        publisher = WeightPublisher(folder)
        assert latest_version(folder) is None
        publisher.publish(0, model.named_parameters())
        loaded = load_version(folder, 0)
        params = dict(model.named_parameters())
        assert loaded.keys() == params.keys()
        assert all(torch.equal(loaded[name], params[name].detach()) for name in params)
        assert latest_version(folder) == 0
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def test_pointer_moves_only_after_a_version_is_whole_and_old_ones_go(tmp_path):
    (tmp_path / "v7.safetensors").write_text("left by a killed run")
    publisher = WeightPublisher(tmp_path)
    assert latest_version(tmp_path) is None
    for version in range(4):
        publisher.publish(version, [("w", torch.full((3,), float(version)))])
        assert latest_version(tmp_path) == version
        assert load_version(tmp_path, version)["w"].tolist() == [float(version)] * 3
    assert sorted(p.name for p in tmp_path.glob("v*")) == ["v2.safetensors", "v3.safetensors"]
    assert not list(tmp_path.glob(".*tmp"))  # no staging files left behind


def test_a_view_of_a_live_parameter_is_copied_not_aliased(tmp_path):
    weight = torch.zeros(4)
    WeightPublisher(tmp_path).publish(1, [("w", weight[::2])])  # a strided view
    weight.fill_(5.0)
    assert load_version(tmp_path, 1)["w"].tolist() == [0.0, 0.0]
