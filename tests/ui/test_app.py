"""The evidence pages as the API server serves them: Airflow's own app (``create_app``) with this
project's plugin folder, so the plugin's wiring, the mount under ``/aimsflow`` and Airflow's real
auth dependencies are what is tested (no dependency is overridden)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

import pytest

from tests.ui.conftest import RUN, edit, symlink


@pytest.fixture(scope="module")
def airflow_app(airflow_db):
    from airflow.api_fastapi.app import create_app

    return create_app()


@pytest.fixture
def anonymous(airflow_app):
    from fastapi.testclient import TestClient

    return TestClient(airflow_app)


def token(role: str = "viewer", username: str = "compliance") -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


@pytest.fixture
def client(airflow_app):
    """A client logged in as the UI login leaves it: the JWT in the ``_token`` cookie."""
    from fastapi.testclient import TestClient

    c = TestClient(airflow_app)
    c.cookies.set("_token", token())
    return c


def url(path: str, **params: str) -> str:
    return f"/aimsflow/{path}" + (f"?{urlencode(params)}" if params else "")


def every_route(store) -> list[str]:
    key = store.key("v0")
    return [
        url(""),
        url("records"),
        url("records", status="failed"),
        url("record", key=key),
        url("file", key=key, name="summary.json"),
        url("file", key=key, name="manifest.json", download="1"),
        url("proof", key=key),
        url("run", dag_id="data_quality", run_id=RUN),
        url("task", dag_id="data_quality", run_id=RUN, task_id="validate", map_index="{MAP_INDEX}"),
        url("icon.svg"),
    ]


# --- authentication: the real dependencies refuse ------------------------------------------------------


def test_every_route_refuses_an_anonymous_request(store, anonymous):
    for route in every_route(store):
        response = anonymous.get(route)
        assert response.status_code == 401, route
        assert response.json() == {"detail": "Not authenticated"}
        assert store.key("v0") not in response.text


def test_a_browser_without_login_gets_a_page_that_links_to_the_login(store, anonymous):
    response = anonymous.get(url("records"), headers={"accept": "text/html"})
    assert response.status_code == 401
    assert "401 Not logged in" in response.text and 'href="/auth/login?next=' in response.text
    assert store.key("v0") not in response.text and "<table" not in response.text


@pytest.mark.parametrize("bad", ["not-a-jwt", "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"])
def test_a_token_that_does_not_verify_is_refused(store, anonymous, bad):
    for route in (url(""), url("record", key=store.key("v0"))):
        assert anonymous.get(route, headers={"Authorization": f"Bearer {bad}"}).status_code == 403
        anonymous.cookies.set("_token", bad)
        assert anonymous.get(route).status_code == 403
        anonymous.cookies.clear()


def test_a_token_signed_with_another_secret_is_refused(store, anonymous):
    import jwt

    forged = jwt.encode(
        {"sub": "admin", "role": "admin", "aud": "apache-airflow"}, "guess", algorithm="HS512"
    )
    assert anonymous.get(url(""), headers={"Authorization": f"Bearer {forged}"}).status_code == 403


def test_an_authenticated_request_passes_by_cookie_and_by_bearer_token(store, anonymous, client):
    assert client.get(url("")).status_code == 200
    bearer = anonymous.get(url(""), headers={"Authorization": f"Bearer {token()}"})
    assert bearer.status_code == 200 and "Current verdicts" in bearer.text


def test_every_route_answers_a_logged_in_user(store, client):
    for route in every_route(store):
        assert client.get(route).status_code == 200, route


def test_read_only(store, client):
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)(url("record", key=store.key("v0"))).status_code == 405


def test_a_user_who_may_not_read_a_dag_sees_none_of_its_evidence(store, client, monkeypatch):
    """Airflow's per-DAG permissions hold in the plugin: the run page is refused (403) and the lists
    leave that DAG's records out."""
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    allowed = manager.is_authorized_dag

    def is_authorized_dag(*, method, access_entity=None, details=None, user):
        if details is not None and details.id == "data_quality":
            return False
        return allowed(method=method, access_entity=access_entity, details=details, user=user)

    monkeypatch.setattr(manager, "is_authorized_dag", is_authorized_dag)
    assert client.get(url("run", dag_id="data_quality", run_id=RUN)).status_code == 403
    assert client.get(url("task", dag_id="data_quality", run_id=RUN, task_id="validate")).status_code == 403
    listed = client.get(url("records", history="1")).text
    assert store.key("assess") in listed and store.key("v0") not in listed
    assert client.get(url("record", key=store.key("v0"))).status_code == 404
    assert client.get(url("file", key=store.key("v0"), name="summary.json")).status_code == 404


# --- what the pages show ----------------------------------------------------------------------------------


def test_pages_show_the_store(store, client):
    overview = client.get(url("")).text
    assert 'data-status="error">1<' in overview and 'data-status="warning">1<' in overview
    records = client.get(url("records", status="passed")).text
    assert records.count("<tr data-status=") == 3
    run = client.get(url("run", dag_id="data_quality", run_id=RUN)).text
    assert run.count('data-verified="yes"') == 4 and store.forged in run
    task = client.get(url("task", dag_id="data_quality", run_id=RUN, task_id="validate", map_index="1")).text
    assert task.count("<tr data-status=") == 2
    detail = client.get(url("record", key=store.key("v0")))
    assert detail.headers["content-security-policy"].startswith("default-src 'none'")
    assert re.search(
        r"Leaf [0-3] of the log's 4 leaves, against the signed checkpoint of seal 1", detail.text
    )


def test_the_framework_view_is_chosen_by_a_parameter(store, client):
    page = client.get(url("", framework="eu_ai_act"))
    assert page.status_code == 200 and 'data-item="Art. 12"' in page.text
    assert client.get(url("", framework="iso9001")).status_code == 400


def test_downloads(store, client):
    folder = store.root / "evidence" / store.key("v0")
    inline = client.get(url("file", key=store.key("v0"), name="report/page.html"))
    assert inline.content == b"<p>ok" and inline.headers["content-disposition"].startswith("inline")
    # A stored HTML file is shown sandboxed: it cannot run script in the Airflow origin.
    assert inline.headers["content-security-policy"].startswith("sandbox")
    attached = client.get(url("file", key=store.key("v0"), name="report/page.html", download="1"))
    assert attached.headers["content-disposition"] == "attachment; filename*=UTF-8''page.html"
    manifest = client.get(url("file", key=store.key("v0"), name="manifest.json", download="1"))
    assert manifest.content == (folder / "manifest.json").read_bytes()
    assert inline.headers["content-type"] == "text/html; charset=utf-8"


def test_text_files_are_shown_as_text_and_binaries_downloaded(store, client):
    from aimsflow.evidence.keys import Signer
    from aimsflow.results import Status
    from tests.ui.records import write

    files = {"report.md": b"# Risks\n", "data.parquet": b"PAR1", "table.csv": b"a,b\n1,2\n"}
    key = write(
        store.storage,
        Signer.from_settings(),
        check="data_quality/validate",
        status=Status.passed,
        controls=("A.7.4",),
        files=files,
    ).key
    shown = {name: client.get(url("file", key=key, name=name)) for name in files}
    assert shown["report.md"].headers["content-type"] == "text/plain; charset=utf-8"
    assert shown["table.csv"].headers["content-disposition"].startswith("inline")
    assert shown["data.parquet"].headers["content-disposition"].startswith("attachment")
    assert {n: r.content for n, r in shown.items()} == files


def test_the_proof_is_the_one_the_cli_prints(store, client, capsys):
    from aimsflow.cli import main

    assert main(["evidence", "prove", store.key("v0"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    response = client.get(url("proof", key=store.key("v0")))
    assert response.json() == printed
    assert response.headers["content-disposition"] == "attachment; filename=proof.json"


# --- unknown ids and traversal: 4xx, nothing served -------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "status"),
    [
        (url("record", key="records/2026-11-19/data_quality/validate/nope"), 404),
        (url("record", key="records/2026-11-19/../../keys/trusted_keys.json"), 404),
        (url("record", key="/etc/passwd"), 404),
        ("/aimsflow/record?key=records%2F%2e%2e%2F%2e%2e%2Fwitness%2Fwitness.json", 404),
        (url("file", key="records/x", name="summary.json"), 404),
        (url("proof", key="records/x"), 404),
        ("/aimsflow/%2e%2e/%2e%2e/etc/passwd", 404),
        ("/aimsflow/records/..%2f..%2fetc%2fpasswd", 404),
        (url("records", status="nope"), 400),
        (url("records", period="last week"), 400),
        (url("record"), 400),
        (url("task", dag_id="data_quality", run_id=RUN, task_id="validate", map_index="x"), 400),
    ],
)
def test_unknown_ids_traversal_and_bad_parameters_are_4xx(store, client, route, status):
    response = client.get(route)
    assert response.status_code == status, response.text
    assert "root:" not in response.text and '"keys"' not in response.text


@pytest.mark.parametrize(
    "name",
    [
        "../manifest.json",
        "%2e%2e/%2e%2e/%2e%2e/witness/witness.json",
        "/etc/passwd",
        "report/../summary.json",
    ],
)
def test_file_names_outside_the_manifest_are_not_found(store, client, name):
    response = client.get(
        f"/aimsflow/file?key={quote(store.key('v0'), safe='')}&name={quote(name, safe='%')}"
    )
    assert response.status_code == 404


def test_a_symlinked_or_edited_file_is_refused(store, client, tmp_path):
    outside = tmp_path / "same.json"
    outside.write_bytes(b'{"rows": 396}\n')
    symlink(store, "v0", "summary.json", outside)
    linked = client.get(url("file", key=store.key("v0"), name="summary.json"))
    assert linked.status_code == 409 and "symbolic link" in linked.json()["detail"]
    edit(store, "profile", "summary.json", b"{}")
    edited = client.get(url("file", key=store.key("profile"), name="summary.json"))
    assert edited.status_code == 409 and "differs from the SHA-256" in edited.json()["detail"]


def test_a_forged_folder_is_shown_as_untrusted_and_serves_nothing(store, client):
    page = client.get(url("record", key=store.forged))
    assert page.status_code == 200 and "does not verify" in page.text and "intruder" in page.text
    assert client.get(url("file", key=store.forged, name="summary.json")).status_code == 404
    assert client.get(url("file", key=store.forged, name="manifest.json")).status_code == 404


def test_without_a_trusted_keys_file_nothing_is_shown(store, client, monkeypatch, tmp_path):
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "none.json"))
    response = client.get(url("records"))
    assert response.status_code == 503 and "cannot verify" in response.json()["detail"]


# --- the plugin as Airflow sees it --------------------------------------------------------------------------


def test_the_plugin_registers_the_nav_entry_and_the_evidence_tabs(client):
    plugins = client.get("/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "aimsflow_evidence")
    views = {v["destination"]: v for v in ours["external_views"]}
    assert set(views) == {"nav", "dag_run", "task_instance", "dag"}
    assert views["nav"]["name"] == "Compliance" and views["nav"]["href"] == "/aimsflow/"
    assert views["dag_run"]["href"] == "/aimsflow/run?dag_id={DAG_ID}&run_id={RUN_ID}"
    assert "task_id={TASK_ID}&map_index={MAP_INDEX}" in views["task_instance"]["href"]
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/aimsflow"]
