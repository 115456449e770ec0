"""Writing records for the evidence pages' tests (no ``tests.conftest`` import: the end-to-end seed
runs this in a process with its own Airflow home, which that module's environment would override)."""

from __future__ import annotations

import datetime as dt

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject

DAY = dt.date(2026, 11, 19)


def write(
    storage: LocalStorage,
    signer: Signer,
    *,
    check: str,
    status: Status,
    controls: tuple[str, ...],
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    try_number: int = 1,
    map_index: int = -1,
    dataset: str | None = "loan_applications_clean",
    day: dt.date = DAY,
    files: dict[str, bytes] | None = None,
    message: str = "",
    run_after: str = "2026-11-20T00:00:00+00:00",
    summary: dict | None = None,
    period: Period | None = None,
    command: str = "acquisition",
) -> RecordRef:
    """A signed record of ``check`` for ``day`` (or ``period``), by a task try of ``dag_id`` or, without
    one, by a command."""
    result = JobResult(
        check=check,
        subject=Subject("loan_approval", dataset, day.isoformat() if dataset else None),
        status=status,
        controls=controls,
        summary=summary
        if summary is not None
        else {"rows": 396, "expectations_failed": 0 if status == Status.passed else 2},
        message=message or f"{check} {status}",
        files=files
        if files is not None
        else {"summary.json": b'{"rows": 396}\n', "report/page.html": b"<p>ok"},
    )
    if dag_id is None:
        producer = Producer.command_run(command, user="alice")
    else:
        producer = Producer(
            kind="task",
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
            max_tries=2,
            run_type="scheduled",
            run_after=run_after,
        )
    now = dt.datetime.now(dt.UTC)
    context = RunContext(period or Period.day(day), producer, now, now)
    return write_record(storage, result, context, signer)
