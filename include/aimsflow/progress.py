"""Progress of long work on stderr, never on stdout (stdout carries results and ``--json`` documents).

On by default only when stderr is a terminal; ``enabled=True`` (the CLI's ``--progress``) forces it,
``False`` (``--no-progress``) silences it. On a terminal one line is redrawn in place and cleared at
the end; elsewhere (a forced log file) a plain line is written at most once a second, plus the last.

    with Progress("verifying", enabled=args.progress) as progress:
        verify_store(..., progress=progress)            # called as progress(done, total)
        progress.update(3, 9, note="data_quality 2026-11-20")

Standard library only: ``aimsflow evidence verify`` uses it in the verify-only install.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def progress_enabled(flag: bool | None, stream: TextIO | None = None) -> bool:
    """``flag`` when given, else whether ``stream`` (default stderr) is a terminal."""
    if flag is not None:
        return flag
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A counter with a label; a no-op when disabled, so callers never branch on it."""

    def __init__(
        self,
        label: str,
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        min_interval: float | None = None,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(enabled, self.stream)
        self.tty = progress_enabled(None, self.stream)
        # Redrawing faster than ~10/s costs time and shows nothing; a log file gets one line a second.
        self.min_interval = min_interval if min_interval is not None else (0.1 if self.tty else 1.0)
        self.done = 0
        self.total: int | None = None
        self.note = ""
        self._last = float("-inf")
        self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, done: int, total: int | None = None) -> None:
        """The ``progress(done, total)`` callback shape of ``verify_store`` and ``load_summaries``."""
        self.update(done, total)

    def update(self, done: int, total: int | None = None, *, note: str | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if note is not None:
            self.note = note
        if not self.enabled:
            return
        now = time.monotonic()
        final = self.total is not None and done >= self.total
        if now - self._last < self.min_interval and not final:
            return
        self._last = now
        self._write(self.line())

    def line(self) -> str:
        if self.total:
            count = f"{self.done}/{self.total} ({100 * self.done // self.total}%)"
        else:
            count = str(self.done) if self.done else ""  # nothing counted yet: the label and note say it
        return " ".join(part for part in (self.label, count, self.note) if part)

    def _write(self, text: str) -> None:
        if self.tty:
            pad = max(self._width - len(text), 0)
            self.stream.write(f"\r{text}{' ' * pad}")
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the redrawn line (a terminal) so that what follows starts on a clean line."""
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
