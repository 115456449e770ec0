"""The one driver behind ``make run`` (``aimsflow cycle``) and ``make retention``: governance DAGs run
through ``dag.test()`` — Airflow's own execution path — for explicit periods, in one process.

One code path sets up what every run needs: the signing and pseudonym keys (the configured ones, or
local demo keys outside the repo, and it says so), the start date, short retry delays (``dag.test()``
waits them out), and the logical-date rule: **no logical date**, the period as the ``period`` Param,
so the scheduler's (dag_id, logical_date) slots stay free and every run keeps its own run id. These
are set with :func:`aimsflow.settings.overridden`, never in ``os.environ``.

Task output (Airflow's task logs, expected findings' tracebacks) goes to one log file that the summary
names; the console shows one line per run and the summary. The order of the DAGs comes from the job
declarations (:func:`aimsflow.jobs.dag_order`) and the DAGs' schedules: daily and Asset-triggered
DAGs run once per day of the window, weekly and monthly ones once for the window, the compliance
report once for the window's last day after them (it reads everything), and the DAG that seals runs
last again, so that the cycle leaves no record unsealed. The summary names the report's page. DAGs
scheduled more often than daily poll something that is there now (the manual evidence inbox, where
the demo drops its documents): they run once, first, dated by the window's first day, so every later
run reads what they wrote; one that finds nothing to do (an inbox emptied by an earlier cycle) writes
no record, which is not a machinery problem.

Findings (``failed`` records) are shown, not fatal: the exit code is non-zero only when the machinery
broke (an ``error`` record, a run that failed without a record explaining it, or a store that does
not verify).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aimsflow import settings
from aimsflow.periods import Period

# The demo pipeline also prepares this many days before the window, so that the training set the
# window's operational data is compared with (drift) holds more than a day or two of history.
LEAD_IN_DAYS = 7
# The DAG that prepares the demo data (the lead-in days run only it).
DEMO_PIPELINE = "data_preparation"


@dataclass
class RunRow:
    dag_id: str
    period: str
    state: str
    seconds: float
    run_id: str = ""
    records: Counter = field(default_factory=Counter)
    controls: set[str] = field(default_factory=set)
    # A polling DAG (the manual evidence inbox): a successful run with nothing to do writes no record.
    may_be_empty: bool = False
    keys: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        for status in ("error", "failed", "warning", "passed"):
            if self.records.get(status):
                return status
        if self.state == "success":
            return "nothing new" if self.may_be_empty else "no record"
        return f"run {self.state}"

    @property
    def machinery_broke(self) -> bool:
        """An ``error`` record, no record at all (unless a polling run found nothing to do), or a
        run that failed without a ``failed`` record explaining it (a finding is not a machinery
        problem)."""
        if not self.records and self.may_be_empty and self.state == "success":
            return False
        if self.records.get("error") or not self.records:
            return True
        return self.state != "success" and not self.records.get("failed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "period": self.period,
            "state": self.state,
            "status": self.status,
            "run_id": self.run_id,
            "records": dict(self.records),
            "controls": sorted(self.controls),
            "seconds": round(self.seconds, 1),
        }


def demo_secrets() -> tuple[dict[str, str], list[str]]:
    """The configured keys, or local demo keys outside the repo (created once), as setting
    overrides, and notes that say which demo keys are in use."""
    values: dict[str, str] = {}
    notes = []
    if not settings.signing_key_b64():
        from aimsflow.evidence.keys import ensure_demo_key

        key_id, key_file = ensure_demo_key()
        values["AIMSFLOW_SIGNING_KEY_ID"] = key_id
        values["AIMSFLOW_SIGNING_KEY"] = key_file.read_text().split()[1]
        notes.append(f"signing with DEMO key {key_id} from {key_file} (not for production)")
    if settings.pseudonym_key() is None:
        from aimsflow.evidence.keys import ensure_demo_pseudonym_key

        path = ensure_demo_pseudonym_key()
        values["AIMSFLOW_PSEUDONYM_KEY"] = path.read_text().strip()
        notes.append(f"pseudonymising with DEMO HMAC key {path}")
    return values, notes


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send everything the process writes (Airflow's task logs, tracebacks of expected failures) to
    ``log`` while a run executes: file-descriptor level, so loggers holding ``sys.stderr`` follow."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


@contextlib.contextmanager
def _keep_run_history() -> Iterator[None]:
    """Keep every earlier run of a DAG when ``dag.test()`` runs it again without a logical date.

    Airflow 3.3's ``dag.test()`` expects a logical date: it clears the task instances of that date
    (with none, its clear has no bounds and resets every earlier run) and deletes "the" existing run
    of that date (``logical_date == None`` matches, and deletes, an earlier run without one). Runs
    with no logical date never collide, so both steps are skipped for them; dated runs are untouched.
    """
    from airflow.models import dagrun
    from airflow.serialization.definitions.dag import SerializedDAG
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    clear_dags = SerializedDAG.clear_dags.__func__  # type: ignore[attr-defined]
    get_or_create = dagrun.get_or_create_dagrun

    def clear_dated(cls, dags, *, start_date=None, end_date=None, **kwargs):
        if start_date is None and end_date is None:
            return 0
        return clear_dags(cls, dags, start_date=start_date, end_date=end_date, **kwargs)

    def create_undated(*, dag, logical_date, triggered_by, triggering_user_name, start_date, **kwargs):
        if logical_date is not None:
            return get_or_create(
                dag=dag,
                logical_date=logical_date,
                triggered_by=triggered_by,
                triggering_user_name=triggering_user_name,
                start_date=start_date,
                **kwargs,
            )
        return dag.create_dagrun(
            logical_date=None,
            run_type=DagRunType.MANUAL,
            state=DagRunState.RUNNING,
            triggered_by=triggered_by,
            triggering_user_name=triggering_user_name,
            start_date=start_date,
            **kwargs,
        )

    SerializedDAG.clear_dags = classmethod(clear_dated)  # type: ignore[method-assign,assignment]
    dagrun.get_or_create_dagrun = create_undated
    try:
        yield
    finally:
        SerializedDAG.clear_dags = classmethod(clear_dags)  # type: ignore[method-assign,assignment]
        dagrun.get_or_create_dagrun = get_or_create


class Driver:
    """Runs DAGs of the project's DagBag for explicit periods; see the module docstring."""

    def __init__(self, bag: Any, log: Path, notes: list[str], console: TextIO):
        self.bag = bag
        self.log = log
        self.notes = notes
        self.console = console

    def run(
        self, dag_id: str, period: Period, label: str | None = None, may_be_empty: bool = False, **conf: Any
    ) -> RunRow:
        from aimsflow.evidence.listing import load_summaries
        from aimsflow.evidence.storage import LocalStorage

        dag = self.bag.get_dag(dag_id)
        started = time.monotonic()
        with _output_to(self.log):
            dag_run = dag.test(logical_date=None, run_conf={"period": period.label, **conf})
        row = RunRow(dag_id, label or period.label, str(dag_run.state), time.monotonic() - started)
        row.may_be_empty = may_be_empty
        row.run_id = dag_run.run_id
        for rec in load_summaries(LocalStorage(settings.evidence_root())):
            if rec.producer.get("run_id") == dag_run.run_id and rec.dag_id == dag_id:
                row.records[str(rec.status)] += 1
                row.controls.update(rec.controls)
                row.keys.append(rec.key)
        records = ", ".join(f"{n} {s}" for s, n in sorted(row.records.items())) or "no record"
        print(
            f"  {dag_id:<20} {row.period:<23} {row.status:<9} {records} ({row.seconds:.0f} s)",
            file=self.console,
        )
        return row


def start_witness_on_a_fresh_store(console: TextIO) -> bool:
    """Start the witness (``aimsflow witness init``) when the store is fresh — no seal, no record — and
    say so in one line; True when it did. A store with records or seals but no witness is left alone:
    a witness started then would accept whatever the store holds (a deleted witness is restored from
    its backup, or started by hand once the store verified), and sealing refuses until then."""
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.seal import record_keys, seal_sequences
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.witness import Witness, init_witness

    witness = Witness()
    storage = LocalStorage(settings.evidence_root())
    if witness.read() is not None or seal_sequences(storage) or record_keys(storage):
        return False
    init_witness(witness, storage, TrustedKeys.load(), settings.log_origin())
    print(
        f"witness: started for the new store at {settings.witness_dir()} (aimsflow witness init)",
        file=console,
    )
    return True


@contextlib.contextmanager
def driver(
    first_day: dt.date, *, dags_folder: Path | None = None, console: TextIO | None = None
) -> Iterator[Driver]:
    """Keys, start date (no later than ``first_day``: Airflow creates no task instances before a
    DAG's start date), retry delay and log file set up once; yields a :class:`Driver`."""
    values, notes = demo_secrets()
    start = min(settings.start_date(), first_day)
    values.update(AIMSFLOW_START_DATE=start.isoformat(), AIMSFLOW_RETRY_DELAY_SECONDS="1")
    from airflow.configuration import AIRFLOW_HOME

    log_dir = Path(AIRFLOW_HOME) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"aimsflow-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.log"
    with settings.overridden(**values):
        start_witness_on_a_fresh_store(console or sys.stdout)
        from airflow.dag_processing.dagbag import DagBag

        with _output_to(log):
            bag = DagBag(str(dags_folder or settings.project_root() / "dags"))
        if bag.import_errors:
            raise ImportError(
                "; ".join(
                    f"{path}: {err.strip().splitlines()[-1]}" for path, err in bag.import_errors.items()
                )
            )
        with _keep_run_history():
            yield Driver(bag, log, notes, console or sys.stdout)


def _schedule_kind(dag: Any) -> str:
    """``daily`` (a daily cron data interval, or Asset-triggered: it follows daily data), ``periodic``
    (a longer cron interval), ``frequent`` (more often than daily: its hour field is not one hour)
    or ``manual`` (no schedule)."""
    timetable = dag.timetable
    timetable = getattr(timetable, "timetable", timetable)  # AssetOrTimeSchedule wraps its time part
    expression = getattr(timetable, "expression", None)
    name = type(timetable).__name__
    if expression is None:
        return "daily" if "Asset" in name else "manual"
    if not expression.split()[1].isdigit():
        return "frequent"
    return "daily" if expression.split()[2:] == ["*", "*", "*"] else "periodic"


def plan_reports(bag: Any) -> list[str]:
    """Daily DAGs that read every other DAG's records and a periodic DAG's by name (the compliance
    report reads the reassessment): the cycle runs them once, for the window's last day, after the
    periodic DAGs and before the final seal, so their report covers everything the cycle wrote."""
    from aimsflow.jobs import all_jobs, dag_order, jobs_of

    declared = {j.dag_id for j in all_jobs()}
    kinds = {d: _schedule_kind(bag.get_dag(d)) for d in bag.dag_ids if d in declared}
    periodic = [c.id for d, k in kinds.items() if k == "periodic" for j in jobs_of(d) for c in j.checks]

    def reports(d: str) -> bool:
        reads = [p for j in jobs_of(d) for p in j.reads]
        return "*" in reads and any(fnmatch.fnmatchcase(c, p) for p in reads if p != "*" for c in periodic)

    return dag_order(d for d, k in kinds.items() if k == "daily" and reports(d))


def plan_cycle(bag: Any) -> tuple[list[str], list[str], str]:
    """(daily DAGs, periodic DAGs, the sealing DAG), each in the order the declarations give; the
    reporting DAGs (:func:`plan_reports`) are in none of them."""
    from aimsflow.jobs import all_jobs, dag_order

    declared = {j.dag_id for j in all_jobs()}
    kinds = {d: _schedule_kind(bag.get_dag(d)) for d in bag.dag_ids if d in declared}
    reporting = set(plan_reports(bag))
    daily = dag_order(d for d, k in kinds.items() if k == "daily" and d not in reporting)
    periodic = dag_order(d for d, k in kinds.items() if k == "periodic")
    (sealing,) = {j.dag_id for j in all_jobs() if j.seals}
    return daily, periodic, sealing


def frequent_dags(bag: Any) -> list[str]:
    """The declared DAGs scheduled more often than daily (they poll), in declaration order."""
    from aimsflow.jobs import all_jobs, dag_order

    declared = {j.dag_id for j in all_jobs()}
    return dag_order(d for d in bag.dag_ids if d in declared and _schedule_kind(bag.get_dag(d)) == "frequent")


def run_cycle(
    days: int = 3, end: dt.date | None = None, dags_folder: Path | None = None, as_json: bool = False
) -> int:
    end = end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    window = [end - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    lead_in = [window[0] - dt.timedelta(days=n) for n in range(LEAD_IN_DAYS, 0, -1)]
    # Progress (the header, one line per run) goes to stderr; the summary to stdout.
    console = sys.stderr

    from aimsflow.demo.generator import defect_plan, generate_source_batches

    batches = generate_source_batches(settings.data_root(), end=end)
    plan = defect_plan(end)
    print(
        f"source system: {len(batches)} daily batches up to {end}; window {window[0]}..{window[-1]}",
        file=console,
    )
    for day in window:
        print(f"  {day}: {', '.join(plan.get(day, [])) or 'clean'}", file=console)
    from aimsflow.demo.documents import drop_demo_documents

    dropped = [d for d in drop_demo_documents(settings.manual_inbox(), end) if d.created]
    if dropped:
        print(
            f"manual evidence inbox: dropped {len(dropped)} demo document(s) in {settings.manual_inbox()}",
            file=console,
        )
    with contextlib.ExitStack() as stack:
        try:
            drv = stack.enter_context(
                driver(lead_in[0] if lead_in else window[0], dags_folder=dags_folder, console=console)
            )
        except ImportError as exc:
            print(f"IMPORT ERROR {exc}", file=sys.stderr)
            return 3
        print(f"task logs: {drv.log}", file=console)
        daily, periodic, sealing = plan_cycle(drv.bag)
        rows: list[RunRow] = []
        # Polling DAGs once, first (settle_minutes=0: the demo's documents were just dropped).
        for dag_id in frequent_dags(drv.bag):
            rows.append(drv.run(dag_id, Period.day(window[0]), may_be_empty=True, settle_minutes=0))
        if lead_in:
            prep = [drv.run(DEMO_PIPELINE, Period.day(day)) for day in lead_in]
            rows.append(_merge(prep, f"{lead_in[0]:%m-%d}..{lead_in[-1]:%m-%d} (lead-in)"))
        for day in window:
            rows.extend(drv.run(dag_id, Period.day(day)) for dag_id in daily)
        whole = Period.days(window[0], window[-1])
        rows.extend(drv.run(dag_id, whole) for dag_id in periodic)
        rows.extend(drv.run(dag_id, Period.day(end)) for dag_id in plan_reports(drv.bag))
        rows.append(drv.run(sealing, Period.day(end), label=f"{end} (final seal)"))
        return _report(rows, drv, as_json)


def _merge(rows: list[RunRow], label: str) -> RunRow:
    """One summary row for the lead-in runs of the demo pipeline."""
    merged = RunRow(rows[0].dag_id, label, "success", sum(r.seconds for r in rows))
    for row in rows:
        merged.records.update(row.records)
        merged.controls |= row.controls
        if row.state != "success":
            merged.state = row.state
    return merged


def _table(rows: list[RunRow]) -> list[str]:
    cells = [
        (
            r.dag_id,
            r.period,
            r.status,
            ", ".join(f"{n} {s}" for s, n in sorted(r.records.items())) or "-",
            ",".join(sorted(r.controls)) or "-",
            f"{r.seconds:.1f}",
        )
        for r in rows
    ]
    head = ("DAG", "period", "status", "records", "controls", "seconds")
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    return ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(head))).rstrip() for c in [head, *cells]]


def report_page(rows: list[RunRow]) -> Path | None:
    """The HTML page of the last compliance report the cycle wrote, if it wrote one."""
    from aimsflow.compliance.checks import REPORT
    from aimsflow.compliance.report import HTML_FILE

    for row in reversed(rows):
        for key in reversed(row.keys):
            page = settings.evidence_root() / key / HTML_FILE
            if f"/{REPORT.id}/" in key and page.is_file():
                return page
    return None


def _report(rows: list[RunRow], drv: Driver, as_json: bool) -> int:
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.verify import verify_store

    report = verify_store(LocalStorage(settings.evidence_root()), TrustedKeys.load(), Witness())
    page = report_page(rows)
    broken = [r for r in rows if r.machinery_broke]
    code = 1 if broken or not report.ok else 0
    if as_json:
        import json

        doc = {
            "runs": [r.as_dict() for r in rows],
            "notes": drv.notes,
            "task_log": str(drv.log),
            "evidence": str(settings.evidence_root()),
            "witness": str(settings.witness_dir()),
            "data": str(settings.data_root()),
            "report": str(page) if page else None,
            "verify": {
                "ok": report.ok,
                "records": report.records_checked,
                "seals": report.seals_checked,
                "pending": len(report.pending),
                "problems": report.problems,
            },
            "machinery_problems": [f"{r.dag_id} {r.period}: {r.status}" for r in broken],
            "exit_code": code,
        }
        print(json.dumps(doc, indent=2))
        return code
    print()
    for line in _table(rows):
        print(line)
    print()
    for note in drv.notes:
        print(f"note: {note}")
    print(f"evidence:  {settings.evidence_root()}   (aimsflow evidence list / aimsflow evidence verify)")
    print(f"witness:   {settings.witness_dir()}")
    print(f"data:      {settings.data_root()}")
    print(f"task logs: {drv.log}")
    if page:
        print(f"report:    {page}   (the compliance report: open it in a browser)")
    head = f"seal {report.head.sequence}" if report.head else "no seal"
    verdict = "intact" if report.ok else f"BROKEN ({len(report.problems)} problems)"
    print(
        f"verify:    {report.records_checked} records, {report.seals_checked} seals, head {head}, "
        f"{len(report.pending)} pending: {verdict}"
    )
    for problem in report.problems[:20]:
        print(f"  BROKEN {problem}")
    for row in broken:
        print(f"machinery problem: {row.dag_id} {row.period}: {row.status} (see {drv.log})")
    findings = sum(r.records.get("failed", 0) for r in rows)
    if findings:
        print(
            f"findings:  {findings} failed record(s) — expected in the demo; `aimsflow evidence list` shows them"
        )
    return code
