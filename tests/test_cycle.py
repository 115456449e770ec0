"""The one driver behind `make run` and `make retention`: order from declarations and schedules,
settings without os.environ, task output to a log file, run history kept, nothing left unsealed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from aimsflow import settings
from aimsflow.cycle import RunRow, _output_to, frequent_dags, plan_cycle, plan_reports


def test_settings_overrides_are_seen_by_the_accessors_and_leave_the_environment_alone(monkeypatch):
    monkeypatch.delenv("AIMSFLOW_RETRY_DELAY_SECONDS", raising=False)
    with settings.overridden(AIMSFLOW_RETRY_DELAY_SECONDS="1", AIMSFLOW_START_DATE="2026-10-01"):
        assert settings.retry_delay_seconds() == 1 and settings.start_date() == dt.date(2026, 10, 1)
        assert "AIMSFLOW_RETRY_DELAY_SECONDS" not in os.environ
    assert settings.retry_delay_seconds() == 300


def test_a_bad_override_is_refused_like_a_bad_environment_value():
    with pytest.raises(settings.SettingsError, match="AIMSFLOW_MIN_GROUP_SIZE"):
        with settings.overridden(AIMSFLOW_MIN_GROUP_SIZE="0"):
            pass
    assert settings.min_group_size() >= 3  # the override did not stick


def test_daily_dags_run_per_day_periodic_once_and_the_sealing_dag_last(dagbag):
    daily, periodic, sealing = plan_cycle(dagbag)
    assert daily == [
        "data_preparation",
        "data_quality",
        "bias_assessment",
        "data_provenance",
        "evidence_seal",
    ]
    assert periodic == ["retention_disposal", "risk_reassessment"]  # the reassessment reads everything
    assert sealing == "evidence_seal"
    # The report reads everything, the reassessment by name: once, after the periodic DAGs.
    assert plan_reports(dagbag) == ["compliance_report"]


def test_polling_dags_run_once_first_not_once_a_day(dagbag):
    """manual_evidence is hourly: it polls the inbox, so the cycle runs it once, not per day."""
    assert frequent_dags(dagbag) == ["manual_evidence"]
    assert "manual_evidence" not in plan_cycle(dagbag)[0]


def test_a_polling_run_with_nothing_to_do_is_no_machinery_problem():
    empty = RunRow("manual_evidence", "2026-11-20", "success", 1.0, may_be_empty=True)
    assert not empty.machinery_broke and empty.status == "nothing new"
    failed = RunRow("manual_evidence", "2026-11-20", "failed", 1.0, may_be_empty=True)
    assert failed.machinery_broke  # a failed run without a record saying why still is
    erred = RunRow("manual_evidence", "2026-11-20", "failed", 1.0, may_be_empty=True)
    erred.records.update({"error": 1, "passed": 2})
    assert erred.machinery_broke and erred.status == "error"


@pytest.mark.parametrize(
    ("state", "records", "broke"),
    [
        ("success", {"passed": 3}, False),
        ("failed", {"failed": 1}, False),  # a finding is not a machinery problem
        ("success", {"passed": 1, "error": 1}, True),
        ("success", {}, True),  # a run that left no record
        ("failed", {"passed": 2}, True),  # a run that failed without a record saying why
    ],
)
def test_machinery_problems_are_told_from_findings(state, records, broke):
    row = RunRow("d", "2026-11-20", state, 1.0)
    row.records.update(records)
    assert row.machinery_broke is broke


def test_task_output_goes_to_the_log_file_not_the_console(tmp_path, capfd):
    log = tmp_path / "cycle.log"
    with _output_to(log):
        os.write(1, b"a task log line\n")
        subprocess.run([sys.executable, "-c", "import sys; print('child traceback', file=sys.stderr)"])
    print("summary line")
    out, err = capfd.readouterr()
    assert out == "summary line\n" and err == ""
    assert "a task log line" in log.read_text() and "child traceback" in log.read_text()


@pytest.mark.slow
def test_one_day_cycle_keeps_every_run_in_history_and_leaves_nothing_pending(aims_env, airflow_db, capsys):
    """Bug: `make run` left one Airflow run per DAG, so most records' run ids resolved to nothing in
    the UI: dag.test() without a logical date deleted the DAG's earlier undated run (its lookup by
    ``logical_date == None`` matched it) and cleared the task instances of every earlier run. Also:
    the reassessment's record was left unsealed by the cycle's last seal."""
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from aimsflow.cycle import LEAD_IN_DAYS

    def undated_runs() -> int:
        with create_session() as session:
            return session.query(DagRun).filter(DagRun.logical_date.is_(None)).count()

    before = undated_runs()
    cli = [sys.executable, "-m", "aimsflow.cli", "cycle", "--days", "1", "--end", "2026-06-30", "--json"]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=600)
    doc = json.loads(done.stdout)  # stdout holds the JSON summary only: task logs went to the log file
    assert done.returncode == 0, (doc["machinery_problems"], done.stderr[-2000:])
    assert "data_quality" in done.stderr and "Traceback" not in done.stderr
    assert doc["verify"]["ok"] and doc["verify"]["pending"] == 0
    runs = [r for r in doc["runs"] if r["run_id"]]
    assert undated_runs() == before + LEAD_IN_DAYS + len(runs)  # no earlier run was deleted
    # the inbox is polled once, first: the demo's four documents (aims_env's own inbox)
    assert runs[0]["dag_id"] == "manual_evidence" and sum(runs[0]["records"].values()) == 4
    assert not [r for r in runs[1:] if r["dag_id"] == "manual_evidence"]
    assert [r["dag_id"] for r in runs][-4:] == [
        "retention_disposal",
        "risk_reassessment",
        "compliance_report",
        "evidence_seal",
    ]
    assert doc["report"] and doc["report"].endswith("/report.html") and os.path.exists(doc["report"])
    with create_session() as session:
        for run in runs:
            dag_run = session.query(DagRun).filter_by(dag_id=run["dag_id"], run_id=run["run_id"]).one()
            assert dag_run.logical_date is None  # the scheduler's interval stays free
            states = {
                ti.state
                for ti in session.query(TaskInstance).filter_by(dag_id=run["dag_id"], run_id=run["run_id"])
            }
            assert states and None not in states, (run["dag_id"], states)
    assert os.path.exists(doc["task_log"])


def test_the_driver_starts_the_witness_on_a_fresh_store_only(aims_env):
    """``make run`` starts the witness explicitly, saying so in one line, for a store with no record
    and no seal; a store with records but no witness (a deleted one?) is left for a person."""
    import io
    import shutil

    from aimsflow.cycle import start_witness_on_a_fresh_store
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, Status, Subject

    shutil.rmtree(aims_env / "witness")  # aims_env started one
    console = io.StringIO()
    assert start_witness_on_a_fresh_store(console) is True
    assert console.getvalue().count("\n") == 1 and console.getvalue().startswith("witness: started")
    assert Witness().read().empty
    assert start_witness_on_a_fresh_store(console) is False  # already started: nothing printed
    assert console.getvalue().count("\n") == 1

    shutil.rmtree(aims_env / "witness")
    now = dt.datetime.now(dt.UTC)
    write_record(
        LocalStorage(settings.evidence_root()),
        JobResult(Subject(), Status.passed, check="data_quality/validate", controls=("A.7.4",)),
        RunContext(Period.day(dt.date(2026, 11, 20)), Producer.command_run("test"), now, now),
        Signer.from_settings(),
    )
    assert start_witness_on_a_fresh_store(console) is False and Witness().read() is None
