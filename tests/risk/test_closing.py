"""Attack (issue 12): closing a nonconformity needed only a non-empty user name (``dag_test``, or the
OS login of ``airflow dags trigger``). Closing needs a run triggered through the Airflow UI or REST
API (Airflow's trigger types ``ui`` and ``rest_api``) by a named user; ``dag.test()`` (``test``) only
where the test setting allows it. Anything else is refused with a ``failed`` record saying why."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow import settings
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.risk.job import CLOSE as _CLOSE
from aimsflow.risk.job import close, close_nonconformity
from aimsflow.risk.nonconformity import current_nonconformities
from tests.conftest import declared
from tests.risk.conftest import CLEAN

close_nonconformity = declared(_CLOSE, close_nonconformity)

D1, D2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
CHECK = f"data_quality/{CLEAN}"


@pytest.fixture
def nc_id(store, write) -> str:
    """An open nonconformity that a later pass would let close."""
    write(CHECK, D1, Status.failed)
    (nc,) = current_nonconformities(store)[0]
    write(CHECK, D2, Status.passed, run_after=dt.datetime.now(dt.UTC))
    return nc.id


def _close(store, nc_id, user="alice", **how):
    return close_nonconformity(
        nc_id, "null incomes in the export", "export fixed", user, storage=store, **how
    )


@pytest.mark.parametrize("trigger", ["ui", "rest_api"])
def test_a_run_an_authenticated_user_triggered_in_the_ui_or_api_closes(store, nc_id, trigger):
    closed = _close(store, nc_id, triggered_by=trigger)
    assert closed.status == Status.passed
    assert closed.summary["trigger"] == trigger and closed.summary["closed_by"] == "alice"


@pytest.mark.parametrize(
    "trigger",
    [
        "cli",  # `airflow dags trigger`: the user is the OS login, chosen by whoever runs it
        "test",  # dag.test(): the user is "dag_test"
        "operator",
        "timetable",
        "asset",
        "backfill",
        None,  # not known: refused, never assumed
        "UI",  # compared by value, exactly
        "DagRunTriggeredByType.UI",  # str() of the enum is not its value
    ],
)
def test_any_other_trigger_is_refused(store, nc_id, trigger):
    refused = _close(store, nc_id, triggered_by=trigger)
    assert refused.status == Status.failed
    reason = refused.summary["refused"]
    assert "Airflow UI or REST API" in reason and repr(trigger) in reason
    assert refused.summary["request"]["trigger"] == trigger
    assert current_nonconformities(store)[0][0].is_open


@pytest.mark.parametrize("user", [None, "", "   "])
def test_a_ui_run_without_a_user_is_refused(store, nc_id, user):
    refused = _close(store, nc_id, user=user, triggered_by="ui")
    assert refused.status == Status.failed and "no authenticated user" in refused.summary["refused"]


def test_dag_test_closes_only_where_the_test_setting_allows_it(store, nc_id):
    refused = _close(store, nc_id, user="dag_test", triggered_by="test")
    assert refused.status == Status.failed
    assert "AIMSFLOW_CLOSE_ALLOWS_DAG_TEST" in refused.summary["refused"]
    # The setting lets dag.test() close, and nothing else: a CLI run stays refused.
    assert _close(store, nc_id, user="dag_test", triggered_by="cli", allow_test=True).status == Status.failed
    assert _close(store, nc_id, user="dag_test", triggered_by="test", allow_test=True).status == Status.passed


def test_the_closing_job_reads_the_test_setting(store, nc_id, monkeypatch):
    """``close`` (the DAG's job) passes the setting on: off by default, on when the test
    configuration sets it."""

    def run():
        return close(
            Period.day(D2),
            nonconformity=nc_id,
            root_cause="null incomes in the export",
            corrective_action="export fixed",
            closed_by="dag_test",
            triggered_by="test",
        )

    assert run().status == Status.failed
    monkeypatch.setenv("AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "true")
    assert settings.close_allows_dag_test() and run().status == Status.passed
