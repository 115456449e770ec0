"""The one atomic-write helper: whole file or none, never overwriting when told not to."""

from __future__ import annotations

import pytest

from aimsflow import fsutil
from aimsflow.fsutil import atomic_write


def test_writes_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a" / "doc.json"
    assert atomic_write(path, b"one") and path.read_bytes() == b"one"
    assert atomic_write(path, b"two") and path.read_bytes() == b"two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["doc.json"]


def test_without_overwrite_an_existing_file_is_kept_and_false_returned(tmp_path):
    path = tmp_path / "batch.csv"
    assert atomic_write(path, b"first", overwrite=False)
    assert atomic_write(path, b"second", overwrite=False) is False
    assert path.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["batch.csv"]


def test_copies_a_file(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(b"x" * 3_000_000)
    assert (
        atomic_write(tmp_path / "dst.bin", source)
        and (tmp_path / "dst.bin").read_bytes() == source.read_bytes()
    )


def test_a_failure_before_publishing_leaves_the_old_file_whole_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "head.json"
    atomic_write(path, b"old")

    def fail(temp, final, overwrite):
        raise OSError("disk gone")

    monkeypatch.setattr(fsutil, "publish", fail)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["head.json"]


def test_temp_names_are_hidden_and_unique_per_writer(tmp_path):
    a, b = fsutil.temp_path(tmp_path / "x.json"), fsutil.temp_path(tmp_path / "x.json")
    assert a != b and a.name.startswith(".x.json.") and a.name.endswith(".tmp")
