"""The one path abstraction under the evidence store.

Jobs and the store speak in POSIX keys relative to the store root (``records/2026-11-25/...``).
:class:`LocalStorage` maps them to a folder; an object store needs only another class with these
methods (write-once puts map to conditional PUTs with ``If-None-Match: *``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from aimsflow.fsutil import atomic_write, fsync_dir, write_synced


class WriteOnceError(FileExistsError):
    """An object or record already exists: evidence is never overwritten."""


class Storage(Protocol):
    def put_dir_once(self, key: str, files: dict[str, bytes | Path], last: tuple[str, ...] = ()) -> None: ...
    def put_once(self, key: str, data: bytes) -> None: ...
    def replace(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def sha256(self, key: str) -> str: ...
    def list_files(self, prefix: str) -> list[str]: ...
    def iter_dirs_with(self, prefix: str, marker: str) -> Iterator[str]: ...
    def remove_dir(self, key: str) -> None: ...
    def describe(self, key: str) -> str: ...


class LocalStorage:
    """A folder. Writes are staged under ``.staging/`` and renamed into place, so a reader sees a
    whole object or nothing, and a crash leaves at most an orphan in ``.staging/``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._root = str(self.root)

    def path(self, key: str) -> Path:
        return Path(self._fspath(key))

    def _fspath(self, key: str) -> str:
        """The file path of ``key`` as a string: the per-file reads of ``verify`` (three per record file)
        skip building a ``Path`` (~15 us each, ~0.6 s over 10,000 records)."""
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return f"{self._root}/{key}" if key else self._root

    def describe(self, key: str) -> str:
        return str(self.path(key))

    def _staging(self) -> Path:
        staging = self.root / ".staging" / uuid.uuid4().hex
        staging.mkdir(parents=True)
        return staging

    @staticmethod
    def _write_file(path: Path, content: bytes | Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_synced(path, content)

    def put_dir_once(self, key: str, files: dict[str, bytes | Path], last: tuple[str, ...] = ()) -> None:
        """Write a folder of files atomically; ``last`` names (the manifest) are written after the rest,
        each via temp file, fsync and rename. Raises :class:`WriteOnceError` if ``key`` exists."""
        target = self.path(key)
        if target.exists():
            raise WriteOnceError(f"{target} already exists; evidence is write-once")
        staging = self._staging()
        try:
            for name in sorted(files, key=lambda n: n in last):
                if name in last:
                    tmp = staging / f".{name}.tmp"
                    self._write_file(tmp, files[name])
                    os.rename(tmp, staging / name)
                else:
                    self._write_file(staging / name, files[name])
            fsync_dir(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise WriteOnceError(f"{target} already exists; evidence is write-once")
            # Renaming a folder onto an existing non-empty folder fails, so this cannot overwrite.
            os.rename(staging, target)
            fsync_dir(target.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def put_once(self, key: str, data: bytes) -> None:
        target = self.path(key)
        # link() fails if the target exists: no overwrite, no race.
        if not atomic_write(target, data, overwrite=False):
            raise WriteOnceError(f"{target} already exists; evidence is write-once")

    def replace(self, key: str, data: bytes) -> None:
        """Atomic overwrite, for pointers outside the append-only store (the witness head)."""
        atomic_write(self.path(key), data)

    def get(self, key: str) -> bytes:
        with open(self._fspath(key), "rb") as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        return os.path.exists(self._fspath(key))

    def size(self, key: str) -> int:
        return os.stat(self._fspath(key)).st_size

    def sha256(self, key: str) -> str:
        with open(self._fspath(key), "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()

    def list_files(self, prefix: str) -> list[str]:
        """Every file below ``prefix`` as a key relative to it (hidden temp files included: they are
        not part of any record, so verification reports them)."""
        out: list[str] = []

        def walk(folder: str, rel: str) -> None:
            # os.scandir, not Path.rglob: no Path object per file (4x faster on 30,000 files). Same
            # semantics: symlinked folders are not entered, a symlink to a file counts as a file.
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        walk(entry.path, f"{rel}{entry.name}/")
                    elif entry.is_file():
                        out.append(f"{rel}{entry.name}")

        base = self.path(prefix)
        if base.is_dir():
            walk(str(base), "")
        return sorted(out)

    def iter_dirs_with(self, prefix: str, marker: str) -> Iterator[str]:
        """Keys of folders under ``prefix`` that contain a file named ``marker``. A ``marker`` in
        ``prefix`` itself makes no such folder, and no marker hides the folders below its own: a
        stray one (a file or a link planted in ``records/<period>/``) is yielded for the caller to
        refuse, the records below it still are."""
        base = self.path(prefix)
        if not base.exists():
            return
        top = str(base)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            if marker in filenames and dirpath != top:
                yield Path(dirpath).relative_to(self.root).as_posix()

    def remove_dir(self, key: str) -> None:
        shutil.rmtree(self.path(key))
