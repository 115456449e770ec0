"""Mutation testing of the code whose mistakes an auditor would be told as truth: ``make mutation``.

``python bench/mutation.py [TARGET ...]`` runs mutmut over each target (default: all) and prints,
per target, how many mutants the tests killed, how many survived and the score. Not part of
``make test`` or CI: a full run takes tens of minutes on 2 cores. See ``docs/mutation.md``.

mutmut only finds a source directory called ``src`` (it names mutants after the path below it and
puts ``mutants/src`` first on ``sys.path``), and its settings live in one ``pyproject.toml``. So each
target gets a work folder ``.mutation/TARGET/`` with ``src -> include`` and ``tests -> tests``
(symlinks), and a ``pyproject.toml`` that is the project's plus the target's ``[tool.mutmut]``:
the files it mutates and the tests that may kill them (mutmut then runs, per mutant, only those of
these tests that call the mutated function). Results, per target, in ``bench/results/mutation/``:
``TARGET.json`` (every mutant and its status, the counts, the wall time) and
``TARGET-survivors.txt`` (each surviving mutant with its diff).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
WORK = PROJECT / ".mutation"
RESULTS = PROJECT / "bench" / "results" / "mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"
# What the tests read besides the package and the tests (mutmut copies these into mutants/).
ALSO_COPY = ("include/config", "expectations", "dags", "plugins", "scripts")
# Slow tests (dag.test() runs) would make every surviving mutant cost minutes.
PYTEST_ARGS = ("-m", "not slow", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Target:
    name: str
    files: tuple[str, ...]  # under include/
    tests: tuple[str, ...]  # test folders or files whose tests may kill these mutants
    # Functions (mutmut mangled names, globs) of those files to mutate; empty: all of them.
    functions: tuple[str, ...] = ()
    about: str = ""
    # Tests of those files left out (pytest node ids): a slow setup that tests nothing of the target.
    deselect: tuple[str, ...] = ()


TARGETS = {
    t.name: t
    for t in (
        Target(
            "evidence",
            ("aimsflow/evidence/*.py",),
            (
                "tests/evidence",
                # The log, witness and tombstone parts of verify are tested where disposals and the
                # readers that verify live (all fast: under 0.2 s a test).
                "tests/retention/test_verify_tombstones.py",
                "tests/retention/test_verify_disposal_kills.py",
                "tests/retention/test_forged_recovery.py",
                "tests/retention/test_plan_trust.py",
                "tests/retention/test_trusted_planning.py",
                "tests/retention/test_verified_readers_disposal.py",
                "tests/risk/test_untrusted.py",
            ),
            about="the evidence package: records, keys, DSSE, the log, witness, seals, verify, listing",
            # Loads the whole DagBag (9 s) to check the DAG's wiring: no evidence code decides there.
            deselect=(
                "tests/retention/test_plan_trust.py::test_the_execute_task_takes_no_plan_key_from_xcom",
            ),
        ),
        Target(
            "retention",
            ("aimsflow/retention/decide.py", "aimsflow/retention/policy.py"),
            # The unit tests of the decision and the policy. Not the rest of tests/retention: its
            # property test takes 35 s (1000 generated stores) and the plan/execute/recovery tests
            # another 40 s, which every surviving mutant would pay (an hour and more on 2 cores).
            (
                "tests/retention/test_decide.py",
                "tests/retention/test_policy.py",
                "tests/retention/test_decide_boundaries.py",
            ),
            about="the retention decision and the policy it applies (durations, holds, classes)",
        ),
        Target(
            "suppression",
            # suppress*.py: where a rewrite may move the suppression (none there today).
            ("aimsflow/fairness/report.py", "aimsflow/fairness/metrics.py", "aimsflow/fairness/suppress*.py"),
            ("tests/fairness",),
            functions=(
                "aimsflow.fairness.report.x__marker__mutmut_*",
                "aimsflow.fairness.report.x_suppress__mutmut_*",
                "aimsflow.fairness.report.x__metric_json__mutmut_*",
                "aimsflow.fairness.report.x__grouping_json__mutmut_*",
                "aimsflow.fairness.report.x__verdict_json__mutmut_*",
                "aimsflow.fairness.report.x_report_to_json__mutmut_*",
                "aimsflow.fairness.metrics.xǁGroupingResultǁsmall_groups__mutmut_*",
                # Whatever else is named after suppression (secondary suppression, a new module).
                "aimsflow.fairness.*suppress*__mutmut_*",
            ),
            about="minimum-group-size suppression of fairness evidence (metrics.json and its verdicts)",
        ),
    )
}


def _toml_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def tests_of(target: Target) -> list[str]:
    """The target's tests that exist (a test file named in advance may not be written yet)."""
    return [t for t in target.tests if (PROJECT / t).exists()]


def prepare(target: Target) -> Path:
    """The target's work folder: symlinks to the code and tests, and its pyproject.toml."""
    work = WORK / target.name
    work.mkdir(parents=True, exist_ok=True)
    links = {"src": "include", "include": "include", "tests": "tests"} | {d: d for d in ALSO_COPY[1:]}
    for link, to in links.items():
        path = work / link
        if not path.is_symlink():
            path.symlink_to(PROJECT / to, target_is_directory=True)
    config = "\n".join(
        [
            "",
            "# --- generated by bench/mutation.py for the target " + json.dumps(target.name),
            "[tool.mutmut]",
            'source_paths = ["src"]',
            "only_mutate = " + _toml_list([f"src/{f}" for f in target.files]),
            "also_copy = " + _toml_list(list(ALSO_COPY)),
            "pytest_add_cli_args = "
            + _toml_list([*PYTEST_ARGS, *(a for d in target.deselect for a in ("--deselect", d))]),
            "pytest_add_cli_args_test_selection = " + _toml_list(tests_of(target)),
            "max_stack_depth = -1",
            "",
        ]
    )
    (work / "pyproject.toml").write_text((PROJECT / "pyproject.toml").read_text() + config)
    return work


def statuses(work: Path) -> dict[str, str]:
    """mutant name -> status (killed, survived, timeout, no tests, ...), from mutmut's .meta files."""
    from mutmut.stats import status_by_exit_code

    out = {}
    for meta in sorted((work / "mutants" / "src").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[name] = status_by_exit_code[code]
    return out


def selected(target: Target, names: dict[str, str]) -> dict[str, str]:
    if not target.functions:
        return names
    return {n: s for n, s in names.items() if any(fnmatch(n, f) for f in target.functions)}


def diffs(work: Path, env: dict[str, str], names: list[str]) -> Iterator[tuple[str, str]]:
    """(name, diff) of each mutant: as ``mutmut show`` prints it, but in this process (a ``mutmut``
    process per mutant costs a second each, minutes for hundreds of survivors)."""
    if not names:
        return
    cwd = os.getcwd()
    os.chdir(work)
    try:
        from mutmut.configuration import reset_config
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        reset_config()
        for name in names:
            try:
                yield name, f"# {name}\n" + get_diff_for_mutant(name).strip()
            except Exception:  # an internal of mutmut changed: fall back on its command
                shown = subprocess.run(
                    [str(MUTMUT), "show", name],
                    cwd=work,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                yield name, shown.stdout.strip() or shown.stderr.strip()
    finally:
        os.chdir(cwd)


def run(
    target: Target,
    max_children: int,
    timeout: float,
    only: tuple[str, ...] = (),
    report_only: bool = False,
    recheck: bool = False,
    rerun: tuple[str, ...] = (),
) -> dict:
    """One fresh mutmut run of ``target`` (mutmut's cache would keep a "survived" that a new test
    kills), limited to the mutants matching ``only`` if given; with ``report_only``, the report of
    the last run left in ``.mutation/TARGET`` (its wall time is not known then).

    With ``recheck``: only the mutants the last full report (``TARGET.json``) left undetected or did
    not reach run again, and that report is updated with their new status. Valid while the code is unchanged and
    tests were only added: a mutant a test killed stays killed when more tests are added. Where code
    did change since that run, ``rerun`` (mutant name globs, e.g. the changed function's
    ``aimsflow.evidence.storage.xǁLocalStorageǁiter_dirs_with__mutmut_*``) runs every mutant of it
    again and replaces the run's entries for it (its mutants are numbered anew)."""
    work = WORK / target.name
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(work / "mutants" / "src")
    if report_only:
        return _report(target, work, env, only, None, None, False, max_children)
    base = None
    if recheck:
        base = json.loads((RESULTS / f"{target.name}.json").read_text())
        # Undetected, and not reached (a run cut short): their status is still open.
        open_ = [n for n, s in base["mutants"].items() if s in ("survived", "no tests", "not checked")]
        # With --only too: just those of them (a test written for a few survivors).
        only = tuple(n for n in open_ if not only or any(fnmatch(n, o) for o in only))
        only = (*(n for n in only if not any(fnmatch(n, r) for r in rerun)), *rerun)
        if not only:
            return base
    work = prepare(target)
    if (work / "mutants").exists():
        subprocess.run(["rm", "-rf", str(work / "mutants")], check=True)
    # Made before mutmut starts: Python caches "no such folder" for a sys.path entry, and the
    # package would then be imported unmutated from the editable install.
    (work / "mutants" / "src").mkdir(parents=True)
    # Subprocesses a test starts (the CLI, a second writer) import the mutated package too (env).
    names = only or target.functions
    command = [str(MUTMUT), "run", "--max-children", str(max_children), *names]
    log = work / "mutmut.log"  # mutmut's own output (a progress spinner): not a result
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timed_out = False
    with log.open("w") as out:
        try:
            proc = subprocess.run(
                command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            timed_out, code = True, None
    seconds = time.monotonic() - started
    return _report(target, work, env, only, round(seconds, 1), code, timed_out, max_children, base, rerun)


def _report(
    target: Target,
    work: Path,
    env: dict[str, str],
    only: tuple[str, ...],
    seconds: float | None,
    code: int | None,
    timed_out: bool,
    max_children: int,
    base: dict | None = None,
    rerun: tuple[str, ...] = (),
) -> dict:
    mutants = selected(target, statuses(work))
    if only:
        mutants = {n: s for n, s in mutants.items() if any(fnmatch(n, o) for o in only)}
    if base is not None:  # a recheck: the full run's statuses, with the rechecked ones updated
        # Globs of --rerun stand for every current mutant they match; the old entries they match go.
        only = (
            *(n for n in only if n not in rerun),
            *(n for n in mutants if any(fnmatch(n, r) for r in rerun)),
        )
        base = base | {
            "mutants": {n: s for n, s in base["mutants"].items() if not any(fnmatch(n, r) for r in rerun)}
        }
        rechecked = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": seconds,
            "mutants": len(only),
            "killed_now": sum(1 for n in only if mutants.get(n) in ("killed", "timeout")),
            "tests": tests_of(target),
            "mutmut_exit": code,
            "timed_out": timed_out,
            "rerun": list(rerun),
        }
        verdicts = ("killed", "timeout", "survived", "no tests")  # not "not checked": a cut recheck
        # A rerun mutant keeps whatever status it has now (its old entry is gone): "not checked" too.
        mutants = base["mutants"] | {
            n: mutants[n]
            for n in only
            if mutants.get(n) in verdicts or (n in mutants and any(fnmatch(n, r) for r in rerun))
        }
        only, seconds, code, timed_out = (), base["seconds"], base["mutmut_exit"], base["timed_out"]
    counts = Counter(mutants.values())
    # Detected: killed, or a test hung or looped on it (timeout). Undetected: survived, and "no tests"
    # (no selected test even runs the mutated function). Not checked (a run cut by the timeout),
    # suspicious or segfault are left out of the score and shown beside it.
    detected = counts.get("killed", 0) + counts.get("timeout", 0)
    undetected = counts.get("survived", 0) + counts.get("no tests", 0)
    survivors = sorted(n for n, s in mutants.items() if s in ("survived", "no tests"))
    report = {
        "target": target.name,
        "about": target.about,
        "files": list(target.files),
        "functions": list(only or target.functions),
        "tests": tests_of(target),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": seconds,
        "max_children": max_children,
        "mutmut_exit": code,
        "timed_out": timed_out,
        "counts": dict(sorted(counts.items())),
        "score": round(detected / (detected + undetected), 4) if detected + undetected else None,
        "mutants": dict(sorted(mutants.items())),
    }
    if base is not None:
        report["when"], report["tests"] = base["when"], base["tests"]
        report["rechecks"] = [*base.get("rechecks", []), rechecked]
    # A run limited by --only must not overwrite the report of the whole target.
    stem = f"{target.name}-only" if only else target.name
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    with (RESULTS / f"{stem}-survivors.txt").open("w") as out:
        out.write(
            f"# {len(survivors)} undetected mutants of target {target.name!r} ({report['when']}): "
            "survived, or no selected test runs the function (no tests)\n\n"
        )
        for name, text in diffs(work, env, survivors):
            out.write(f"# {mutants[name]}\n{text}\n\n")
    return report


def line(report: dict) -> str:
    c = report["counts"]
    score = "n/a" if report["score"] is None else f"{report['score']:.1%}"
    others = {k: v for k, v in c.items() if k not in ("killed", "survived", "timeout", "no tests")}
    return (
        f"{report['target']:<12} killed {c.get('killed', 0):>5}  timeout {c.get('timeout', 0):>3}  "
        f"survived {c.get('survived', 0):>4}  no tests {c.get('no tests', 0):>3}  score {score:>6}  "
        + ("" if report["seconds"] is None else f"  {report['seconds']:>6.0f} s")
        + (f"  other {others}" if others else "")
        + ("  (STOPPED AT THE TIMEOUT)" if report["timed_out"] else "")
        + "".join(
            f"  + recheck of {r['mutants']}: {r['killed_now']} killed now, {r['seconds']:.0f} s"
            for r in report.get("rechecks", [])
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="default: all of " + ", ".join(TARGETS))
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per target (default 3600)")
    parser.add_argument("--only", action="append", default=[], help="mutant name glob (repeatable)")
    parser.add_argument("--report-only", action="store_true", help="report the last run again, run nothing")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="run again only what the last full run left undetected or did not reach; update its report",
    )
    parser.add_argument(
        "--rerun",
        action="append",
        default=[],
        help="with --recheck: mutant name glob of code changed since the full run, all run again (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.rerun and not args.recheck:
        parser.error("--rerun goes with --recheck (a full run runs everything anyway)")
    if unknown := sorted(set(args.targets) - set(TARGETS)):
        parser.error(f"unknown target(s) {unknown}; known: {', '.join(TARGETS)}")
    if not MUTMUT.exists():
        print(f"no {MUTMUT}: `make mutation` installs it (requirements-mutation.txt)", file=sys.stderr)
        return 2
    reports = []
    for name in args.targets or TARGETS:
        print(f"mutation: {name} ({TARGETS[name].about}) ...", flush=True)
        reports.append(
            run(
                TARGETS[name],
                args.max_children,
                args.timeout,
                tuple(args.only),
                args.report_only,
                args.recheck,
                tuple(args.rerun),
            )
        )
        print(line(reports[-1]), flush=True)
    print(f"\nmutation summary (survivors and diffs: {RESULTS.relative_to(PROJECT)}/TARGET-survivors.txt)")
    for report in reports:
        print(line(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
