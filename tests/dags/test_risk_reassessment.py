"""dag.test() runs of risk_reassessment (the record, its status, the notifier through a Slack
connection pointing at a local fake webhook) and of nonconformity_close (refused, then granted)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.seal import Witness, seal_pending
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, Subject
from aimsflow.risk.nonconformity import current_nonconformities

pytestmark = pytest.mark.slow
CLEAN = "loan_applications_clean"
CHECK = f"data_quality/{CLEAN}"
D1, D2, D3 = dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)


def _record(
    storage, day: dt.date, status: Status, critical: int = 0, run_after: dt.datetime | None = None
) -> str:
    run_after = run_after or dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC)
    summary = {"failed_by_severity": {"critical": critical}, "missing_columns": [], "drift": {"drifted": []}}
    producer = Producer(
        kind="task",
        dag_id="data_quality",
        run_id=f"manual__{run_after.isoformat()}",
        task_id="validate",
        try_number=1,
        max_tries=2,
        run_type="manual",
        run_after=run_after.isoformat(),
    )
    result = JobResult(
        Subject("loan_approval", CLEAN, day.isoformat()),
        status,
        check=CHECK,
        controls=("A.7.4",),
        summary=summary,
        files={"summary.json": json.dumps(summary).encode()},
    )
    now = dt.datetime.now(dt.UTC)
    return write_record(
        storage, result, RunContext(Period.day(day), producer, now, now), Signer.from_settings()
    ).key


class Webhook(BaseHTTPRequestHandler):
    posts: list[dict] = []

    def do_POST(self):  # noqa: N802
        self.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slack(monkeypatch):
    """A Slack connection whose webhook is a local fake: what the notifier posts is captured here."""
    Webhook.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/services/T/B/X"
    monkeypatch.setenv("AIRFLOW_CONN_AIMSFLOW_SLACK", json.dumps({"conn_type": "http", "password": url}))
    yield Webhook.posts
    server.shutdown()
    server.server_close()


def test_reassessment_run_writes_the_register_and_announces_what_is_new(aims_env, dagbag, slack):
    storage = LocalStorage(settings.evidence_root())
    _record(storage, D1, Status.passed)
    defect = _record(storage, D2, Status.failed, critical=3)
    _record(storage, D3, Status.passed)
    dag = dagbag.get_dag("risk_reassessment")
    run = dag.test(logical_date=Period.days(D1, D3).end, run_conf={"period": "2026-11-25..2026-11-27"})
    assert str(run.state) == "failed"  # unaccepted risks above appetite: a finding, not a crash
    (rec,) = [r for r in load_summaries(storage) if r.check == "risk_reassessment/reassess"]
    assert rec.status == Status.failed and rec.producer["try_number"] == 1  # no retry
    assert rec.period.label == "2026-11-25..2026-11-27"
    assert "R-DQ-01" in rec.summary["unaccepted_above_appetite"]
    files = set(storage.list_files(rec.key))
    assert {"register.json", "diff.json", "nonconformities.json", "report.md"} <= files
    snapshot = json.loads(storage.get(f"{rec.key}/register.json"))
    dq = next(r for r in snapshot["risks"] if r["id"] == "R-DQ-01")
    assert dq["current"]["score"] == 16 and dq["records"] == [defect]
    # The notifier fired once, from the failure callback, with the new nonconformity and high risks.
    (post,) = slack
    (nc,) = rec.summary["notify"]["new_nonconformities"]
    assert nc["id"] in post["text"] and "New high risk R-DQ-01" in post["text"] and rec.key in post["text"]


def test_closing_run_refuses_without_a_later_pass_then_closes_after_one(aims_env, dagbag, monkeypatch):
    """With the test setting on (dag.test() may close), the closing DAG still needs a later pass."""
    monkeypatch.setenv("AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "true")
    storage = LocalStorage(settings.evidence_root())
    failed = _record(storage, D1, Status.failed, critical=2)
    # as its own run would have: each run seals its records as its last step, so the failure is in the
    # log before the closing run seals its closure (pending records come after every sealed one)
    seal_pending(storage, Signer.from_settings(), Witness())
    (nc,) = current_nonconformities(storage)[0]
    dag = dagbag.get_dag("nonconformity_close")
    conf = {
        "nonconformity": nc.id,
        "root_cause": "LOS export wrote empty incomes",
        "corrective_action": "export fixed; null check added upstream (CHG-1234)",
    }

    refused = dag.test(run_conf=conf)
    assert str(refused.state) == "failed"
    (rec,) = [r for r in load_summaries(storage) if r.check == "nonconformity_close/close"]
    assert rec.status == Status.failed and rec.producer["try_number"] == 1
    assert rec.summary["refused"].startswith(f"no run of {CHECK} [{CLEAN}] passed after the last occurrence")

    passed = _record(storage, D2, Status.passed, run_after=dt.datetime.now(dt.UTC))
    seal_pending(storage, Signer.from_settings(), Witness())
    granted = dag.test(run_conf=conf)
    assert str(granted.state) == "success"
    closure = next(
        r
        for r in load_summaries(storage)
        if r.check == "nonconformity_close/close" and r.status == Status.passed
    )
    assert closure.summary["evidence_of_pass"] == passed and closure.controls == ["10.2"]
    manifest = json.loads(storage.get(f"{closure.key}/manifest.json"))["predicate"]
    assert manifest["triggered_by"]["user"] == "dag_test" == closure.summary["closed_by"]
    assert manifest["triggered_by"]["params"]["root_cause"] == conf["root_cause"]
    (closed,) = current_nonconformities(storage)[0]
    assert closed.closure is not None and closed.closure.closed_by == "dag_test"
    assert [o.record for o in closed.occurrences] == [failed]


def test_a_dag_test_run_cannot_close_without_the_test_setting(aims_env, dagbag):
    """Attack (issue 12): closing needed only a non-empty user name, and dag.test() names "dag_test".
    Without the test setting, a dag.test() run (trigger type "test", read from where Airflow stores
    it, since the Task SDK does not hand it to the task) is refused with a failed record saying why,
    even with a later pass; the nonconformity stays open."""
    storage = LocalStorage(settings.evidence_root())
    _record(storage, D1, Status.failed, critical=2)
    (nc,) = current_nonconformities(storage)[0]
    _record(storage, D2, Status.passed, run_after=dt.datetime.now(dt.UTC))
    conf = {
        "nonconformity": nc.id,
        "root_cause": "LOS export wrote empty incomes",
        "corrective_action": "export fixed; null check added upstream (CHG-1234)",
    }
    run = dag_test_close(dagbag, conf)
    assert str(run.state) == "failed"
    (rec,) = [r for r in load_summaries(storage) if r.check == "nonconformity_close/close"]
    assert rec.status == Status.failed and rec.summary["request"]["trigger"] == "test"
    assert "AIMSFLOW_CLOSE_ALLOWS_DAG_TEST" in rec.summary["refused"]
    assert current_nonconformities(storage)[0][0].is_open


def dag_test_close(dagbag, conf):
    return dagbag.get_dag("nonconformity_close").test(run_conf=conf)
