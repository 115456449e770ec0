"""make_run_warm: wall time of a warm ``make run`` (the second consecutive one) vs. ``import airflow``.

Keys, evidence, witness and source data go to ``bench/.cache/`` so the user's own store is never
touched. Airflow's metadata DB and task logs are the repo's ``.airflow/`` (``make run`` forces
``AIRFLOW_HOME``), exactly as in a real ``make run``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from _util import CACHE, REPO, clean_env, log, make_env, run_timed, stats, venv_python

NAME = "make_run_warm"
GOAL_SECONDS = 180.0
RUN_DIR = CACHE / "run"
KEYS_DIR = CACHE / "keys"
LOGS = RUN_DIR / "logs"
TIMEOUT = 1800.0


# Every folder option a `make run` writes to, pointed into bench/.cache/ (see _not_isolated).
ISOLATION = {
    "AIMSFLOW_KEYS_DIR": KEYS_DIR,
    "AIMSFLOW_EVIDENCE_ROOT": RUN_DIR / "evidence",
    "AIMSFLOW_WITNESS": RUN_DIR / "witness",
    "AIMSFLOW_DATA_ROOT": RUN_DIR / "data",
    "AIMSFLOW_OPENLINEAGE_DIR": RUN_DIR / "openlineage" / "staging",
}


def _not_isolated(env: dict[str, str]) -> list[str]:
    """``AIMSFLOW_*`` options that the Makefile still points into the repo (outside bench/.cache): a
    new folder option the bench does not know yet. Reported, so the list above gets it."""
    out = []
    for key, value in sorted(env.items()):
        if key.startswith("AIMSFLOW_") and key not in ISOLATION and value.startswith(str(REPO) + "/"):
            if not value.startswith(str(CACHE)):
                out.append(f"{key}={value}")
    return out


def _records(root: Path) -> int:
    """Complete records in the bench's store (folders holding a signed manifest)."""
    base = root / "records"
    return sum(1 for _d, _s, names in os.walk(base) if "manifest.dsse.json" in names) if base.exists() else 0


def _verify_line(log_file: Path) -> str | None:
    lines = log_file.read_text(errors="replace").splitlines()
    return next((line.strip() for line in reversed(lines) if line.startswith("verify:")), None)


def _make_run(env: dict[str, str], label: str) -> dict[str, Any]:
    log_file = LOGS / f"{label}.log"
    before = _records(RUN_DIR / "evidence")
    log(f"{NAME}: make run ({label}), log {log_file}")
    seconds, code = run_timed(["make", "run"], cwd=REPO, env=env, log_file=log_file, timeout=TIMEOUT)
    out = {
        "seconds": round(seconds, 2),
        "exit_code": code,
        "records_before": before,
        "records_added": _records(RUN_DIR / "evidence") - before,
        "verify": _verify_line(log_file),
        "log": str(log_file),
    }
    log(f"{NAME}: {label}: {seconds:.1f} s, exit {code}, {out['records_added']} records added")
    return out


def run(reps: int, make_run_reps: int = 1, reset_run: bool = False, **_: Any) -> dict[str, Any]:
    if reset_run and RUN_DIR.exists():
        shutil.rmtree(RUN_DIR)  # keys in bench/.cache/keys stay, so the signing key is stable
    overrides = {key: str(path) for key, path in ISOLATION.items()}
    env = clean_env(overrides)  # for `make run`: make applies its own exports on top
    import_env = make_env(overrides)  # for the baseline: what make's recipes see
    leaks = _not_isolated(import_env)
    for leak in leaks:
        log(f"{NAME}: WARNING not isolated, the run writes to the repo: {leak}")
    load_before = os.getloadavg()
    python = str(venv_python())

    log(f"{NAME}: baseline python -c 'import airflow' x {reps} (after one warm-up)")
    import_cmd = [python, "-c", "import airflow"]
    run_timed(import_cmd, cwd=REPO, env=import_env)
    import_s = []
    for _ in range(reps):
        seconds, code = run_timed(import_cmd, cwd=REPO, env=import_env)
        if code != 0:
            raise RuntimeError(f"python -c 'import airflow' exited {code}")
        import_s.append(seconds)

    first = _make_run(env, "run1-warmup")
    warm = [_make_run(env, f"run{n + 2}-warm") for n in range(make_run_reps)]

    run_stats, import_stats = stats([w["seconds"] for w in warm]), stats(import_s)
    # Only the timed runs decide: the warm-up's exit code is reported (first_run) but a failure there,
    # e.g. while a DAG is half-edited, does not make the warm measure meaningless.
    failed = [r for r in warm if r["exit_code"] != 0]
    return {
        "ok": not failed,
        "measure": {"label": "make run (warm)", **run_stats},
        "baseline": {"label": "python -c 'import airflow'", **import_stats},
        "ratio": round(run_stats["median"] / import_stats["median"], 1),
        "goal": f"< {GOAL_SECONDS:.0f} s",
        "goal_met": run_stats["median"] < GOAL_SECONDS,
        "details": {
            "not_isolated": leaks,
            "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "first_run": first,
            "warm_runs": warm,
            "evidence_root": str(RUN_DIR / "evidence"),
            "records_in_store": _records(RUN_DIR / "evidence"),
        },
    }
