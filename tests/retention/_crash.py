"""Crash injection and deletion counting for the disposal protocol's durable steps."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from aimsflow.retention import dispose

#: The durable steps of one disposal, in order (see aimsflow.retention.dispose).
STEPS = (
    "write_intent",
    "take",
    "record_taken",
    "mark_purging",
    "purge",
    "write_tombstone",
    "write_certificate",
    "close_marker",
)


class SimulatedCrash(BaseException):  # noqa: N818 - a process dying, not an error anything may catch
    """The process dies here. A BaseException, so that no ``except Exception`` in the code under test
    (or in Airflow's wrapper) can swallow it, just as nothing survives a killed process."""


@contextmanager
def crash_at(step: str, nth: int = 1, when: str = "after") -> Iterator[None]:
    """Die just before or just after the ``nth`` call of ``step``."""
    original = getattr(dispose, step)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth and when == "before":
            raise SimulatedCrash(f"before {step} #{nth}")
        out = original(*args, **kwargs)
        if calls == nth and when == "after":
            raise SimulatedCrash(f"after {step} #{nth}")
        return out

    with mock.patch.object(dispose, step, wrapper):
        yield


def _object_of(marker: Path) -> str:
    return json.loads((marker / dispose.INTENT).read_bytes())["item"]["object_id"]


@contextmanager
def counting() -> Iterator[dict[str, Counter]]:
    """Count, per object id, how often it was taken from its URI, purged and put back."""
    counts: dict[str, Counter] = {"take": Counter(), "purge": Counter(), "restore": Counter()}
    originals = {name: getattr(dispose, name) for name in counts}

    def wrap(name: str):
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            marker = args[1] if name == "take" else args[0]
            counts[name][_object_of(marker)] += 1
            return originals[name](*args, **kwargs)

        return wrapper

    with (
        mock.patch.object(dispose, "take", wrap("take")),
        mock.patch.object(dispose, "purge", wrap("purge")),
        mock.patch.object(dispose, "restore", wrap("restore")),
    ):
        yield counts
