"""A real Airflow ending: a task that outruns its ``execution_timeout`` under ``dag.test()`` still leaves
its ``error`` record, and verify has nothing to report about it."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from aimsflow import settings
from aimsflow.evidence.intents import INTENTS_PREFIX
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject

pytestmark = pytest.mark.slow
DAY = dt.date(2026, 11, 20)


def _slow(period: Period) -> JobResult:
    time.sleep(60)  # ended by the 2-second execution_timeout long before
    return JobResult(Subject(), Status.passed)


SLOW = Job("endings_test", "slow", ("A.7.4",), SubjectKind.aims, PeriodUse.day, _slow, "a task that hangs")

DAG_FILE = """
import datetime as dt

from airflow.sdk import dag, task

from aimsflow import airflow_glue as glue
from tests.dags.test_endings import SLOW


@dag(
    dag_id="endings_test",
    schedule=glue.daily_timetable(),
    start_date=glue.start_date(),
    catchup=False,
    default_args={**glue.default_args(), "retries": 0, "execution_timeout": dt.timedelta(seconds=2)},
)
def endings_test():
    @task
    def slow(**context):
        return glue.run_job(context, SLOW)

    slow()


endings_test()
"""


def _serialized_dag():
    """The DAG above, written to the metadata DB the way the DAG processor would (dag.test() only
    runs DAGs it finds serialized; this one is not in dags/). Its file stays at one place beside the
    test metadata DB, so that runs after the first find the same DAG version."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from tests.conftest import PROJECT

    folder = PROJECT / ".airflow-test" / "endings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "endings_test_dag.py").write_text(DAG_FILE)
    bag = DagBag(str(folder))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.get_dag("endings_test")


def test_a_task_timed_out_by_airflow_writes_its_error_record(aims_env, airflow_db):
    """Attack: a task killed by timeout (``AirflowTaskTimeout``, a ``BaseException`` in Airflow 3) left no
    record. Under a real ``dag.test()`` with ``execution_timeout`` the try now writes an ``error``
    record naming the timeout, the task fails, and verify finds the try's intent settled."""
    dag = _serialized_dag()
    started = time.monotonic()
    run = dag.test(logical_date=Period.day(DAY).end)
    assert time.monotonic() - started < 50, "the timeout did not end the task"
    assert str(run.state) == "failed"
    storage = LocalStorage(settings.evidence_root())
    (record,) = load_summaries(storage)
    manifest = json.loads(storage.get(f"{record.key}/manifest.json"))["predicate"]
    assert record.status == Status.error and manifest["error"]["type"] == "AirflowTaskTimeout"
    assert manifest["error"]["final_try"] is True
    assert len(storage.list_files(INTENTS_PREFIX)) == 1
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok, report.problems
