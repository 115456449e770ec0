"""``python -m aimsflow.retention [--execute] [--day YYYY-MM-DD]`` — what ``make retention`` runs.

Runs ``retention_disposal`` through the cycle's driver (:func:`aimsflow.cycle.driver`: same keys,
start date and logical-date rule) for one day — by default yesterday, so that its clock is today
00:00 UTC — then the sealing DAG, so that the plan, certificates and tombstones are sealed at once.
Without ``--execute`` it is a dry run: the plan is written and nothing is deleted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

RETENTION_DAG = "retention_disposal"


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
