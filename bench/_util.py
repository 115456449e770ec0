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

# What the Makefile exports for every target (`export X := ...` forces, `?=` only defaults), so a child
# started by `python bench/run.py` outside make sees the same Airflow configuration as `make bench`.
_AIRFLOW_FORCED = {
    "AIRFLOW_HOME": str(REPO / ".airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{REPO / '.airflow' / 'airflow.db'}",
    "GX_ANALYTICS_ENABLED": "false",
}
_AIRFLOW_DEFAULTS = {
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW__OPENLINEAGE__DISABLED": "True",
}
# A parent make's job-server and flags must not leak into the `make run` we start.
_MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays the results table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    candidate = REPO / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def child_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus every ``AIMSFLOW_*`` option and make's own variables, plus the
    Makefile's Airflow settings and ``overrides``: a child never signs with, or writes to, the user's
    keys and stores by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMSFLOW_") and k not in _MAKE_VARS}
    env.update(_AIRFLOW_FORCED)
    for key, value in _AIRFLOW_DEFAULTS.items():
        env.setdefault(key, value)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides or {})
    return env


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
