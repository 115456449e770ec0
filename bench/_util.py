"""Shared helpers for the benchmarks: paths, logging, timing, medians and child environments."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"

# A parent make's job-server and flags must not leak into the make we start.
_MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays the results table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    candidate = REPO / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def clean_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus every ``AIMSFLOW_*`` option and make's own variables, plus
    ``overrides``: a child never signs with, or writes to, the user's keys and stores by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMSFLOW_") and k not in _MAKE_VARS}
    env.update(overrides or {})
    return env


def make_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the Makefile gives its recipes (its ``export``s applied to :func:`clean_env`),
    asked from make itself so it never drifts from the Makefile."""
    proc = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "__bench_env: ; @env -0", "__bench_env"],
        cwd=REPO,
        env=clean_env(overrides),
        capture_output=True,
        check=True,
        timeout=60,
    )
    pairs = (item.split("=", 1) for item in proc.stdout.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k not in _MAKE_VARS}


def run_timed(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    timeout: float | None = None,
) -> tuple[float, int]:
    """Wall seconds and exit code of one command; its output goes to ``log_file`` or nowhere."""
    out: Any = subprocess.DEVNULL
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_file, "wb")  # closed in the finally below
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
        return time.perf_counter() - start, proc.returncode
    finally:
        if log_file is not None:
            out.close()


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def stats(samples: Sequence[float]) -> dict[str, Any]:
    """Median (the figure we report), spread, and every sample rounded to the millisecond."""
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
        "n": len(samples),
        "samples": [round(s, 4) for s in samples],
    }


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain")),
    }


def tree_stats(root: Path) -> tuple[int, int]:
    """(regular files, bytes) below ``root``."""
    files = size = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size
