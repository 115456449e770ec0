"""docker-compose.yaml, read as data (no Docker here): which service sees which key, and where
OpenLineage events go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
KEYS = {"aimsflow_signing_key", "aimsflow_pseudonym_key"}
#: The workers' connection file (the API user that closing asks how its run was triggered).
CONNECTIONS = "aimsflow_connections"
KEY_VARIABLES = ("AIMSFLOW_SIGNING_KEY", "AIMSFLOW_PSEUDONYM_KEY")
#: The Airflow 3 roles that run task code under the CeleryExecutor: the Celery worker (its task
#: supervisor forks the task processes). The API server, scheduler and DAG processor never do, and
#: no DAG defers, so no triggerer runs aimsflow code.
TASK_RUNNERS = {"airflow-worker"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((PROJECT / "docker-compose.yaml").read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _airflow_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if name.startswith("airflow-")}


def test_keys_reach_only_the_task_runners_as_secret_files(compose):
    """Attack: docker-compose.yaml passed the signing and pseudonym keys to every container (``env_file:
    .env`` on the shared anchor, which held both keys): the API server, scheduler and DAG processor,
    which never sign, could leak or misuse them. Keys are compose secrets now, mounted as files in the
    Celery worker only, and no service gets a key as an environment variable."""
    defined = compose.get("secrets") or {}
    assert set(defined) == KEYS | {CONNECTIONS}
    assert all(set(spec) == {"file"} for spec in defined.values())  # a file on the host, not an env value
    seen = {
        name: {s if isinstance(s, str) else s["source"] for s in svc.get("secrets") or []}
        for name, svc in compose["services"].items()
    }
    assert {name for name, secrets in seen.items() if secrets} == TASK_RUNNERS
    for name in TASK_RUNNERS:
        assert seen[name] == KEYS | {CONNECTIONS}
        env = _environment(compose["services"][name])
        assert env["AIMSFLOW_SIGNING_KEY_FILE"] == "/run/secrets/aimsflow_signing_key"
        assert env["AIMSFLOW_PSEUDONYM_KEY_FILE"] == "/run/secrets/aimsflow_pseudonym_key"
    for name, service in compose["services"].items():
        env = _environment(service)
        assert not [k for k in env if k in KEY_VARIABLES], name
        assert name in TASK_RUNNERS or not [k for k in env if k.startswith(KEY_VARIABLES)], name
        assert "env_file" not in service, f"{name}: an env_file hands every variable in it to the container"


def test_the_env_example_holds_no_key(compose):
    """``.env`` only feeds the compose file's ``${...}``; a key written there would be one step from an
    environment variable again."""
    lines = (PROJECT / "docker" / ".env.example").read_text().splitlines()
    assigned = {
        line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")
    }
    assert not assigned & set(KEY_VARIABLES)
    assert {"AIMSFLOW_SIGNING_KEY_ID"} <= assigned


def test_openlineage_in_compose_is_composite_staging_files_and_marquez(compose, monkeypatch):
    """Attack: compose switched OpenLineage to HTTP only, so the staging folder stayed empty and
    provenance silently lost its event check (it reads events back from the files). The transport is a
    composite: the staging files (on a volume every Airflow service mounts) and HTTP to Marquez; the
    installed OpenLineage client builds it from the compose value."""
    from openlineage.client.transport import get_default_factory
    from openlineage.client.transport.composite import CompositeTransport
    from openlineage.client.transport.http import HttpTransport

    from aimsflow.lineage.transport import StagingFileTransport

    services = _airflow_services(compose)
    values = {_environment(s).get("AIRFLOW__OPENLINEAGE__TRANSPORT") for s in services.values()}
    (value,) = values
    folders = {_environment(s).get("AIMSFLOW_OPENLINEAGE_DIR") for s in services.values()}
    assert folders == {"/srv/openlineage/staging"}
    monkeypatch.setenv("AIMSFLOW_OPENLINEAGE_DIR", "/srv/openlineage/staging")  # as in the containers
    transport = get_default_factory().create(json.loads(value))
    assert isinstance(transport, CompositeTransport)
    kinds = [type(t) for t in transport.transports]
    assert kinds == [StagingFileTransport, HttpTransport]
    staging, http = transport.transports
    assert str(http.url).startswith("http://marquez:5000")
    assert str(staging.directory) == "/srv/openlineage/staging"
    for name, service in services.items():
        mounts = [str(v).split(":")[:2] for v in service.get("volumes") or []]
        assert ["openlineage", "/srv/openlineage"] in mounts, name
    assert "openlineage" in compose["volumes"]


def test_marquez_down_still_leaves_the_staging_event(tmp_path, monkeypatch):
    """The composite delivers to every transport: Marquez unreachable, the event is still in the staging
    folder, where provenance and the daily lineage record read it (the outage is logged)."""
    from openlineage.client.transport import get_default_factory

    from aimsflow.lineage.transport import composite_transport_config_json, read_events

    config = json.loads(composite_transport_config_json(tmp_path / "staging", url="http://127.0.0.1:9"))
    config["transports"]["marquez"]["retry"] = {"total": 0}  # refused at once, no back-off
    transport = get_default_factory().create(config)
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-11-25T00:00:00Z",
        run=Run(runId="01932b1c-0000-7000-8000-000000000000"),
        job=Job(namespace="aimsflow", name="t.t"),
        producer="https://aimsflow.dev",
    )
    transport.emit(event)  # no exception: one transport delivered
    (stored,) = read_events(tmp_path / "staging")
    assert stored["run"]["runId"] == "01932b1c-0000-7000-8000-000000000000"


def test_the_compose_value_is_the_packaged_composite():
    """The compose file spells the same composite the package builds (one definition to keep true)."""
    from aimsflow.lineage.transport import composite_transport_config_json

    compose = yaml.safe_load((PROJECT / "docker-compose.yaml").read_text())
    value = _environment(compose["services"]["airflow-scheduler"])["AIRFLOW__OPENLINEAGE__TRANSPORT"]
    assert json.loads(value) == json.loads(composite_transport_config_json())


def test_the_workers_read_the_api_connection_from_a_secret_file(compose):
    """Closing needs the trigger type, which the workers ask the API server for through the connection
    ``aimsflow_airflow_api`` (issue 12 point 7): it reaches the workers only, as a JSON secret file
    Airflow's local-file secrets backend reads (its parser goes by the ``.json`` suffix)."""
    from aimsflow.airflow_glue import TRIGGER_API_CONN_ID

    (worker,) = [compose["services"][name] for name in TASK_RUNNERS]
    (mount,) = [s for s in worker["secrets"] if isinstance(s, dict) and s["source"] == CONNECTIONS]
    env = _environment(worker)
    assert env["AIRFLOW__SECRETS__BACKEND"] == "airflow.secrets.local_filesystem.LocalFilesystemBackend"
    path = json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"])["connections_file_path"]
    assert path == f"/run/secrets/{mount['target']}" and path.endswith(".json")
    from airflow.secrets.local_filesystem import load_connections_dict

    example = load_connections_dict(str(PROJECT / "docker" / "connections.example.json"))
    assert set(example) == {TRIGGER_API_CONN_ID} and example[TRIGGER_API_CONN_ID].login
