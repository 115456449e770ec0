"""Auditor tests: signed records written as the wrapper writes them (inputs, specs, lineage, Params),
a nonconformity opened by a failure and closed after a later passing run, and a seal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import DataRef, JobResult, SpecRef, Status, Subject

AI = "loan_approval"
DATASET = "loan_applications_clean"
CHECK = "data_quality/validate"  # a declared check: its title is shown
D1, D2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)


def at(day: dt.date, hour: int = 1) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC) + dt.timedelta(days=1)


@pytest.fixture
def store(aims_env) -> LocalStorage:
    return LocalStorage(settings.evidence_root())


@pytest.fixture
def keys(aims_env) -> TrustedKeys:
    return TrustedKeys.load()


WriteRecord = Callable[..., RecordRef]


@pytest.fixture
def write(store: LocalStorage, tmp_path: Path) -> WriteRecord:
    """Write a signed record as ``airflow_glue.run_job`` would, with every field an auditor reads."""

    def make(
        check: str = CHECK,
        day: dt.date = D1,
        status: Status = Status.passed,
        *,
        dataset: str | None = DATASET,
        run_after: dt.datetime | None = None,
        run_id: str | None = None,
        dag_id: str = "data_quality",
        task_id: str = "validate",
        map_index: int = -1,
        try_number: int = 1,
        max_tries: int = 2,
        run_type: str = "scheduled",
        user: str | None = "alice",
        params: dict[str, Any] | None = None,
        controls: tuple[str, ...] = ("A.7.4", "7.5.3"),
        summary: dict[str, Any] | None = None,
        message: str = "",
        files: dict[str, bytes] | None = None,
        inputs: list[DataRef] | None = None,
        outputs: list[DataRef] | None = None,
        specs: list[SpecRef] | None = None,
        openlineage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        producer: Producer | None = None,
        signer: Signer | None = None,
    ) -> RecordRef:
        run_after = run_after or at(day)
        producer = producer or Producer(
            kind="task",
            dag_id=dag_id,
            run_id=run_id or f"{run_type}__{run_after.isoformat()}",
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
            max_tries=max_tries,
            run_type=run_type,
            run_after=run_after.isoformat(),
            user=user,
        )
        if status == Status.error and error is None:
            error = {"type": "BadInput", "message": "boom", "traceback": "Traceback ...", "final_try": True}
        result = JobResult(
            Subject(AI, dataset, day.isoformat() if dataset else None),
            status,
            check=check,
            controls=controls,
            summary=summary if summary is not None else {"rows": 396},
            files=files if files is not None else {"summary.json": b'{"rows": 396}\n'},
            inputs=inputs or [],
            outputs=outputs or [],
            specs=specs or [],
            message=message or f"{check} {status}",
        )
        ended = dt.datetime.now(dt.UTC)  # a seal takes in only records that ended before it
        ctx = RunContext(
            Period.day(day),
            producer,
            ended - dt.timedelta(seconds=2),
            ended,
            triggered_by=user,
            params=params if params is not None else {"period": day.isoformat()},
            openlineage=openlineage,
            error=error,
        )
        return write_record(store, result, ctx, signer or Signer.from_settings())

    return make


@pytest.fixture
def forger(aims_env) -> Signer:
    """A key under the trusted key's id that is not the trusted key (an insider without the key)."""
    from tests.conftest import new_key

    _, seed, _ = new_key("forger")
    return Signer.from_seed_b64(str(settings.signing_key_id()), seed)


def seal(store: LocalStorage) -> None:
    seal_pending(store, Signer.from_settings(), Witness())


@dataclass
class Scenario:
    """A failure (``first``, map index 3, inputs, an output, a spec, lineage) that opened a
    nonconformity; a failing re-run of the same period (``again``); a later run that passed
    (``passed``: it supersedes both and closed the nonconformity); the closure record (``closure``),
    all sealed; then a record not sealed yet (``pending``)."""

    first: RecordRef
    again: RecordRef
    passed: RecordRef
    closure: RecordRef
    pending: RecordRef
    nc_id: str
    input_file: Path
    spec_file: Path


def close_record(write: WriteRecord, store: LocalStorage, nc_id: str, closed_by: str = "carol") -> RecordRef:
    """Close ``nc_id`` as the closing DAG does, and write its record."""
    from aimsflow.risk.job import CLOSE, close_nonconformity
    from tests.conftest import declared

    result = declared(CLOSE, close_nonconformity)(
        nc_id,
        "null incomes in the export",
        "export fixed and re-run",
        closed_by,
        storage=store,
        triggered_by="ui",
    )
    assert result.status == Status.passed, result.message
    return write(
        "nonconformity_close/close",
        D2,
        result.status,
        dataset=None,
        summary=result.summary,
        message=result.message,
        dag_id="nonconformity_close",
        task_id="close",
        run_type="manual",
        run_after=dt.datetime.now(dt.UTC),
        user=closed_by,
        params={"nonconformity": nc_id},
        controls=("10.2",),
        files={"closure.json": b"{}\n"},
    )


@pytest.fixture
def scenario(store: LocalStorage, write: WriteRecord, tmp_path: Path) -> Scenario:
    from aimsflow.risk.nonconformity import current_nonconformities

    data = tmp_path / "data" / "clean" / "date=2026-11-24"
    data.mkdir(parents=True)
    input_file = data / "part-0001.parquet"
    input_file.write_bytes(b"PAR1 three hundred ninety-six rows")
    output_file = tmp_path / "data" / "report.json"
    output_file.write_bytes(b'{"ok": false}')
    spec_file = tmp_path / "suite.json"
    spec_file.write_bytes(b'{"expectations": []}\n')
    first = write(
        status=Status.failed,
        map_index=3,
        run_id="scheduled__2026-11-25T01:00:00+00:00",
        params={"period": "2026-11-24", "api_token": "***"},
        message="4 of 15 expectations failed",
        files={"summary.json": b'{"rows": 396}\n', "charts/rows.txt": b"396 rows\n"},
        inputs=[DataRef.of_file(input_file, rows=396, dataset=DATASET)],
        outputs=[DataRef.of_file(output_file)],
        specs=[SpecRef.of_file(spec_file)],
        openlineage={"run_id": "01a2272b-f54e-7967-aff1-993910c87168", "sent": True, "event_type": "FAIL"},
    )
    again = write(status=Status.failed, run_type="manual", run_after=at(D1, 5), user="bob")
    (nc,) = current_nonconformities(store)[0]
    passed = write(run_type="manual", run_after=at(D1, 9), user="bob")
    closure = close_record(write, store, nc.id)
    seal(store)
    pending = write(day=D2)
    return Scenario(first, again, passed, closure, pending, nc.id, input_file, spec_file)
