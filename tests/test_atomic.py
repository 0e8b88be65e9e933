"""Atomic writes: the destination is the old content or the new one, never a half-written mix."""

from __future__ import annotations

import json

import pytest

from reasoning_rl.atomic import atomic_path, write_json_atomic


def test_a_failed_write_leaves_the_old_file_and_no_staging(tmp_path):
    target = tmp_path / "summary.json"
    write_json_atomic(target, {"steps": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as staging:
        staging.write_text('{"steps": 2, "trunc')
        raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"steps": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_folder_replaces_the_previous_folder_whole(tmp_path):
    target = tmp_path / "final"
    for files in (["a.bin", "b.bin"], ["c.bin"]):
        with atomic_path(target, durable=True) as staging:
            staging.mkdir()
            for name in files:
                (staging / name).write_text(name)
    assert sorted(p.name for p in target.iterdir()) == ["c.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["final"]


def test_keep_existing_keeps_what_another_writer_finished_first(tmp_path):
    target = tmp_path / "model"
    with atomic_path(target, keep_existing=True) as staging:
        staging.mkdir()
        (staging / "ours").write_text("")
        target.mkdir()  # a concurrent process renamed its copy into place meanwhile
        (target / "theirs").write_text("")
    assert [p.name for p in target.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
