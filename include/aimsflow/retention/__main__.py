"""``python -m aimsflow.retention [--execute] [--day YYYY-MM-DD]`` — what ``make retention`` runs.

Runs ``retention_disposal`` through the cycle's driver (:func:`aimsflow.cycle.driver`: same keys,
start date and logical-date rule) for one day — by default yesterday, so that its clock is today
00:00 UTC — then the sealing DAG, so that the plan, certificates and tombstones are sealed at once.
Without ``--execute`` it is a dry run: the plan is written and nothing is deleted.

It refuses (exit code 2, nothing run) while a ``retention_disposal`` run of the scheduler is queued or
running in Airflow's metadata DB (the DB ``dag.test()`` uses), or while the evidence store's lock is
held (a seal, or a recovery or execution, in progress): two retention runs side by side would each
act on the other's disposal folders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass

RETENTION_DAG = "retention_disposal"
#: Run states in which a run may still act on the store.
LIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class LiveRun:
    run_id: str
    state: str
    run_type: str
    triggered_by: str


def live_runs(dag_id: str) -> list[LiveRun]:
    """Runs of ``dag_id`` that are queued or running in Airflow's metadata DB, except ``dag.test()``
    runs: those run in the process that started them (one that died leaves its run "running" for
    ever, and the store lock, released by the kernel, says whether it still acts)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        runs = [
            (r.run_id, str(r.state), r.run_type, r.triggered_by)
            for state in LIVE_STATES
            for r in DagRun.find(dag_id=dag_id, state=DagRunState(state), session=session)
        ]
    return [
        LiveRun(str(run_id), state, str(getattr(run_type, "value", run_type)), str(getattr(by, "value", by)))
        for run_id, state, run_type, by in sorted(runs)
        if by != DagRunTriggeredByType.TEST
    ]


def refusal() -> str | None:
    """Why ``make retention`` must not run now, or None."""
    from aimsflow import settings
    from aimsflow.evidence.lock import is_locked

    holder = is_locked(settings.evidence_root())
    if holder is not None:
        return f"the evidence store {settings.evidence_root()} is locked by {holder}"
    live = live_runs(RETENTION_DAG)
    if live:
        runs = ", ".join(f"{r.run_id} ({r.state}, {r.run_type})" for r in live)
        return f"a {RETENTION_DAG} run of the scheduler is live: {runs}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aimsflow.retention", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--execute", action="store_true", help="delete, verify and certify (default: dry run)"
    )
    parser.add_argument("--day", help="the run's period, YYYY-MM-DD (default: yesterday, UTC)")
    args = parser.parse_args(argv)
    day = (
        dt.date.fromisoformat(args.day) if args.day else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    )

    from aimsflow import settings
    from aimsflow.cycle import driver, plan_cycle
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import load_summaries
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.verify import verify_store
    from aimsflow.periods import Period
    from aimsflow.retention.job import EXECUTE, PLAN

    try:
        why = refusal()
    except Exception as exc:  # no metadata DB to ask: running blind could overlap a scheduled run
        why = f"cannot read Airflow's metadata DB to check for live {RETENTION_DAG} runs: {exc}"
    if why is not None:
        print(f"refused: {why}; nothing was run. Try again when it has finished.", file=sys.stderr)
        return 2
    try:
        with driver(day) as drv:
            period = Period.day(day)
            print(f"task logs: {drv.log}")
            run = drv.run(RETENTION_DAG, period, execute=args.execute)
            _, _, sealing = plan_cycle(drv.bag)
            seal = drv.run(sealing, period)
    except ImportError as exc:
        print(f"IMPORT ERROR {exc}", file=sys.stderr)
        return 3
    storage = LocalStorage(settings.evidence_root())
    mine = [r for r in load_summaries(storage) if r.producer.get("run_id") == run.run_id]
    for rec in sorted(mine, key=lambda r: r.key):
        print(f"{rec.check:<32} {rec.status:<8} {rec.key}")
        if rec.check == PLAN.check:
            s = rec.summary
            print(
                f"  plan: {s.get('to_delete')} to delete ({s.get('approved')} approved), "
                f"{s.get('excluded')} excluded, holds {s.get('holds_applied')}, errors {s.get('errors')}"
            )
            print(f"  read it: {storage.root / rec.key / 'plan.json'}")
        if rec.check == EXECUTE.check:
            s = rec.summary
            print(
                f"  deleted and certified: {s.get('deleted')}; skipped: {json.dumps(s.get('skipped'))[:300]}"
            )
    report = verify_store(storage, TrustedKeys.load(), Witness())
    verdict = "intact" if report.ok else f"BROKEN ({len(report.problems)} problems)"
    print(f"{RETENTION_DAG}: {run.state}; {seal.dag_id}: {seal.state}; store {verdict}")
    for note in drv.notes:
        print(f"note: {note}")
    if not args.execute:
        print("dry run: nothing was deleted. To delete, verify and certify: make retention EXECUTE=true")
    return 0 if run.state == "success" and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
