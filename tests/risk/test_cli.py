"""``aimsflow nc list`` on a temporary store, and ``aimsflow nc close`` against a local fake of
Airflow's REST API (login, DAG, trigger, run state), checking exactly what is sent."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aimsflow.cli import main
from aimsflow.results import Status
from aimsflow.risk.job import CLOSE as _CLOSE
from aimsflow.risk.job import close_nonconformity
from aimsflow.risk.nonconformity import current_nonconformities
from tests.conftest import declared
from tests.risk.conftest import CLEAN

close_nonconformity = declared(_CLOSE, close_nonconformity)

D1, D2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
CHECK = f"data_quality/{CLEAN}"


def test_nc_list_shows_open_and_closed_with_their_evidence(store, write, capsys):
    failed = write(CHECK, D1, Status.failed)
    (nc,) = current_nonconformities(store)[0]
    assert main(["nc", "list"]) == 0
    out = capsys.readouterr().out
    assert nc.id in out and "open" in out and failed.key in out and "* not yet in a reassessment" in out

    passed = write(CHECK, D2, Status.passed)
    closure = close_nonconformity(
        nc.id, "null incomes in the export", "export fixed", "alice", storage=store, triggered_by="ui"
    )
    write(
        "nonconformity_close/close",
        D2,
        closure.status,
        summary=closure.summary,
        dag_id="nonconformity_close",
        task_id="close",
        run_after=dt.datetime.now(dt.UTC),
        user="alice",
        controls=("10.2",),
    )
    assert main(["nc", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["open"], doc["closed"]) == (0, 1)
    (entry,) = doc["nonconformities"]
    assert entry["status"] == "closed" and entry["closure"]["closed_by"] == "alice"
    assert (
        entry["closure"]["evidence_of_pass"] == passed.key and entry["occurrences"][0]["record"] == failed.key
    )
    assert main(["nc", "list", "--status", "open"]) == 0
    assert nc.id not in capsys.readouterr().out
    assert main(["nc", "list", "--status", "closed"]) == 0
    out = capsys.readouterr().out
    assert "closed" in out and "by alice" in out and "root cause: null incomes in the export" in out


def test_nc_list_flags_records_that_do_not_verify(store, write, forger, capsys):
    """Attack (issue 12): a forged record entered the ledger unnoticed. `nc list` reads only verified
    records, flags the forged folder (UNTRUSTED; with --json in ``untrusted_records`` and on stderr)
    and exits 1."""
    genuine = write(CHECK, D1, Status.failed)
    forged = write(CHECK, D2, Status.failed, signer=forger)
    assert main(["nc", "list", "--json"]) == 1
    out, err = capsys.readouterr()
    doc = json.loads(out)
    (nc,) = doc["nonconformities"]
    assert [o["record"] for o in nc["occurrences"]] == [genuine.key]
    assert doc["untrusted_records"] == [
        {"record": forged.key, "problem": "signature by key 'test-key-1' does not match"}
    ]
    assert forged.key in err
    assert main(["nc", "list"]) == 1
    assert f"UNTRUSTED {forged.key}: signature by key" in capsys.readouterr().out


class FakeAirflow(BaseHTTPRequestHandler):
    """Airflow 3's endpoints as ``nc close`` uses them; records every request."""

    calls: list[tuple[str, str, dict | None, str | None]] = []
    paused = False
    states = ["queued", "running", "failed"]
    dag_answer = 200  # 403: alice may not see the DAG; 404: no such DAG
    trigger_answer = 200  # 403: alice may see it but not trigger it

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.calls.append((self.command, self.path, body, self.headers.get("Authorization")))
        return body

    def do_POST(self):  # noqa: N802
        body = self._record()
        if self.path == "/auth/token":
            if body == {"username": "alice", "password": "s3cret"}:
                return self._reply(201, {"access_token": "jwt-of-alice"})
            return self._reply(401, {"detail": "Invalid credentials"})
        if self.path == "/api/v2/dags/nonconformity_close/dagRuns":
            if self.headers.get("Authorization") != "Bearer jwt-of-alice":
                return self._reply(401, {"detail": "Not authenticated"})
            if self.trigger_answer == 403:
                return self._reply(403, {"detail": "Forbidden"})
            return self._reply(200, {"dag_run_id": "manual__2026-11-28T10:00:00+00:00", "state": "queued"})
        return self._reply(404, {"detail": "Not Found"})

    def do_GET(self):  # noqa: N802
        self._record()
        if self.path == "/api/v2/dags/nonconformity_close":
            if self.dag_answer == 404:
                return self._reply(404, {"detail": "The Dag with ID: `nonconformity_close` was not found"})
            if self.dag_answer == 403:
                return self._reply(403, {"detail": "Forbidden"})
            return self._reply(200, {"dag_id": "nonconformity_close", "is_paused": self.paused})
        if self.path.startswith("/api/v2/dags/nonconformity_close/dagRuns/manual__2026-11-28T10"):
            return self._reply(200, {"state": type(self).states.pop(0)})
        return self._reply(404, {"detail": "Not Found"})

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def airflow(monkeypatch):
    FakeAirflow.calls = []
    FakeAirflow.paused = False
    FakeAirflow.states = ["queued", "failed"]
    FakeAirflow.dag_answer = FakeAirflow.trigger_answer = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Bounded: the server stops by itself even if a test hangs (a test takes well under a second).
    stop = threading.Timer(30, server.shutdown)
    stop.daemon = True
    stop.start()
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_USERNAME", "alice")
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_PASSWORD", "s3cret")
    yield FakeAirflow
    stop.cancel()
    server.shutdown()
    server.server_close()


CLOSE = ["nc", "close", "NC-20261124-0a70c3", "--root-cause", "null incomes", "--corrective-action", "fixed"]


def test_nc_close_logs_in_and_triggers_the_closing_dag_with_its_params(airflow, capsys):
    assert main(CLOSE) == 0
    login, dag, trigger = airflow.calls
    assert login == ("POST", "/auth/token", {"username": "alice", "password": "s3cret"}, None)
    assert dag[:2] == ("GET", "/api/v2/dags/nonconformity_close") and dag[3] == "Bearer jwt-of-alice"
    method, path, body, auth = trigger
    assert (method, path, auth) == ("POST", "/api/v2/dags/nonconformity_close/dagRuns", "Bearer jwt-of-alice")
    assert body["logical_date"] is None
    assert body["conf"] == {
        "nonconformity": "NC-20261124-0a70c3",
        "root_cause": "null incomes",
        "corrective_action": "fixed",
    }
    out = capsys.readouterr().out
    assert "triggered nonconformity_close run manual__2026-11-28T10:00:00+00:00 as alice" in out
    assert "s3cret" not in out


def test_nc_close_waits_for_the_outcome_and_says_when_it_was_refused(airflow, capsys, monkeypatch):
    import aimsflow.risk.airflow_api as api

    monkeypatch.setattr(api.time, "sleep", lambda s: None)
    assert main([*CLOSE, "--wait", "30"]) == 1
    out = capsys.readouterr().out
    assert ": failed" in out and "refused" in out
    assert [c[1] for c in airflow.calls].count(
        "/api/v2/dags/nonconformity_close/dagRuns/manual__2026-11-28T10%3A00%3A00%2B00%3A00"
    ) == 2


def test_nc_close_with_a_wrong_password_says_what_airflow_answered(airflow, monkeypatch, capsys):
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_PASSWORD", "wrong")
    with pytest.raises(SystemExit) as exc:
        main(CLOSE)
    err = capsys.readouterr().err
    assert exc.value.code == 3  # could not run: the API refused the login
    assert "POST /auth/token: HTTP 401" in err and "Invalid credentials" in err
    assert len(airflow.calls) == 1  # nothing triggered


def test_nc_close_without_a_server_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_USERNAME", "alice")
    monkeypatch.setenv("AIMSFLOW_AIRFLOW_PASSWORD", "x")
    with pytest.raises(SystemExit) as exc:
        main(CLOSE)
    assert exc.value.code == 3
    assert "POST http://127.0.0.1:9/auth/token" in capsys.readouterr().err


TRIGGER = ("POST", "/api/v2/dags/nonconformity_close/dagRuns")


def test_nc_close_on_a_paused_dag_fails_fast_saying_how_to_unpause(airflow, monkeypatch, capsys):
    """Bug: ``aimsflow nc close`` on a paused DAG triggered a run that waited out ``--wait`` in the
    queue. It now refuses before triggering, naming the reason and how to unpause."""
    import aimsflow.risk.airflow_api as api

    monkeypatch.setattr(api.time, "sleep", lambda s: pytest.fail("nc close waited on a paused DAG"))
    airflow.paused = True
    with pytest.raises(SystemExit) as exc:
        main([*CLOSE, "--wait", "600"])
    assert exc.value.code == 3
    message = capsys.readouterr().err
    assert "nonconformity_close is paused" in message
    assert "airflow dags unpause nonconformity_close" in message
    assert [c[:2] for c in airflow.calls] == [
        ("POST", "/auth/token"),
        ("GET", "/api/v2/dags/nonconformity_close"),
    ]


@pytest.mark.parametrize(
    ("answer", "says"),
    [(404, "no DAG nonconformity_close"), (403, "may not read the DAG nonconformity_close")],
)
def test_nc_close_fails_fast_when_the_dag_is_missing_or_forbidden(airflow, answer, says, capsys):
    """Bug: a missing DAG or a user without permission gave a bare HTTP error (or a wait); now a
    reason and nothing triggered."""
    airflow.dag_answer = answer
    with pytest.raises(SystemExit) as exc:
        main(CLOSE)
    err = capsys.readouterr().err
    assert exc.value.code == 3 and says in err and f"HTTP {answer}" in err
    assert TRIGGER not in [c[:2] for c in airflow.calls]


def test_nc_close_when_the_user_may_not_trigger_says_so(airflow, capsys):
    airflow.trigger_answer = 403
    with pytest.raises(SystemExit) as exc:
        main(CLOSE)
    err = capsys.readouterr().err
    assert exc.value.code == 3
    assert "alice may not trigger nonconformity_close" in err and "HTTP 403" in err
