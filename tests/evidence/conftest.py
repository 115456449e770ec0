from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RecordRef, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def storage(aims_env) -> LocalStorage:
    return LocalStorage(settings.evidence_root())


@pytest.fixture
def make_record(storage: LocalStorage) -> Callable[..., RecordRef]:
    def make(
        day: dt.date = dt.date(2026, 11, 19),
        *,
        check: str = "data_quality/validate",
        dataset: str = "loans",
        run: str = "scheduled__2026-11-20",
        run_after: dt.datetime = T0,
        try_number: int = 1,
        status: Status = Status.passed,
        files: dict | None = None,
        signer: Signer | None = None,
        task_id: str = "validate",
        ended_at: dt.datetime | None = None,
    ) -> RecordRef:
        result = JobResult(
            check=check,
            subject=Subject("loan_approval", dataset, day.isoformat()),
            status=status,
            controls=("A.7.4",),
            summary={"rows": 10},
            files=files
            if files is not None
            else {"summary.json": b'{"rows": 10}\n', "charts/a.txt": b"chart"},
        )
        producer = Producer(
            kind="task",
            dag_id="data_quality",
            run_id=run,
            task_id=task_id,
            try_number=try_number,
            max_tries=2,
            run_type="scheduled",
            run_after=run_after.isoformat(),
        )
        now = ended_at or dt.datetime.now(dt.UTC)
        ctx = RunContext(Period.day(day), producer, now, now, triggered_by="tester", params={"x": 1})
        return write_record(storage, result, ctx, signer or Signer.from_settings())

    return make
