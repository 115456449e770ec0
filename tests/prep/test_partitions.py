"""Write-once, content-addressed partition versions."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aimsflow.prep.partitions import latest_version, write_version
from aimsflow.results import sha256_file

NAME = re.compile(r"^part-\d{8}T\d{12}Z-[0-9a-f]{12}\.parquet$")


def _table(n: int = 3) -> pa.Table:
    return pa.table({"id": [f"a{i}" for i in range(n)], "x": [float(i) for i in range(n)], "k": [None] * n})


def test_same_table_gives_same_bytes_and_same_version(tmp_path: Path) -> None:
    first, new = write_version(_table(), tmp_path)
    assert new and NAME.match(first.name)
    assert first.name.endswith(f"-{sha256_file(first)[:12]}.parquet")
    again, new_again = write_version(_table(), tmp_path)
    assert (again, new_again) == (first, False)
    # Equal data through pandas (which adds schema metadata) is still the same version.
    via_pandas = pa.Table.from_pandas(_table().to_pandas(), preserve_index=False).cast(_table().schema)
    assert write_version(via_pandas, tmp_path) == (first, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no temp file left behind


def test_a_different_table_adds_a_version_and_leaves_the_old_one(tmp_path: Path) -> None:
    first, _ = write_version(_table(3), tmp_path)
    before = first.read_bytes()
    second, new = write_version(_table(4), tmp_path)
    assert new and second != first and second.name > first.name
    assert first.read_bytes() == before
    assert latest_version(tmp_path) == second
    assert pq.read_table(second).num_rows == 4 and pq.read_table(first).num_rows == 3
    # Writing the old content again does not make it the latest: the version already exists.
    assert write_version(_table(3), tmp_path) == (first, False)
    assert latest_version(tmp_path) == second


def test_written_table_round_trips(tmp_path: Path) -> None:
    path, _ = write_version(_table(), tmp_path / "nested" / "date=2026-06-30")
    assert pq.read_table(path).equals(_table())
    assert pd.read_parquet(path)["id"].tolist() == ["a0", "a1", "a2"]


def test_latest_version_of_an_empty_or_missing_folder(tmp_path: Path) -> None:
    assert latest_version(tmp_path / "absent") is None
    assert latest_version(tmp_path) is None
    (tmp_path / "notes.txt").write_text("not a version")
    assert latest_version(tmp_path) is None
