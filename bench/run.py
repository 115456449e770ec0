"""aimsflow benchmarks: ``python bench/run.py [NAME ...]`` (``make bench`` runs them all).

Each benchmark reports the median of several repetitions of a measure and of a baseline timed in
the same run, and their ratio: the machine is shared and noisy, so absolute seconds are context and
the ratio is the figure to compare across runs. Results: ``bench/results/latest.json`` (benchmarks
not run this time keep their previous entry) and one line per invocation in
``bench/results/history.jsonl``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fairness_10m  # noqa: E402
import make_run_warm  # noqa: E402
import read_verified_10k  # noqa: E402
import verify_10k  # noqa: E402
from _util import RESULTS, git_state, log  # noqa: E402

BENCHMARKS = {
    verify_10k.NAME: verify_10k.run,
    read_verified_10k.NAME: read_verified_10k.run,
    fairness_10m.NAME: fairness_10m.run,
    make_run_warm.NAME: make_run_warm.run,
}
MIN_REPS = 3


def _host() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def save(results: dict[str, dict[str, Any]], when: str, git: dict[str, Any]) -> None:
    latest_path = RESULTS / "latest.json"
    latest: dict[str, Any] = {}
    if latest_path.exists():
        try:
            latest = json.loads(latest_path.read_text())
        except ValueError:
            latest = {}
    benchmarks = {name: entry for name, entry in latest.get("benchmarks", {}).items() if name in BENCHMARKS}
    benchmarks.update(results)
    _write_json(latest_path, {"updated_at": when, "host": _host(), "benchmarks": benchmarks})
    line = {
        "date": when,
        "git": git,
        "benchmarks": {
            name: {k: r.get(k) for k in ("ok", "ratio", "goal_met")}
            | {
                "measure_s": r.get("measure", {}).get("median"),
                "baseline_s": r.get("baseline", {}).get("median"),
            }
            for name, r in results.items()
        },
    }
    with open(RESULTS / "history.jsonl", "a") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")


def _cell(part: dict[str, Any] | None) -> str:
    if not part or part.get("median") is None:
        return "-"
    spread = f" [{part['min']:.2f}-{part['max']:.2f}, n={part['n']}]" if part.get("n", 1) > 1 else " [n=1]"
    return f"{part['label']} {part['median']:.2f} s{spread}"


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [("benchmark", "measure (median)", "baseline (median)", "ratio", "goal", "result")]
    for name, r in results.items():
        if "error" in r:
            rows.append((name, "-", "-", "-", "-", f"ERROR {r['error']}"))
            continue
        verdict = "PASS" if r["goal_met"] else "MISS"
        if not r["ok"]:
            verdict = "BROKEN"  # the measured thing itself failed (verify not ok, make run exit != 0)
        ratio = f"{r['ratio']:.3g}" if r.get("ratio") is not None else "-"
        rows.append((name, _cell(r.get("measure")), _cell(r.get("baseline")), ratio, r["goal"], verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for name, r in results.items():
        details = r.get("details", {})
        if name == verify_10k.NAME and details:
            tp = details["throughput"]
            lines.append(
                f"{name}: {details['store_files']} files, {details['store_bytes'] / 1e9:.2f} GB, "
                f"{details['records']} records, {details['seals']} seals, verify ok={details['verify_ok']}; "
                f"verify {tp['verify']['files_per_s']} files/s {tp['verify']['mb_per_s']} MB/s, "
                f"sha256sum {tp['sha256sum']['files_per_s']} files/s {tp['sha256sum']['mb_per_s']} MB/s; "
                f"per-rep ratios {details['pair_ratios']}; CPU s verify {details['cpu_seconds']['verify']['median']} "
                f"vs sha256sum {details['cpu_seconds']['sha256sum']['median']} (cpu ratio {details['cpu_ratio']}); "
                f"load avg {details['loadavg_1m']}"
            )
            if "profile" in details:
                lines.append(f"{name}: profile {details['profile']}")
        elif name == read_verified_10k.NAME and details:
            lines.append(
                f"{name}: {details['records']} records read, {details['refused']} refused; "
                f"+{details['added_ms_per_record']} ms per record to verify; per-rep ratios "
                f"{details['pair_ratios']}; cpu ratio {details['cpu_ratio']}; load avg {details['loadavg_1m']}"
            )
        elif name == make_run_warm.NAME and details:
            first = details["first_run"]
            lines.append(
                f"{name}: first run {first['seconds']:.1f} s (exit {first['exit_code']}); warm runs "
                + ", ".join(f"{w['seconds']:.1f} s (exit {w['exit_code']})" for w in details["warm_runs"])
                + f"; {details['records_in_store']} records in {details['evidence_root']}"
                + f"; load avg {details['loadavg_1m']}"
            )
            last = details["warm_runs"][-1]
            if last.get("verify"):
                lines.append(f"{name}: last run {last['verify']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {list(BENCHMARKS)})"
    )
    parser.add_argument(
        "--reps", type=int, default=5, help=f"repetitions per measure and baseline (>= {MIN_REPS})"
    )
    parser.add_argument(
        "--make-run-reps", type=int, default=1, help="warm `make run`s to time (each takes minutes)"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild verify_10k's cached store")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile verify_10k even when it meets its goal"
    )
    parser.add_argument("--reset-run", action="store_true", help="empty make_run_warm's evidence/data first")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed, too")
    parser.add_argument("--no-save", action="store_true", help="print the table only; write no results")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    if args.reps < MIN_REPS:
        parser.error(f"--reps must be at least {MIN_REPS}: a median of fewer samples is noise")
    if args.make_run_reps < 1:
        parser.error("--make-run-reps must be at least 1")

    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    git = git_state()
    results: dict[str, dict[str, Any]] = {}
    for name in args.names or list(BENCHMARKS):
        log(f"{name}: start")
        try:
            result = BENCHMARKS[name](
                reps=args.reps,
                make_run_reps=args.make_run_reps,
                rebuild=args.rebuild,
                profile=args.profile,
                reset_run=args.reset_run,
            )
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        results[name] = {
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "git": git,
            **result,
        }

    if not args.no_save:
        save(results, when, git)
    print(table(results))
    if not args.no_save:
        print(f"\nresults: {RESULTS / 'latest.json'} (history: {RESULTS / 'history.jsonl'})")
    broken = any(not r.get("ok") for r in results.values())
    missed = any(not r.get("goal_met", True) for r in results.values())
    return 1 if broken or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
