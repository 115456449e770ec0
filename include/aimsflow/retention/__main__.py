"""``python -m aimsflow.retention [--execute] [--day YYYY-MM-DD]`` — what ``make retention`` runs.

Runs ``retention_disposal`` with ``dag.test()`` (Airflow's own execution path) for one day — by
default yesterday, so that its clock is today 00:00 UTC — then ``evidence_seal``, so that the plan,
certificates and tombstones are sealed at once. Without ``--execute`` it is a dry run: the plan is
written and nothing is deleted. Uses the configured signing key, or the local demo key ``make run``
created (outside the repo).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys


def _demo_signing_key() -> str | None:
    from aimsflow import settings

    if settings.signing_key_b64():
        return None
    from aimsflow.evidence.keys import ensure_demo_key

    key_id, key_file = ensure_demo_key()
    os.environ["AIMSFLOW_SIGNING_KEY_ID"] = key_id
    os.environ["AIMSFLOW_SIGNING_KEY"] = key_file.read_text().split()[1]
    return f"signing with DEMO key {key_id} from {key_file} (not for production)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aimsflow.retention", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--execute", action="store_true", help="delete, verify and certify (default: dry run)"
    )
    parser.add_argument("--day", help="the run's period, YYYY-MM-DD (default: yesterday, UTC)")
    args = parser.parse_args(argv)
    os.environ.setdefault("AIMSFLOW_RETRY_DELAY_SECONDS", "1")  # dag.test() waits out retry delays
    day = (
        dt.date.fromisoformat(args.day) if args.day else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    )
    note = _demo_signing_key()

    from airflow.dag_processing.dagbag import DagBag

    from aimsflow import settings
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import load_summaries
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.verify import verify_store
    from aimsflow.periods import Period

    os.environ["AIMSFLOW_START_DATE"] = min(settings.start_date(), day).isoformat()
    bag = DagBag(str(settings.project_root() / "dags"))
    for path, err in bag.import_errors.items():
        print(f"IMPORT ERROR {path}: {err}")
    if bag.import_errors:
        return 2
    period = Period.day(day)
    run = bag.get_dag("retention_disposal").test(
        logical_date=period.end, run_conf={"period": period.label, "execute": args.execute}
    )
    seal = bag.get_dag("evidence_seal").test(logical_date=period.end, run_conf={"period": period.label})
    storage = LocalStorage(settings.evidence_root())
    mine = [r for r in load_summaries(storage) if r.producer.get("run_id") == run.run_id]
    for rec in sorted(mine, key=lambda r: r.key):
        print(f"{rec.check:<22} {rec.status:<8} {rec.key}")
        if rec.check == "retention/plan":
            s = rec.summary
            print(
                f"  plan: {s.get('to_delete')} to delete ({s.get('approved')} approved), "
                f"{s.get('excluded')} excluded, holds {s.get('holds_applied')}, errors {s.get('errors')}"
            )
            print(f"  read it: {storage.root / rec.key / 'plan.json'}")
        if rec.check == "retention/execution":
            s = rec.summary
            print(
                f"  deleted and certified: {s.get('deleted')}; skipped: {json.dumps(s.get('skipped'))[:300]}"
            )
    report = verify_store(storage, TrustedKeys.load(), Witness())
    verdict = "intact" if report.ok else f"BROKEN ({len(report.problems)} problems)"
    print(f"retention_disposal: {run.state}; evidence_seal: {seal.state}; store {verdict}")
    if note:
        print(f"note: {note}")
    if not args.execute:
        print("dry run: nothing was deleted. To delete, verify and certify: make retention EXECUTE=true")
    return 0 if str(run.state) == "success" and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
