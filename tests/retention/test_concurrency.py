"""Attack "``make retention`` can run beside a scheduled retention run and process its live markers;
retention and the daily verify both fire at 00:00 Monday". Recovery and execution hold the store lock
that sealing holds; ``make retention`` refuses while a retention_disposal run of the scheduler is
queued or running, or while the store lock is held; and the weekly schedule never fires with the
daily ``evidence_seal`` (verify, then seal)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest

from aimsflow import settings
from aimsflow.evidence.lock import StoreBusy, store_lock
from aimsflow.periods import Period
from aimsflow.retention import job as retention_job
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import RECOVER as _RECOVER
from aimsflow.retention.job import execute_job, recover_job
from tests.conftest import declared
from tests.retention.conftest import executor

execute_job = declared(_EXECUTE, execute_job)
recover_job = declared(_RECOVER, recover_job)
PERIOD = Period.day(dt.date(2028, 2, 29))


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(retention_job, "LOCK_TIMEOUT_SECONDS", 0.3)


@pytest.mark.parametrize("job", ["recover", "execute"])
def test_recovery_and_execution_wait_for_the_store_lock_sealing_holds(rt_env, config, short_wait, job):
    run = {
        "recover": lambda: recover_job(PERIOD, executor()),
        "execute": lambda: execute_job(PERIOD, executor()),
    }
    with store_lock(settings.evidence_root(), "evidence_seal/seal scheduled__2028-03-01"):
        with pytest.raises(StoreBusy, match="evidence_seal/seal scheduled__2028-03-01"):
            run[job]()
    assert recover_job(PERIOD, executor()).summary["deleted"] == 0  # the boundary: free again, it runs


def test_recovery_holds_the_store_lock_while_it_works(rt_env, config, monkeypatch):
    """While recovery works on the store, the lock names it (a seal would wait)."""
    from aimsflow.evidence.lock import is_locked
    from aimsflow.retention import dispose

    seen = []
    monkeypatch.setattr(dispose, "markers", lambda loc: seen.append(is_locked(loc.evidence_root)) or [])
    recover_job(PERIOD, executor("scheduled__7"))
    assert seen and "retention_disposal/recover scheduled__7" in (seen[0] or "")


@contextlib.contextmanager
def live_run(state: str, triggered_by: str):
    """A retention_disposal run in Airflow's metadata DB, as the scheduler leaves it."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import delete

    now = dt.datetime.now(dt.UTC)
    run_id = f"scheduled__test-{state}-{triggered_by}"
    with create_session() as session:
        session.add(
            DagRun(
                dag_id="retention_disposal",
                run_id=run_id,
                run_type=DagRunType.SCHEDULED if triggered_by == "timetable" else DagRunType.MANUAL,
                state=state,
                triggered_by=DagRunTriggeredByType(triggered_by),
                logical_date=now,
                run_after=now,
                data_interval=(now - dt.timedelta(days=7), now),
            )
        )
    try:
        yield run_id
    finally:
        with create_session() as session:
            session.execute(delete(DagRun).where(DagRun.run_id == run_id))


@pytest.mark.parametrize(("state", "triggered_by"), [("running", "timetable"), ("queued", "ui")])
def test_make_retention_refuses_while_a_scheduled_run_is_live(
    rt_env, airflow_db, capsys, state, triggered_by
):
    from aimsflow.retention.__main__ import main

    with live_run(state, triggered_by) as run_id:
        assert main(["--day", "2026-06-30", "--execute"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and run_id in err and state in err
    assert not (settings.evidence_root() / "records").exists()  # nothing ran


def test_make_retention_refuses_while_the_store_lock_is_held(rt_env, airflow_db, capsys):
    from aimsflow.retention.__main__ import main

    with store_lock(settings.evidence_root(), "retention_disposal/execute scheduled__2026-06-29"):
        assert main(["--day", "2026-06-30"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "retention_disposal/execute scheduled__2026-06-29" in err


def test_live_runs_ignore_finished_runs_and_dag_test_runs(airflow_db):
    """The boundary: a finished scheduled run, or a stale dag.test() run, does not block."""
    from aimsflow.retention.__main__ import live_runs

    with live_run("success", "timetable"), live_run("running", "test"):
        assert live_runs("retention_disposal") == []
    with live_run("running", "timetable") as run_id:
        assert [r.run_id for r in live_runs("retention_disposal")] == [run_id]


def test_retention_never_fires_when_the_daily_verify_and_seal_do(dagbag):
    """Fire times over a year of both schedules are disjoint, with hours in between."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    def fires(dag_id: str, n: int) -> list[dt.datetime]:
        timetable = coerce_to_core_timetable(dagbag.get_dag(dag_id).timetable)
        restriction = TimeRestriction(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), None, catchup=True)
        out, last = [], None
        for _ in range(n):
            info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
            out.append(info.run_after)
            last = DataInterval(info.data_interval.start, info.data_interval.end)
        return out

    retention = fires("retention_disposal", 52)
    seals = fires("evidence_seal", 365)
    assert not set(retention) & set(seals)
    gap = min(abs(r - s) for r in retention for s in seals)
    assert gap >= dt.timedelta(hours=3)
    assert {r.weekday() for r in retention} == {0}  # still weekly, on Mondays


def test_concurrent_lock_holders_are_serialised(rt_env, config, short_wait):
    """Two holders never overlap: a second recovery waits until the first is done."""
    events: list[str] = []
    gate = threading.Event()

    def seal() -> None:
        with store_lock(settings.evidence_root(), "evidence_seal/seal"):
            events.append("seal in")
            gate.set()
            threading.Event().wait(0.1)
            events.append("seal out")

    thread = threading.Thread(target=seal)
    thread.start()
    gate.wait(5)
    retention_job.LOCK_TIMEOUT_SECONDS = 5
    recover_job(PERIOD, executor())
    events.append("recovered")
    thread.join()
    assert events == ["seal in", "seal out", "recovered"]
