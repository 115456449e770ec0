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
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aimsflow.fsutil import fsync_dir
from aimsflow.results import sha256_file

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
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table.replace_schema_metadata(None), fh, **_WRITE_OPTIONS)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
        for existing in sorted(folder.glob(f"part-*-{digest[:12]}.parquet")):
            if sha256_file(existing) == digest:
                return existing, False
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"part-{stamp}-{digest[:12]}.parquet"
        os.link(tmp, target)  # unlike rename, fails instead of replacing an existing file
        fsync_dir(folder)
        return target, True
    finally:
        tmp.unlink(missing_ok=True)


def latest_version(folder: Path) -> Path | None:
    """The newest version in ``folder`` (names sort by their UTC timestamp), or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    versions = sorted(folder.glob(_PATTERN))
    return versions[-1] if versions else None
