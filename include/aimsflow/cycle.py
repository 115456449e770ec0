"""The governance cycle in one process (what ``make run`` does): every governance DAG in dependency
order, each through ``dag.test()`` — Airflow's own execution path — for explicit periods.

Findings (``failed`` records) are shown, not fatal: the exit code is non-zero only when the machinery
broke (an ``error`` record, a run that failed without a record explaining it, or a store that does
not verify).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aimsflow import settings
from aimsflow.periods import Period

# Daily DAGs in dependency order; each runs once per day of the window. Later jobs append here.
DAILY_DAGS: tuple[str, ...] = ("data_preparation", "data_quality", "bias_assessment", "data_provenance")
# The demo pipeline also prepares this many days before the window, so that the training set the
# window's operational data is compared with (drift) holds more than a day or two of history.
LEAD_IN_DAYS = 7
# Run once after the window, covering its last day: retention plans as of the day after it (a dry run:
# the expired demo raw batches, the held training set), then the seal verifies and seals everything.
FINAL_DAGS: tuple[str, ...] = ("retention_disposal", "evidence_seal")
# Periodic jobs run once for a period covering the whole window (after the seal: the reassessment
# reads whether the store verified). Its own record is sealed by the next evidence_seal run.
WINDOW_DAGS: tuple[str, ...] = ("risk_reassessment",)


@dataclass
class RunRow:
    dag_id: str
    period: str
    state: str
    seconds: float
    records: Counter = field(default_factory=Counter)
    controls: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        for status in ("error", "failed", "warning", "passed"):
            if self.records.get(status):
                return status
        return "no record" if self.state == "success" else f"run {self.state}"


def _ensure_demo_secrets() -> list[str]:
    """Use the configured keys, or create local demo keys outside the repo and say so."""
    notes = []
    if not settings.signing_key_b64():
        from aimsflow.evidence.keys import ensure_demo_key

        key_id, key_file = ensure_demo_key()
        os.environ["AIMSFLOW_SIGNING_KEY_ID"] = key_id
        os.environ["AIMSFLOW_SIGNING_KEY"] = key_file.read_text().split()[1]
        notes.append(f"signing with DEMO key {key_id} from {key_file} (not for production)")
    if settings.pseudonym_key() is None:
        from aimsflow.evidence.keys import ensure_demo_pseudonym_key

        path = ensure_demo_pseudonym_key()
        os.environ["AIMSFLOW_PSEUDONYM_KEY"] = path.read_text().strip()
        notes.append(f"pseudonymising with DEMO HMAC key {path}")
    return notes


def _records_of(run_id: str, dag_id: str) -> list:
    from aimsflow.evidence.listing import load_summaries
    from aimsflow.evidence.storage import LocalStorage

    return [
        r
        for r in load_summaries(LocalStorage(settings.evidence_root()))
        if r.producer.get("run_id") == run_id and r.dag_id == dag_id
    ]


def _run(dag, period: Period) -> RunRow:
    started = time.monotonic()
    # No logical date: the period comes from the run's `period` Param. A manual run with a logical
    # date would take the (dag_id, logical_date) slot the scheduler needs for that interval later
    # (`make up` after `make run` would skip those scheduled runs), and would give repeated runs of
    # a day the same OpenLineage run ids.
    dag_run = dag.test(logical_date=None, run_conf={"period": period.label})
    row = RunRow(dag.dag_id, period.label, str(dag_run.state), time.monotonic() - started)
    for rec in _records_of(dag_run.run_id, dag.dag_id):
        row.records[str(rec.status)] += 1
        row.controls.update(rec.controls)
    return row


def run_cycle(days: int = 3, end: dt.date | None = None, dags_folder: Path | None = None) -> int:
    os.environ.setdefault("AIMSFLOW_RETRY_DELAY_SECONDS", "1")  # dag.test() waits out retry delays
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    end = end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    window = [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    notes = _ensure_demo_secrets()
    # Airflow creates no task instances for runs before a DAG's start_date: start at the window.
    from aimsflow.airflow_glue import start_date

    first = window[0] - dt.timedelta(days=LEAD_IN_DAYS)
    os.environ["AIMSFLOW_START_DATE"] = min(start_date().date(), first).isoformat()

    from aimsflow.demo.generator import defect_plan, generate_source_batches

    batches = generate_source_batches(settings.data_root(), end=end)
    plan = defect_plan(end)
    print(f"source system: {len(batches)} daily batches up to {end}; window {window[0]}..{window[-1]}")
    for day in window:
        print(f"  {day}: {', '.join(plan.get(day, [])) or 'clean'}")

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(dags_folder or settings.project_root() / "dags"))
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"IMPORT ERROR {path}: {err}")
        return 2
    rows: list[RunRow] = []
    lead_in = [window[0] - dt.timedelta(days=n) for n in range(LEAD_IN_DAYS, 0, -1)]
    if lead_in:
        prep = [_run(bag.get_dag("data_preparation"), Period.day(day)) for day in lead_in]
        rows.append(_merge(prep, f"{lead_in[0]:%m-%d}..{lead_in[-1]:%m-%d}"))
    for day in window:
        for dag_id in DAILY_DAGS:
            rows.append(_run(bag.get_dag(dag_id), Period.day(day)))
    for dag_id in FINAL_DAGS:
        rows.append(_run(bag.get_dag(dag_id), Period.day(end)))
    for dag_id in WINDOW_DAGS:
        rows.append(_run(bag.get_dag(dag_id), Period.days(window[0], window[-1])))
    return _report(rows, notes)


def _merge(rows: list[RunRow], label: str) -> RunRow:
    """One summary row for the lead-in runs of the demo pipeline."""
    merged = RunRow(rows[0].dag_id, label, "success", sum(r.seconds for r in rows))
    for row in rows:
        merged.records.update(row.records)
        merged.controls |= row.controls
        if row.state != "success":
            merged.state = row.state
    return merged


def _report(rows: list[RunRow], notes: list[str]) -> int:
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.verify import verify_store

    report = verify_store(LocalStorage(settings.evidence_root()), TrustedKeys.load(), Witness())
    print()
    print(f"{'DAG':<20} {'period':<22} {'status':<10} {'records':<32} {'controls':<36} seconds")
    for row in rows:
        records = ", ".join(f"{n} {s}" for s, n in sorted(row.records.items())) or "-"
        controls = ",".join(sorted(row.controls)) or "-"
        print(
            f"{row.dag_id:<20} {row.period:<22} {row.status:<10} {records:<32} {controls:<36} {row.seconds:.1f}"
        )
    print()
    for note in notes:
        print(f"note: {note}")
    print(f"evidence:  {settings.evidence_root()}   (aimsflow evidence list / aimsflow evidence verify)")
    print(f"witness:   {settings.witness_dir()}")
    print(f"data:      {settings.data_root()}")
    head = f"seal {report.head.sequence}" if report.head else "no seal"
    verdict = "intact" if report.ok else f"BROKEN ({len(report.problems)} problems)"
    print(
        f"verify:    {report.records_checked} records, {report.seals_checked} seals, head {head}, "
        f"{len(report.pending)} pending: {verdict}"
    )
    for problem in report.problems[:20]:
        print(f"  BROKEN {problem}")
    broken = [r for r in rows if r.status in ("error", "no record") or r.status.startswith("run ")]
    broken = [r for r in broken if not (r.state == "failed" and r.records.get("failed"))]
    for row in broken:
        print(f"machinery problem: {row.dag_id} {row.period}: {row.status}")
    return 1 if broken or not report.ok else 0
