"""File-system durability shared by every writer (evidence store, partitions, lineage, retention,
keys, the demo source): one way to write a file atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename or link in ``path`` durable: the folder entry itself must reach the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """A hidden temp name beside ``path``, unique per writer (``.name.<uuid>.tmp``): readers and
    retention skip hidden files, so a crash leaves an orphan nobody mistakes for the file."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def write_synced(path: Path, content: bytes | Path) -> None:
    """Create ``path`` (never overwriting) with ``content`` (bytes, or a file to copy) and fsync it."""
    with open(path, "xb") as out:
        if isinstance(content, bytes):
            out.write(content)
        else:
            with open(content, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def publish(temp: Path, final: Path, *, overwrite: bool) -> None:
    """Put a synced temp file in place: ``rename`` over an existing file, or ``link``, which fails
    instead of replacing one (module level, so tests can inject a crash between the steps)."""
    if overwrite:
        os.replace(temp, final)
    else:
        os.link(temp, final)


def atomic_write(path: Path, content: bytes | Path, *, overwrite: bool = True) -> bool:
    """Write ``path`` so that a reader sees the old file or the whole new one, never a part: temp
    name unique per writer, fsync, rename (or link when ``overwrite`` is False), fsync of the folder.

    Returns False, writing nothing, when ``overwrite`` is False and ``path`` exists."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        write_synced(temp, content)
        try:
            publish(temp, path, overwrite=overwrite)
        except FileExistsError:
            if overwrite:
                raise
            return False
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return True
