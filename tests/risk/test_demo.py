"""The demo, end to end on the real jobs: for a clean day, the defect day END-1 and the drift day END,
the preparation steps (re-run on the prepared data: they are idempotent) and the data quality job
write their records as the DAGs would; the reassessment of the window raises the data-quality risk
because of the defect day's record."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow.catalog import load_inventory
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.periods import Period
from aimsflow.prep.job import CLEAN_JOB as _CLEAN_JOB
from aimsflow.prep.job import INGEST as _INGEST
from aimsflow.prep.job import TRAINING_SET as _TRAINING_SET
from aimsflow.prep.steps import build_training_set, clean_batch, ingest_batch
from aimsflow.provenance.custody import load_index
from aimsflow.provenance.job import VERSION as _VERSION
from aimsflow.provenance.job import provenance_of_version
from aimsflow.quality.job import VALIDATE as _VALIDATE
from aimsflow.quality.validate import validate_partition
from aimsflow.results import Status
from aimsflow.risk.evidence import DIFF_FILE, SNAPSHOT_FILE
from aimsflow.risk.job import REASSESS as _REASSESS
from aimsflow.risk.job import reassess
from tests.conftest import END, PREPARED_DAYS, declared

reassess = declared(_REASSESS, reassess)
validate_partition = declared(_VALIDATE, validate_partition)
provenance_of_version = declared(_VERSION, provenance_of_version)
ingest_batch = declared(_INGEST, ingest_batch)
clean_batch = declared(_CLEAN_JOB, clean_batch)
build_training_set = declared(_TRAINING_SET, build_training_set)

pytestmark = pytest.mark.slow  # GX and provenance over 14 prepared days; test_job.py has the fast twin
WINDOW = [END - dt.timedelta(days=n) for n in (2, 1, 0)]
DATASETS = ("loan_applications_raw", "loan_applications_clean", "loan_training_set")


def _record(
    store, result, day: dt.date, run_after: dt.datetime, task: str, dag_id: str = "data_quality"
) -> str:
    """What glue.run_job writes for a task try."""
    producer = Producer(
        kind="task",
        dag_id=dag_id,
        run_id=f"manual__{run_after.isoformat()}",
        task_id=task,
        try_number=1,
        max_tries=2,
        run_type="manual",
        run_after=run_after.isoformat(),
    )
    now = dt.datetime.now(dt.UTC)
    ctx = RunContext(Period.day(day), producer, now, now)
    return write_record(store, result, ctx, Signer.from_settings()).key


def _run_after(day: dt.date, minutes: int = 0) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC) + dt.timedelta(minutes=minutes)


@pytest.fixture
def demo_records(store, prepared_data):
    """Records of every prepared day's preparation, and of the window's data quality and provenance."""
    inventory = load_inventory()
    for back in range(PREPARED_DAYS - 1, -1, -1):
        day = END - dt.timedelta(days=back)
        steps = {
            "ingest": ingest_batch(inventory, DATASETS[0], day, prepared_data),
            "clean": clean_batch(inventory, DATASETS[0], DATASETS[1], day, prepared_data, b"k"),
            "training_set": build_training_set(inventory, DATASETS[1], DATASETS[2], day, prepared_data),
        }
        for task, result in steps.items():
            _record(store, result, day, _run_after(day), task, "data_preparation")
    keys = {}
    for day in WINDOW:
        for index, dataset in enumerate(DATASETS):
            result = validate_partition(inventory, dataset, day, prepared_data)
            keys[(dataset, day)] = (
                _record(store, result, day, _run_after(day, 10), f"validate.{index}"),
                result.status,
            )
        index = load_index(store)
        for n, version in enumerate(index.versions_used(Period.day(day))):
            result = provenance_of_version(index, inventory, version, None)
            assert result.summary["gaps"] == 0, result.message
            _record(store, result, day, _run_after(day, 20), f"provenance.{n}", "data_provenance")
    return keys


def _dq(result) -> dict:
    return next(r for r in json.loads(result.files[SNAPSHOT_FILE])["risks"] if r["id"] == "R-DQ-01")


def test_defect_day_raises_the_data_quality_risk_of_the_window(store, demo_records):
    defect = demo_records[("loan_applications_clean", END - dt.timedelta(days=1))]
    assert defect[1] == Status.failed
    now = dt.datetime.combine(END + dt.timedelta(days=1), dt.time(6), dt.UTC)

    clean_day = reassess(Period.day(WINDOW[0]), storage=store, now=now)
    assert _dq(clean_day)["current"]["score"] == _dq(clean_day)["assessed"]["score"] == 8
    producer = Producer(
        kind="task", dag_id="risk_reassessment", run_id="r1", task_id="reassess", try_number=1
    )
    stamp = dt.datetime.now(dt.UTC)
    write_record(
        store, clean_day, RunContext(Period.day(WINDOW[0]), producer, stamp, stamp), Signer.from_settings()
    )

    window = reassess(Period.days(WINDOW[0], WINDOW[-1]), storage=store, now=now)
    dq = _dq(window)
    assert dq["current"]["score"] > dq["assessed"]["score"]
    assert dq["current"]["level"] == "high" and "above_appetite_unaccepted" in dq["flags"]
    signal = next(s for s in dq["signals"] if s["id"] == "critical_expectation_days")
    assert signal["state"] == "critical" and signal["records"] == [defect[0]]
    change = next(c for c in json.loads(window.files[DIFF_FILE])["risks"] if c["id"] == "R-DQ-01")
    assert change["fields"]["score"]["from"] == 8 and defect[0] in change["records"]
    assert window.status == Status.failed
