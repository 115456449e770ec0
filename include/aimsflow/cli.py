"""``aimsflow`` — the command line for compliance staff and auditors.

    aimsflow evidence verify [--root DIR] [--period P | --since P --until P] [--json]
    aimsflow evidence list   [--control ID] [--dag ID] [--check ID] [--ai-system ID] [--dataset ID]
                             [--status S] [--period P | --since P --until P] [--history] [--json]
    aimsflow keys demo       create a local demo signing key outside the repo
    aimsflow demo generate   drop the demo source system's raw batches
    aimsflow cycle           run the governance cycle with dag.test() (what `make run` does)
    aimsflow nc list         [--status open|closed] [--json]   nonconformities (clause 10.2)
    aimsflow nc close ID     --root-cause TEXT --corrective-action TEXT [--url URL] [--username U]
                             [--wait SECONDS]   triggers the nonconformity_close DAG (REST API)

Periods: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026, or A..B.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from aimsflow import settings
from aimsflow.periods import Period, parse_period, period_between


def _period_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", help="one period: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026 or A..B")
    parser.add_argument("--since", help="start of a range (inclusive, any period syntax)")
    parser.add_argument("--until", help="end of a range (inclusive, any period syntax)")


def _period(args: argparse.Namespace) -> Period | None:
    if args.period and (args.since or args.until):
        raise SystemExit("aimsflow: use --period or --since/--until, not both")
    try:
        return parse_period(args.period) if args.period else period_between(args.since, args.until)
    except ValueError as exc:
        raise SystemExit(f"aimsflow: {exc}") from None


def _storage(args: argparse.Namespace):
    from aimsflow.evidence.storage import LocalStorage

    root = Path(args.root).resolve() if getattr(args, "root", None) else settings.evidence_root()
    if not root.exists():
        raise SystemExit(f"aimsflow: evidence store {root} does not exist")
    return LocalStorage(root)


def cmd_verify(args: argparse.Namespace) -> int:
    from aimsflow.evidence.keys import KeyError_, TrustedKeys
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.verify import verify_store

    storage = _storage(args)
    try:
        keys = TrustedKeys.load()
    except KeyError_ as exc:
        raise SystemExit(f"aimsflow: {exc}") from None
    period = _period(args)
    if sys.stderr.isatty() and not args.json:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("hashing", total=None)
            report = verify_store(
                storage,
                keys,
                Witness(),
                period,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    else:
        report = verify_store(storage, keys, Witness(), period)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        head = f"seal {report.head.sequence}" if report.head else "no seal yet"
        print(
            f"{storage.root}: {report.records_checked} records, {report.files_checked} files "
            f"({report.bytes_hashed / 1e6:.1f} MB), {report.seals_checked} seals, head {head}"
        )
        if report.pending:
            print(f"pending (not sealed yet, sealed by the next evidence_seal run): {len(report.pending)}")
        if report.disposed:
            print(f"lawfully disposed of (a valid tombstone names each): {len(report.disposed)}")
        for problem in report.problems:
            print(f"BROKEN {problem}")
        print("OK: evidence intact" if report.ok else f"FAILED: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    from aimsflow.evidence.listing import filter_records, load_summaries

    records = filter_records(
        load_summaries(_storage(args)),
        control=args.control,
        dag=args.dag,
        check=args.check,
        ai_system=args.ai_system,
        dataset=args.dataset,
        status=args.status,
        period=_period(args),
        history=args.history,
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2, default=str))
        return 0
    header = f"{'period':<12} {'status':<8} {'check':<34} {'subject':<36} {'controls':<24} record"
    print(header)
    for r in records:
        subject = "/".join(
            v
            for v in (r.subject.get("dataset") or r.subject.get("ai_system"), r.subject.get("partition"))
            if v
        )
        mark = " (superseded)" if r.superseded else ""
        sealed = "" if r.sealed_in else " [pending seal]"
        print(
            f"{r.period.label:<12} {r.status:<8} {r.check:<34} {subject:<36} {','.join(r.controls):<24} "
            f"{r.key}{mark}{sealed}"
        )
    print(f"{len(records)} record(s)" + ("" if args.history else " (current verdicts; --history for all)"))
    return 0


def cmd_keys_demo(args: argparse.Namespace) -> int:
    from aimsflow.evidence.keys import ensure_demo_key, ensure_demo_pseudonym_key

    key_id, key_file = ensure_demo_key()
    print(f"DEMO signing key {key_id} at {key_file} (outside the repo; not for production)")
    print(f"DEMO pseudonym (HMAC) key at {ensure_demo_pseudonym_key()}")
    print(f"trusted keys: {settings.trusted_keys_path()}")
    return 0


def cmd_demo_generate(args: argparse.Namespace) -> int:
    from aimsflow.demo.generator import generate_source_batches

    end = (
        dt.date.fromisoformat(args.end) if args.end else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    )
    batches = generate_source_batches(settings.data_root(), end=end, days=args.days, seed=args.seed)
    print(f"source system: {len(batches)} daily batches up to {end} under {settings.data_root()}/raw")
    return 0


def cmd_cycle(args: argparse.Namespace) -> int:
    from aimsflow.cycle import run_cycle

    end = dt.date.fromisoformat(args.end) if args.end else None
    return run_cycle(days=args.days, end=end)


def cmd_nc_list(args: argparse.Namespace) -> int:
    from aimsflow.risk.nonconformity import current_nonconformities

    ledger, changes, source = current_nonconformities(_storage(args))
    shown = [nc for nc in ledger if args.status is None or nc.status == args.status]
    new = set(changes.opened)
    if args.json:
        doc = {
            "ledger_record": source,
            "open": sum(nc.is_open for nc in ledger),
            "closed": sum(not nc.is_open for nc in ledger),
            "nonconformities": [{**nc.as_dict(), "in_a_reassessment": nc.id not in new} for nc in shown],
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{'id':<19} {'status':<7} {'cause':<64} {'occ':>3}  evidence")
    for nc in shown:
        mark = " *" if nc.id in new else ""
        print(
            f"{nc.id:<19} {nc.status:<7} {nc.cause.label():<64} {len(nc.occurrences):>3}  "
            f"last occurrence {nc.occurrences[-1].record}{mark}"
        )
        if nc.closure:
            c = nc.closure
            print(f"{'':<27}closed {c.closed_at:%Y-%m-%d %H:%M} by {c.closed_by}: {c.record}")
            print(f"{'':<27}passing run {c.evidence_of_pass}")
            print(f"{'':<27}root cause: {c.root_cause}")
            print(f"{'':<27}corrective action: {c.corrective_action}")
    opened = sum(nc.is_open for nc in ledger)
    print(
        f"{opened} open, {len(ledger) - opened} closed; ledger of {source or 'no reassessment yet'}"
        + (" (* not yet in a reassessment)" if new else "")
    )
    return 0


def cmd_nc_close(args: argparse.Namespace) -> int:
    import getpass

    from aimsflow.risk.airflow_api import AirflowApi, AirflowApiError

    dag_id = "nonconformity_close"
    username = args.username or settings.airflow_api_username() or input("Airflow username: ").strip()
    password = settings.airflow_api_password() or getpass.getpass(f"Airflow password for {username}: ")
    api = AirflowApi(args.url or settings.airflow_api_url())
    conf = {
        "nonconformity": args.id,
        "root_cause": args.root_cause,
        "corrective_action": args.corrective_action,
    }
    try:
        api.login(username, password)
        api.ensure_triggerable(dag_id)
        run = api.trigger(dag_id, conf, note=f"closing {args.id} (aimsflow nc close)")
        run_id = run["dag_run_id"]
        print(f"triggered {dag_id} run {run_id} as {username}")
        if not args.wait:
            return 0
        run = api.wait(dag_id, run_id, timeout=args.wait)
    except AirflowApiError as exc:
        raise SystemExit(f"aimsflow: {exc}") from None
    state = run.get("state")
    print(f"{dag_id} run {run_id}: {state}")
    if state == "failed":
        print(
            "the closure was refused or broke: see the run's log and its record (aimsflow evidence list "
            "--check nonconformity/close --history)"
        )
    return 0 if state == "success" else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aimsflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="area", required=True)

    evidence = sub.add_parser("evidence", help="verify and list evidence records").add_subparsers(
        dest="cmd", required=True
    )
    verify = evidence.add_parser("verify", help="check hashes, signatures, seals and the witness")
    verify.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    _period_args(verify)
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)

    listing = evidence.add_parser("list", help="current verdicts (or --history)")
    listing.add_argument("--root")
    for flag in ("control", "dag", "check", "ai-system", "dataset"):
        listing.add_argument(f"--{flag}")
    listing.add_argument("--status", choices=["passed", "warning", "failed", "error"])
    _period_args(listing)
    listing.add_argument("--history", action="store_true", help="include superseded records")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="cmd", required=True)
    keys.add_parser("demo", help="create a local demo key pair").set_defaults(func=cmd_keys_demo)

    demo = sub.add_parser("demo", help="the demo AI system").add_subparsers(dest="cmd", required=True)
    gen = demo.add_parser("generate", help="drop the source system's raw daily batches")
    gen.add_argument("--end", help="last day (default: yesterday, UTC)")
    gen.add_argument("--days", type=int, default=120)
    gen.add_argument("--seed", type=int, default=42)
    gen.set_defaults(func=cmd_demo_generate)

    cycle = sub.add_parser("cycle", help="run every governance DAG with dag.test() for recent days")
    cycle.add_argument("--days", type=int, default=3)
    cycle.add_argument("--end", help="last day of the window (default: yesterday, UTC)")
    cycle.set_defaults(func=cmd_cycle)

    nc = sub.add_parser("nc", help="nonconformities (clause 10.2)").add_subparsers(dest="cmd", required=True)
    nc_list = nc.add_parser("list", help="open and closed nonconformities with their evidence")
    nc_list.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    nc_list.add_argument("--status", choices=["open", "closed"])
    nc_list.add_argument("--json", action="store_true")
    nc_list.set_defaults(func=cmd_nc_list)
    nc_close = nc.add_parser("close", help="close one through the nonconformity_close DAG (Airflow REST API)")
    nc_close.add_argument("id", help="nonconformity id (aimsflow nc list)")
    nc_close.add_argument("--root-cause", required=True)
    nc_close.add_argument("--corrective-action", required=True)
    nc_close.add_argument(
        "--url", help="Airflow API server (default AIMSFLOW_AIRFLOW_URL or http://127.0.0.1:8080)"
    )
    nc_close.add_argument("--username", help="Airflow user (default AIMSFLOW_AIRFLOW_USERNAME, else asked)")
    nc_close.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait for the run's outcome"
    )
    nc_close.set_defaults(func=cmd_nc_close)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
