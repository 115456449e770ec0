"""Write-once, content-addressed versions of a dataset partition.

A partition is a folder; each write adds ``part-<UTC timestamp>-<sha256[:12]>.parquet`` and never
overwrites or deletes an existing file, so every version an evidence record points to stays
retrievable by its hash. Writing a table whose bytes equal an existing version returns that version
instead of adding a copy, which makes re-runs idempotent. Equal tables give equal bytes: schema
metadata (e.g. the pandas block, which carries library versions) is dropped and the writer options
are pinned; the only embedded producer string is the pyarrow version.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aimsflow.fsutil import atomic_write
from aimsflow.results import sha256_bytes, sha256_file

_PATTERN = "part-*.parquet"
_WRITE_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}


def write_version(table: pa.Table, folder: Path) -> tuple[Path, bool]:
    """Store ``table`` as a new version in ``folder``; return ``(path, True)``, or ``(existing, False)``
    when a version with the same SHA-256 is already there."""
    folder = Path(folder)
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, **_WRITE_OPTIONS)
    data = sink.getvalue().to_pybytes()
    digest = sha256_bytes(data)
    for existing in sorted(folder.glob(f"part-*-{digest[:12]}.parquet")):
        if sha256_file(existing) == digest:
            return existing, False
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"part-{stamp}-{digest[:12]}.parquet"
    if not atomic_write(target, data, overwrite=False):  # link, unlike rename, never replaces a file
        raise FileExistsError(f"{target} already exists")
    return target, True


def latest_version(folder: Path) -> Path | None:
    """The newest version in ``folder`` (names sort by their UTC timestamp), or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    versions = sorted(folder.glob(_PATTERN))
    return versions[-1] if versions else None
