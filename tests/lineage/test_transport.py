"""The staging transport: loaded from JSON configuration alone, one atomic file per event."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport import get_default_factory
from openlineage.client.transport.http import HttpTransport

from aimsflow import fsutil
from aimsflow.lineage import transport as tr
from aimsflow.lineage.transport import (
    DEFAULT_TRANSPORT_CONFIG_JSON,
    MARQUEZ_TRANSPORT_CONFIG_JSON,
    EventFileError,
    StagingFileTransport,
    read_event_files,
    read_events,
    transport_config_json,
)


def _event(run_id: str | None = None, state: RunState = RunState.COMPLETE, name: str = "d.t") -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=dt.datetime.now(dt.UTC).isoformat(),
        run=Run(runId=run_id or str(uuid.uuid4())),
        job=Job(namespace="aimsflow", name=name),
    )


def test_config_json_is_exact_and_names_the_class_by_path(staging):
    assert DEFAULT_TRANSPORT_CONFIG_JSON == '{"type": "aimsflow.lineage.transport.StagingFileTransport"}'
    assert json.loads(transport_config_json(staging)) == {
        "type": "aimsflow.lineage.transport.StagingFileTransport",
        "directory": str(staging.resolve()),
    }
    assert json.loads(MARQUEZ_TRANSPORT_CONFIG_JSON) == {
        "type": "http",
        "url": "http://marquez:5000",
        "endpoint": "api/v1/lineage",
    }


def test_client_factory_loads_the_transport_from_json_alone(staging):
    transport = get_default_factory().create(json.loads(transport_config_json(staging)))
    assert isinstance(transport, StagingFileTransport) and transport.directory == staging.resolve()
    client = OpenLineageClient(config={"transport": json.loads(transport_config_json(staging))})
    assert isinstance(client.transport, StagingFileTransport)
    client.emit(_event())
    assert len(read_events(staging)) == 1


def test_client_env_config_and_default_directory(ol_env, staging, tmp_path):
    ol_env.setenv("OPENLINEAGE__TRANSPORT", DEFAULT_TRANSPORT_CONFIG_JSON)
    ol_env.setenv("AIMSFLOW_OPENLINEAGE_DIR", str(staging))
    client = OpenLineageClient()
    assert isinstance(client.transport, StagingFileTransport)
    assert client.transport.directory == staging.resolve()
    ol_env.delenv("AIMSFLOW_OPENLINEAGE_DIR")
    ol_env.setenv("AIMSFLOW_HOME", str(tmp_path / "project"))
    assert OpenLineageClient().transport.directory == tmp_path / "project" / "openlineage" / "staging"


def test_unknown_option_is_rejected(staging):
    with pytest.raises(ValueError, match="unknown"):
        get_default_factory().create({"type": tr.STAGING_TRANSPORT_TYPE, "dir": str(staging)})


def test_airflow_provider_reads_the_json_and_emits_through_the_transport(ol_env, staging):
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", transport_config_json(staging))
    assert not conf.is_disabled()
    assert conf.transport() == json.loads(transport_config_json(staging))
    adapter = OpenLineageAdapter()
    client = adapter.get_or_create_openlineage_client()
    assert isinstance(client.transport, StagingFileTransport)
    assert client.transport.directory == staging.resolve()
    event = _event()
    adapter.emit(event)  # the provider's own emit path (redaction, stats, swallowed errors)
    (written,) = read_events(staging)
    assert written["run"]["runId"] == event.run.runId and written["job"]["name"] == "d.t"


def test_switching_to_http_is_configuration_only(ol_env):
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    ol_env.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", MARQUEZ_TRANSPORT_CONFIG_JSON)
    client = OpenLineageAdapter().get_or_create_openlineage_client()
    assert isinstance(client.transport, HttpTransport)
    assert (client.transport.url, client.transport.endpoint) == ("http://marquez:5000", "api/v1/lineage")


def test_http_transport_posts_the_same_event(ol_env):
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = OpenLineageClient(config={"transport": json.loads(tr.http_transport_config_json(url))})
        event = _event()
        client.emit(event)
    finally:
        server.shutdown()
    ((path, body),) = received
    assert path == "/api/v1/lineage" and body["run"]["runId"] == event.run.runId


def test_one_file_per_event_named_by_utc_time_type_and_run(staging):
    transport = StagingFileTransport(tr.StagingFileConfig(directory=staging))
    run_id = str(uuid.uuid4())
    first = transport.emit(_event(run_id, RunState.START))
    second = transport.emit(_event(run_id, RunState.COMPLETE))
    assert first.parent == second.parent == staging
    assert first.name < second.name  # sortable: UTC timestamp first
    stamp = first.name.split("-", 1)[0]
    assert dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC) <= dt.datetime.now(dt.UTC)
    assert f"-START-{run_id}-" in first.name and f"-COMPLETE-{run_id}-" in second.name
    assert [e["eventType"] for e in read_events(staging)] == ["START", "COMPLETE"]
    assert not [p for p in staging.iterdir() if tr.is_temp_name(p.name)]


def test_concurrent_emits_from_threads_never_share_a_file(staging):
    transport = StagingFileTransport(tr.StagingFileConfig(directory=staging))
    run_ids = [str(uuid.uuid4()) for _ in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        paths = list(pool.map(lambda r: transport.emit(_event(r)), run_ids))
    assert len(set(paths)) == 200
    events = read_events(staging)
    assert sorted(e["run"]["runId"] for e in events) == sorted(run_ids)


def _emit_many(directory: str, n: int) -> None:
    transport = StagingFileTransport(tr.StagingFileConfig(directory=directory))
    for _ in range(n):
        transport.emit(_event())


def test_concurrent_emits_from_forked_processes(staging):
    # the provider emits from forked children: names must not collide across processes either
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_emit_many, args=(str(staging), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(read_events(staging)) == 100


def _emit_then_crash(directory: str) -> None:
    transport = StagingFileTransport(tr.StagingFileConfig(directory=directory))
    transport.emit(_event())
    fsutil.publish = lambda temp, final, overwrite: os._exit(3)  # dies after fsync, before the rename
    transport.emit(_event())


def test_a_crash_before_rename_leaves_only_a_hidden_temp_file(staging):
    proc = multiprocessing.get_context("fork").Process(target=_emit_then_crash, args=(str(staging),))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 3
    temps = [p for p in staging.iterdir() if tr.is_temp_name(p.name)]
    assert len(temps) == 1 and json.loads(temps[0].read_text())["eventType"] == "COMPLETE"
    assert len(read_events(staging)) == 1  # the temp file is never picked up


def test_a_failed_rename_removes_the_temp_file_and_raises(staging, monkeypatch):
    transport = StagingFileTransport(tr.StagingFileConfig(directory=staging))

    def fail(temp, final, overwrite):
        raise OSError("disk gone")

    monkeypatch.setattr(fsutil, "publish", fail)
    with pytest.raises(OSError, match="disk gone"):
        transport.emit(_event())
    assert list(staging.iterdir()) == []


def test_read_events_tolerates_nothing(staging, tmp_path):
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "missing")
    transport = StagingFileTransport(tr.StagingFileConfig(directory=staging))
    good = transport.emit(_event())
    (staging / f".{good.name}.tmp").write_text('{"half": ')  # a write in progress: skipped
    assert [p for p, _ in read_event_files(staging)] == [good]

    corrupt = staging / tr.event_file_name("COMPLETE", str(uuid.uuid4()))
    corrupt.write_text('{"eventTime": "2026-')
    with pytest.raises(EventFileError, match=corrupt.name) as info:
        read_events(staging)
    assert info.value.path == corrupt
    corrupt.write_text("[1, 2]")
    with pytest.raises(EventFileError, match="not an OpenLineage event"):
        read_events(staging)
    corrupt.unlink()

    stray = staging / "notes.json"
    stray.write_text("{}")
    with pytest.raises(EventFileError, match="notes.json"):
        read_events(staging)


def test_events_by_run_id_groups_in_order(staging):
    transport = StagingFileTransport(tr.StagingFileConfig(directory=staging))
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    for run, state in ((run_a, RunState.START), (run_b, RunState.START), (run_a, RunState.COMPLETE)):
        transport.emit(_event(run, state))
    grouped = tr.events_by_run_id(read_events(staging))
    assert [e["eventType"] for e in grouped[run_a]] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in grouped[run_b]] == ["START"]


def test_airflow_env_enables_the_provider_with_the_aimsflow_namespace(staging):
    env = tr.airflow_env(transport_config_json(staging))
    assert env == {
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "aimsflow",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": transport_config_json(staging),
    }
    assert tr.airflow_env()["AIRFLOW__OPENLINEAGE__TRANSPORT"] == DEFAULT_TRANSPORT_CONFIG_JSON


def test_file_names_sort_by_time_even_across_seconds():
    early = tr.event_file_name("START", "r", dt.datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=dt.UTC))
    late = tr.event_file_name(
        "START", "r", dt.datetime(2026, 11, 21, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    )
    assert early < late and late.startswith("20261121T000000.000000Z-")
    assert "/" not in early
