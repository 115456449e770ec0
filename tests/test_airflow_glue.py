"""The wrapper's four statuses, exercised with a task context built by hand (no scheduler)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from types import SimpleNamespace

import pytest

from aimsflow import settings
from aimsflow.airflow_glue import run_job
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobError, JobResult, Status, Subject

DAY = dt.date(2026, 11, 20)


def _context(try_number: int = 1, run_type: str = "scheduled", params: dict | None = None):
    dag_run = SimpleNamespace(
        run_type=run_type,
        run_after=dt.datetime(2026, 11, 21, 0, 5, tzinfo=dt.UTC),
        data_interval_start=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        data_interval_end=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
        triggering_user_name="alice",
    )
    pushed: dict = {}
    ti = SimpleNamespace(
        dag_id="d",
        run_id="scheduled__x",
        task_id="t",
        map_index=-1,
        try_number=try_number,
        max_tries=2,
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
        pushed=pushed,
    )
    return {
        "dag_run": dag_run,
        "ti": ti,
        "params": params or {"period": None, "token": "abc"},
        "outlet_events": defaultdict(SimpleNamespace),
        "triggering_asset_events": {},
    }


def _declared(func, controls=("A.7.4",), announces=(), subject=SubjectKind.aims, name="demo_job") -> Job:
    return Job("demo_dag", name, controls, subject, PeriodUse.day, func, "a test job", announces=announces)


def _job(status: Status, announces=()) -> Job:
    def job(period: Period) -> JobResult:
        return JobResult(Subject("s", "x", period.label), status, summary={"n": 1})

    return _declared(job, announces=announces)


def _only_record():
    (record,) = load_summaries(LocalStorage(settings.evidence_root()))
    manifest = json.loads((settings.evidence_root() / record.key / "manifest.json").read_text())["predicate"]
    return record, manifest


@pytest.mark.parametrize("status", [Status.passed, Status.warning])
def test_passed_and_warning_write_a_record_and_succeed(aims_env, status):
    ctx = _context()
    out = run_job(ctx, _job(status, announces=("x",)))
    record, manifest = _only_record()
    assert out == {"record": record.key, "status": str(status), "period": "2026-11-20"}
    assert manifest["triggered_by"] == {"user": "alice", "params": {"period": None, "token": "***"}}
    assert manifest["period"]["label"] == "2026-11-20" and manifest["producer"]["try_number"] == 1
    (event,) = ctx["outlet_events"].values()
    assert event.extra["period"] == {"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-21T00:00:00+00:00"}


def test_failed_writes_the_record_then_fails_without_retry(aims_env):
    from airflow.sdk.exceptions import AirflowFailException

    ctx = _context()
    with pytest.raises(AirflowFailException, match="demo_dag/demo_job failed for 2026-11-20"):
        run_job(ctx, _job(Status.failed, announces=("x",)))
    record, _ = _only_record()
    assert record.status == Status.failed
    assert not ctx["outlet_events"]  # no Asset event for data that fell short
    # A red task says where its evidence is (the XCom tab), so nobody searches the store for it.
    assert ctx["ti"].pushed["outcome"]["record"] == record.key
    assert ctx["ti"].pushed["outcome"]["status"] == "failed"


def test_a_job_cannot_report_controls_it_did_not_declare(aims_env):
    def overreaching(period: Period) -> JobResult:
        return JobResult(Subject(), Status.passed, controls=("A.7.4", "A.9.2"))

    with pytest.raises(ValueError, match="undeclared controls \\['A.9.2'\\]"):
        run_job(_context(), _declared(overreaching))
    record, manifest = _only_record()
    assert record.status == Status.error and manifest["controls"] == ["A.7.4"]


def test_a_job_may_narrow_its_declared_controls(aims_env):
    def narrow(period: Period) -> JobResult:
        return JobResult(Subject(), Status.passed, controls=("A.7.4",))

    run_job(_context(), _declared(narrow, controls=("A.7.4", "A.6.2.6")))
    _, manifest = _only_record()
    assert manifest["controls"] == ["A.7.4"]


def test_a_failed_tasks_full_reason_is_in_an_xcom_and_the_log_not_cut_off(aims_env, caplog):
    """Bug: the refusal reason of nonconformity_close was cut off in the UI: the whole reason stood in
    the exception, which the task log shows as one long, unwrapped summary line. The exception now
    stays short and names the record; the full reason is a wrapped log line and the ``outcome`` XCom
    (with the record and its status), on failure as on error."""
    from airflow.sdk.exceptions import AirflowFailException

    reason = "closing NC-20261124-0a70c3 refused: no run of data_quality/x passed after " + "x" * 400

    def refused(period: Period) -> JobResult:
        return JobResult(Subject(), Status.failed, message=reason)

    ctx = _context()
    pushed: dict = {}
    ctx["ti"].xcom_push = lambda key, value: pushed.__setitem__(key, value)
    with caplog.at_level("INFO", logger="aimsflow.airflow_glue"), pytest.raises(AirflowFailException) as exc:
        run_job(ctx, _declared(refused, controls=("10.2",)))
    record, _ = _only_record()
    assert record.key in str(exc.value) and len(str(exc.value)) < 300 and reason not in str(exc.value)
    assert pushed["outcome"] == {
        "record": record.key,
        "status": "failed",
        "period": "2026-11-20",
        "message": reason,
    }
    assert any(reason in r.getMessage() for r in caplog.records)

    def broken(period: Period) -> JobResult:
        raise RuntimeError("boom")

    pushed.clear()
    with pytest.raises(RuntimeError):
        run_job(ctx, _declared(broken, controls=("10.2",), name="other_job"))
    assert pushed["outcome"]["status"] == "error" and pushed["outcome"]["message"] == "boom"


def test_exception_writes_an_error_record_with_secrets_redacted_and_is_reraised(aims_env):
    seed = settings.signing_key_b64()

    def broken(period: Period, **params) -> JobResult:
        raise RuntimeError(f"could not open postgres://u:pw-secret@h/db with {seed}")

    with pytest.raises(RuntimeError):
        run_job(_context(try_number=3), _declared(broken, subject=SubjectKind.dataset), dataset="x")
    record, manifest = _only_record()
    assert (
        record.status == Status.error
        and record.check == "demo_dag/demo_job"
        and record.subject["dataset"] == "x"
    )
    stored = (settings.evidence_root() / record.key / "manifest.json").read_text()
    assert seed not in stored and "pw-secret" not in stored
    assert manifest["error"]["type"] == "RuntimeError" and manifest["error"]["final_try"] is True
    assert "Traceback" in manifest["error"]["traceback"]


def test_job_error_keeps_what_the_job_knew(aims_env):
    def bad_input(period: Period) -> JobResult:
        partial = JobResult(Subject("s", "x", "2026-11-20"), Status.error, summary={"file": "f"})
        raise JobError("f.csv: empty file", partial)

    with pytest.raises(JobError):
        run_job(_context(), _declared(bad_input, controls=("A.7.3", "A.7.4")))
    _, manifest = _only_record()
    assert manifest["controls"] == ["A.7.3", "A.7.4"] and manifest["summary"] == {"file": "f"}
    assert manifest["message"] == "f.csv: empty file" and manifest["error"]["final_try"] is False


def test_unknown_period_still_writes_an_error_record(aims_env):
    ctx = _context(run_type="asset_triggered")
    with pytest.raises(ValueError, match="extra\\['period'\\]"):
        run_job(ctx, _job(Status.passed))
    record, _ = _only_record()
    assert record.status == Status.error and record.period == Period.day(dt.date(2026, 11, 21))


def test_asset_triggered_runs_of_the_task_sdk_cover_their_events_periods(aims_env):
    """Bug: the Task SDK's DagRunType is a (str, Enum) whose str() is "DagRunType.ASSET_TRIGGERED", so
    asset-triggered (and scheduled) runs were taken for manual ones: under the real scheduler a
    data_quality run that consumed events for 11-18..11-27 got the period 11-27 and its mapped tasks
    for earlier days failed with "task period ... lies outside the run's period"."""
    from airflow.sdk.api.datamodels._generated import DagRunType

    from aimsflow.airflow_glue import period_from_context, run_type_of
    from aimsflow.runperiod import period_extra

    ctx = _context(run_type=DagRunType.ASSET_TRIGGERED)
    events = [SimpleNamespace(extra=period_extra(Period.day(dt.date(2026, 11, d)))) for d in (18, 27)]
    ctx["triggering_asset_events"] = {"dataset/x": events}
    assert run_type_of(ctx["dag_run"]) == "asset_triggered"
    assert period_from_context(ctx) == Period.days(dt.date(2026, 11, 18), dt.date(2026, 11, 27))
    out = run_job(ctx, _job(Status.passed), day="2026-11-18")
    assert out["period"] == "2026-11-18"
    record, manifest = _only_record()
    assert manifest["producer"]["run_type"] == "asset_triggered"


def test_a_sealing_job_writes_its_record_before_it_seals(aims_env):
    """The seal's own record is written through ``write_record`` before the chain is extended, so the
    seal covers it; a job that breaks after that keeps its record and re-raises (the try's key is
    taken, a retry writes its own)."""
    seen = []

    def seal(period: Period, *, write_record) -> JobResult:
        ref = write_record(JobResult(Subject(), Status.passed, summary={"records_to_seal": 1}))
        seen.append(ref.key)
        return JobResult(Subject(), Status.passed)

    job = Job("demo_dag", "seal", ("7.5.3",), SubjectKind.aims, PeriodUse.label, seal, "t", seals=True)
    out = run_job(_context(), job)
    record, manifest = _only_record()
    assert out["record"] == record.key == seen[0] and manifest["summary"] == {"records_to_seal": 1}

    def broken_seal(period: Period, *, write_record) -> JobResult:
        write_record(JobResult(Subject(), Status.passed))
        raise OSError("witness unreachable")

    broken = Job(
        "demo_dag", "seal2", ("7.5.3",), SubjectKind.aims, PeriodUse.label, broken_seal, "t", seals=True
    )
    with pytest.raises(OSError, match="witness unreachable"):
        run_job(_context(), broken)
    statuses = sorted(str(r.status) for r in load_summaries(LocalStorage(settings.evidence_root())))
    assert statuses == ["passed", "passed"]


def test_the_trigger_type_is_compared_by_its_value():
    """Attack (issue 12), closing needs the run's trigger type: Airflow's DagRunTriggeredByType is a
    plain Enum whose str() is "DagRunTriggeredByType.UI", never "ui"; the glue hands the job the value."""
    from airflow.utils.types import DagRunTriggeredByType

    from aimsflow.airflow_glue import trigger_type, trigger_value

    assert str(DagRunTriggeredByType.UI) != "ui"
    assert trigger_value(DagRunTriggeredByType.UI) == "ui"
    assert trigger_value("rest_api") == "rest_api" and trigger_value(None) is None
    ctx = _context()
    ctx["dag_run"].triggered_by = DagRunTriggeredByType.CLI
    assert trigger_type(ctx, lookup=lambda dag_id, run_id: pytest.fail("not asked")) == "cli"


def test_the_trigger_type_is_looked_up_when_the_task_sdk_does_not_hand_it_over():
    """The Task SDK's DagRun has no ``triggered_by``: the glue asks where Airflow stores it, for this
    task's run, and hands over None (the job then refuses) when nobody answers."""
    from airflow.sdk.api.datamodels._generated import DagRun as SdkDagRun
    from airflow.utils.types import DagRunTriggeredByType

    from aimsflow.airflow_glue import trigger_type

    assert "triggered_by" not in SdkDagRun.model_fields  # if Airflow adds it, the glue reads it first
    asked = []

    def lookup(dag_id, run_id):
        asked.append((dag_id, run_id))
        return DagRunTriggeredByType.REST_API

    ctx = _context()
    assert not hasattr(ctx["dag_run"], "triggered_by")
    assert trigger_type(ctx, lookup=lookup) == "rest_api" and asked == [("d", "scheduled__x")]
    assert trigger_type(ctx, lookup=lambda dag_id, run_id: None) is None


def test_the_trigger_type_from_the_rest_api(monkeypatch):
    """Where the task may not read the metadata DB, the trigger type comes from the REST API, logged in
    with the connection aimsflow_airflow_api; no connection means unknown, never assumed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from aimsflow import airflow_glue

    seen = []

    class Api(BaseHTTPRequestHandler):
        def _reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            seen.append(("POST", self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self._reply({"access_token": "jwt"})

        def do_GET(self):  # noqa: N802
            seen.append(("GET", self.path, self.headers.get("Authorization")))
            self._reply({"dag_run_id": "manual__1", "triggered_by": "rest_api", "triggering_user_name": "al"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(airflow_glue, "_trigger_type_from_db", lambda dag_id, run_id: None)
    monkeypatch.delenv("AIRFLOW_CONN_AIMSFLOW_AIRFLOW_API", raising=False)
    try:
        assert airflow_glue.stored_trigger_type("nonconformity_close", "manual__1") is None
        conn = {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": server.server_address[1],
            "login": "svc",
            "password": "pw",
        }
        monkeypatch.setenv("AIRFLOW_CONN_AIMSFLOW_AIRFLOW_API", json.dumps(conn))
        assert airflow_glue.stored_trigger_type("nonconformity_close", "manual__1") == "rest_api"
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [
        ("POST", "/auth/token", {"username": "svc", "password": "pw"}),
        ("GET", "/api/v2/dags/nonconformity_close/dagRuns/manual__1", "Bearer jwt"),
    ]


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        ({"host": "airflow-apiserver", "port": 8080}, "http://airflow-apiserver:8080"),
        ({"host": "airflow.example.org", "schema": "https"}, "https://airflow.example.org"),
        ({"host": "https://airflow.example.org/"}, "https://airflow.example.org"),
        (
            {"host": "ignored", "extra_dejson": {"url": "https://x.example/airflow/"}},
            "https://x.example/airflow",
        ),
    ],
)
def test_api_url_of_a_connection(conn, url):
    from aimsflow.airflow_glue import api_url

    fields = {"host": None, "port": None, "schema": None, "extra_dejson": {}, **conn}
    assert api_url(SimpleNamespace(**fields)) == url


# --- endings: timeout, termination, interrupt ---------------------------------------------------


def _ended_by(exc: BaseException):
    def ends(period: Period) -> JobResult:
        raise exc

    return _declared(ends)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: __import__("airflow.sdk.exceptions").sdk.exceptions.AirflowTaskTimeout(), id="timeout"
        ),
        pytest.param(
            lambda: __import__("airflow.sdk.exceptions").sdk.exceptions.AirflowTaskTerminated("SIGTERM"),
            id="terminated",
        ),
        pytest.param(KeyboardInterrupt, id="keyboard-interrupt"),
        pytest.param(lambda: SystemExit(3), id="system-exit"),
    ],
)
def test_a_task_ended_by_a_base_exception_still_writes_an_error_record(aims_env, make):
    """Attack: a task killed by timeout or termination (``BaseException`` in Airflow 3) left no record:
    ``run_job`` caught only ``Exception``. The error record is written, then the very same exception
    object is re-raised (a ``KeyboardInterrupt`` or ``SystemExit`` keeps its meaning)."""
    exc = make()
    with pytest.raises(type(exc)) as raised:
        run_job(_context(), _ended_by(exc))
    assert raised.value is exc
    record, manifest = _only_record()
    assert record.status == Status.error
    assert manifest["error"]["type"] == type(exc).__name__
    assert type(exc).__name__ in manifest["message"]


def test_a_terminated_try_is_recorded_as_final(aims_env):
    """Airflow fails a terminated try without retry: its record must not promise a retry."""
    from airflow.sdk.exceptions import AirflowTaskTerminated

    with pytest.raises(AirflowTaskTerminated):
        run_job(_context(try_number=1), _ended_by(AirflowTaskTerminated("gone")))
    _, manifest = _only_record()
    assert manifest["error"]["final_try"] is True


def test_sigterm_while_the_job_runs_ends_it_with_an_error_record(aims_env):
    """Attack: Airflow 3.3's task runner answers SIGTERM only with ``on_kill()`` and SIGKILLs the process
    five seconds later, so a terminated task never wrote a record. While the job runs, SIGTERM now
    calls Airflow's handler (``on_kill``) and raises ``AirflowTaskTerminated``: the record is written
    inside the grace Airflow leaves, and the previous handler is back afterwards."""
    import os
    import signal
    import time

    from airflow.sdk.exceptions import AirflowTaskTerminated

    on_kill = []

    def airflow_handler(signum, frame):
        on_kill.append(signum)

    def slow(period: Period) -> JobResult:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the handler long before this ends
        raise AssertionError("SIGTERM did not end the job")

    previous = signal.signal(signal.SIGTERM, airflow_handler)
    try:
        with pytest.raises(AirflowTaskTerminated):
            run_job(_context(), _declared(slow))
        assert signal.getsignal(signal.SIGTERM) is airflow_handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert on_kill == [signal.SIGTERM]
    record, manifest = _only_record()
    assert record.status == Status.error and manifest["error"]["type"] == "AirflowTaskTerminated"
    assert manifest["openlineage"] is None or manifest["openlineage"]["sent"] is False


def test_sigterm_after_the_job_returned_does_not_undo_its_record(aims_env):
    """The negative case: SIGTERM arriving while the record is written (the job is done) must not turn a
    written ``passed`` record into an exception: the handler raises only while the job runs."""
    import os
    import signal

    from aimsflow.airflow_glue import Termination

    calls = []
    previous = signal.signal(signal.SIGTERM, lambda s, f: calls.append(s))
    try:
        with Termination() as term:
            with term.armed():
                pass
            os.kill(os.getpid(), signal.SIGTERM)  # not armed: no exception
            assert term.received
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert calls == [signal.SIGTERM]


def test_a_deferral_is_not_an_ending(aims_env):
    """``TaskDeferred`` is a ``BaseException`` too, but it is Airflow's control flow, not an ending: no
    record, and it reaches the task runner unchanged."""
    from airflow.sdk.exceptions import TaskDeferred

    exc = TaskDeferred(trigger=object(), method_name="resume")
    with pytest.raises(TaskDeferred) as raised:
        run_job(_context(), _ended_by(exc))
    assert raised.value is exc
    assert load_summaries(LocalStorage(settings.evidence_root())) == []


def test_every_try_announces_its_record_before_the_job_runs(aims_env):
    """A try's intent names the record key it will write, in ``intents/<UTC date>/``, before the job
    runs: a try killed with SIGKILL leaves the intent, which verify reports."""
    from aimsflow.evidence.intents import INTENTS_PREFIX, Intent

    storage = LocalStorage(settings.evidence_root())
    seen = []

    def look(period: Period) -> JobResult:
        seen.extend(storage.list_files(INTENTS_PREFIX))
        return JobResult(Subject(), Status.passed)

    out = run_job(_context(try_number=2), _declared(look))
    (name,) = seen
    intent = Intent.from_json(storage.get(f"{INTENTS_PREFIX}/{name}"))
    assert intent.record == out["record"] and intent.try_number == 2
    assert (intent.dag_id, intent.run_id, intent.task_id, intent.map_index) == ("d", "scheduled__x", "t", -1)
    assert name.startswith(intent.started_at.date().isoformat() + "/")


def test_sigterm_in_a_process_without_airflow_writes_the_record_then_terminates(aims_env, tmp_path):
    """With the default SIGTERM disposition (a plain process, no task runner) the process still ends by
    SIGTERM, after the error record is written; end to end, with a real signal, in a child process."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "terminated.py"
    script.write_text(
        "import os, signal, time, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tests.test_airflow_glue import _context, _declared\n"
        "from aimsflow.airflow_glue import run_job\n"
        "def slow(period):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "run_job(_context(), _declared(slow))\n"
        "print('survived')\n"
    )
    root = str(settings.project_root())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(settings.project_root() / "include"), root])}
    out = subprocess.run(
        [sys.executable, str(script), root], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == -signal.SIGTERM, out.stderr[-2000:]
    assert "survived" not in out.stdout
    record, manifest = _only_record()
    assert record.status == Status.error and manifest["error"]["type"] == "AirflowTaskTerminated"
