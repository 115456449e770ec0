"""One writer at a time for the store's structural changes: sealing and retention.

Seals append to the log and retention removes records; run together, a seal could take in a record
retention is removing, or two seals could fork the log. Airflow pools do not bind ``dag.test()`` or
``make retention``, so the store itself carries the lock: an exclusive ``flock`` on ``<store>/.lock``,
released by the kernel when the holder dies (no stale lock after a kill). The holder writes who it is
into the file so a waiter can say what it waits for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".lock"


class StoreBusy(TimeoutError):
    """The store lock stayed held past the timeout."""


def _holder(path: Path) -> str:
    try:
        doc = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "unknown holder"
    return f"{doc.get('holder', 'unknown holder')} (pid {doc.get('pid')}, since {doc.get('since')})"


@contextlib.contextmanager
def store_lock(root: Path, holder: str, timeout: float = 600.0, poll: float = 0.2) -> Iterator[None]:
    """Hold the store's exclusive lock for the block; wait up to ``timeout`` seconds, then raise
    :class:`StoreBusy` naming the holder."""
    path = Path(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"{path}: the evidence store is locked by {_holder(path)}; waited {timeout:.0f} s"
                    ) from None
                time.sleep(poll)
        note = {"holder": holder, "pid": os.getpid(), "since": dt.datetime.now(dt.UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def is_locked(root: Path) -> str | None:
    """The holder when the store lock is held now, else None (a probe; never waits)."""
    path = Path(root) / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(path)
    finally:
        os.close(fd)  # closing releases a lock this probe took
    return None
