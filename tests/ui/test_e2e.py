"""End to end, in a real browser: Airflow's API server with this project's plugin on loopback, a store
filled by a real DAG run (``tests/ui/e2e_seed.py``: helper records, then ``dag.test()`` of
``evidence_seal``), headless Chromium (Debian's ``chromium`` through Playwright; ``make test``
installs both) logging in through Airflow's own login page as a *viewer*, then the Compliance page
from the navigation, the record list, a record, a DAG run's and a task's Evidence tab. Every number
read off the screen is compared with the store read by the verified reader
(:func:`aimsflow.evidence.listing.load_verified`). Screenshots go to ``build/screenshots/``
(``AIMSFLOW_DOCS_SCREENSHOT=1``: the Compliance page also to ``docs/img/compliance.png``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

import aimsflow
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# The closed network refuses everything else Chromium would reach for (docs: the developers' guide).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT / "build" / "screenshots"
USER = "compliance"
STARTUP_SECONDS = 240


@dataclass
class Server:
    url: str
    root: Path  # evidence/, witness/, keys/ below it
    password: str
    seed: dict
    env: dict[str, str]

    @property
    def store(self) -> Path:
        return self.root / "evidence"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(root: Path, port: int, password_file: Path) -> dict[str, str]:
    """A process environment of its own: Airflow home and DB, store, keys and auth for this test only
    (the pytest process's own AIRFLOW_HOME is .airflow-test; nothing of it is inherited)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from aimsflow.evidence.keys import Signer, add_trusted_key

    seed = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    (root / "keys").mkdir(parents=True)
    trusted = root / "keys" / "trusted_keys.json"
    add_trusted_key(
        trusted,
        "e2e-key",
        Signer.from_seed_b64("e2e-key", seed).public_key_b64,
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    home = root / "airflow"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AIMSFLOW_"))}
    return {
        **keep,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # The aimsflow this test imports (the checkout's include/, or another PYTHONPATH's), so the
        # server renders with the very code the expectations are computed with.
        "PYTHONPATH": os.pathsep.join([str(Path(aimsflow.__file__).resolve().parents[1]), str(PROJECT)]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # SimpleAuthManager: one viewer (read-only role) whose password this test chose.
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIMSFLOW_EVIDENCE_ROOT": str(root / "evidence"),
        "AIMSFLOW_WITNESS": str(root / "witness"),
        "AIMSFLOW_MANUAL_INBOX": str(root / "inbox"),
        "AIMSFLOW_DATA_ROOT": str(root / "data"),
        "AIMSFLOW_KEYS_DIR": str(root / "keys"),
        "AIMSFLOW_TRUSTED_KEYS": str(trusted),
        "AIMSFLOW_SIGNING_KEY": seed,
        "AIMSFLOW_SIGNING_KEY_ID": "e2e-key",
        "AIMSFLOW_PSEUDONYM_KEY": "e2e-pseudonym-key-not-secret",
        "AIMSFLOW_START_DATE": "2026-01-01",
        "AIMSFLOW_RETRY_DELAY_SECONDS": "0",
        "GX_ANALYTICS_ENABLED": "false",
    }


def _run(args: list[str], env: dict[str, str], log: Path) -> str:
    proc = subprocess.run(args, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{' '.join(args)} failed; log {log}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):  # not listening yet
        return 0, ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    root = tmp_path_factory.mktemp("e2e")
    password = secrets.token_urlsafe(18)
    password_file = root / "passwords.json"
    password_file.write_text(json.dumps({USER: password}))
    password_file.chmod(0o600)
    port = _free_port()
    env = _environment(root, port, password_file)
    airflow = str(Path(sys.executable).parent / "airflow")
    _run([airflow, "db", "migrate"], env, root / "db-migrate.log")
    out = _run([sys.executable, "-m", "tests.ui.e2e_seed"], env, root / "seed.log")
    seed = json.loads(out.strip().splitlines()[-1])
    assert seed["state"] == "success", seed
    log = (root / "api-server.log").open("w")
    proc = subprocess.Popen(
        [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=PROJECT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below, by its id
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while _get(f"{url}/api/v2/monitor/health")[0] != 200:
            assert proc.poll() is None, f"api-server exited; log {root / 'api-server.log'}"
            assert time.monotonic() < deadline, f"api-server not up after {STARTUP_SECONDS} s"
            time.sleep(1)
        yield Server(url, root, password, seed, env)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def verified(server: Server):
    """The store as the verified reader reads it: the expectation every screen number is held to."""
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import load_verified
    from aimsflow.evidence.storage import LocalStorage

    return load_verified(
        LocalStorage(server.store), TrustedKeys.load(server.root / "keys" / "trusted_keys.json")
    )


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(300)  # let the last layout settle
    page.screenshot(path=str(path))
    return path


def cards(frame) -> dict[str, int]:
    """The status cards as shown: status -> number."""
    numbers = frame.locator(".cards").first.locator(".n")
    return {
        numbers.nth(i).get_attribute("data-status"): int(numbers.nth(i).inner_text())
        for i in range(numbers.count())
    }


def test_anonymous_requests_are_refused(server):
    run = quote(server.seed["run_id"], safe="")
    for path in ("/aimsflow/", "/aimsflow/records", f"/aimsflow/run?dag_id=evidence_seal&run_id={run}"):
        status, body = _get(server.url + path)
        assert status == 401 and "Not authenticated" in body, path
    status, _ = _get(server.url + "/aimsflow/", {"Authorization": "Bearer forged.token.value"})
    assert status == 403


def test_compliance_staff_see_the_evidence_in_the_airflow_ui(server, browser):
    from playwright.sync_api import expect

    loaded = verified(server)
    assert not loaded.rejected
    current = [r for r in loaded.records if not r.superseded]
    run_id = server.seed["run_id"]
    run_records = [r for r in loaded.records if r.producer.get("run_id") == run_id]
    assert {r.check for r in run_records} == {
        "evidence_seal/verify",
        "evidence_seal/lineage_events",
        "evidence_seal/seal",
    }

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)  # a loaded 2-core machine: the UI's first render is slow

    # Log in through Airflow's own login page.
    page.goto(server.url + "/")
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")

    # The Compliance entry of the navigation.
    page.get_by_role("link", name="Compliance").click()
    page.wait_for_url("**/plugin/compliance**")
    frame = page.frame_locator("iframe[title=Compliance]")
    expect(frame.locator("h1")).to_have_text("Compliance")
    expected = Counter(str(r.status) for r in current)
    assert cards(frame) == {s: expected.get(s, 0) for s in ("passed", "warning", "failed", "error")}
    sub = frame.locator("p.sub").first.inner_text()
    assert f"{len(loaded.records)} verified records, {len(current)} current verdicts" in sub
    pending = [r for r in loaded.records if r.sealed_in is None]
    assert [r.key for r in pending] == [server.seed["pending"]] and "1 pending seal" in sub
    attention = frame.locator("#attention tbody tr")
    assert attention.count() == sum(1 for r in current if str(r.status) != "passed")
    assert attention.first.get_attribute("data-status") == "error"  # worst first
    check_coverage(server, frame)
    compliance_png = shot(page, "compliance")
    if os.environ.get("AIMSFLOW_DOCS_SCREENSHOT"):
        (PROJECT / "docs" / "img").mkdir(exist_ok=True)
        shutil.copyfile(compliance_png, PROJECT / "docs" / "img" / "compliance.png")

    # The record list, filtered as a person does it: pick a status, press Filter.
    frame.get_by_role("link", name="Records", exact=True).click()
    expect(frame.locator("h1")).to_have_text("Evidence records")
    assert frame.locator("#records tbody tr").count() == len(current)
    frame.locator("select[name=status]").select_option("failed")
    frame.get_by_role("button", name="Filter").click()
    failed = [r for r in current if str(r.status) == "failed"]
    expect(frame.locator("#records tbody tr")).to_have_count(len(failed))
    assert failed and cards(frame) == {
        s: expected.get(s, 0) for s in ("passed", "warning", "failed", "error")
    }
    shot(page, "records-failed")

    # One record: verification, files, inclusion proof.
    frame.locator("#records tbody tr a").first.click()
    expect(frame.locator("h1")).to_contain_text(failed[0].check)
    verification = frame.locator("#verification").inner_text()
    assert "verified" in verification and f"in seal {failed[0].sealed_in}" in verification
    files = loaded.predicates[failed[0].key]["files"]
    assert f"{len(files)} of {len(files)}" in verification
    assert frame.locator("#files tbody tr").count() == len(files)
    expect(frame.locator("#proof")).to_contain_text("against the signed checkpoint of seal")
    shot(page, "record")

    # The Evidence tab of the DAG run that wrote records.
    page.goto(f"{server.url}/dags/evidence_seal/runs/{quote(run_id, safe='')}")
    tab = page.locator('a[href$="/plugin/evidence-run"]')
    expect(tab).to_have_text("Evidence")
    tab.click()
    page.wait_for_url("**/plugin/evidence-run**")
    frame = page.frame_locator("iframe[title=Evidence]")
    rows = frame.locator("#run-records tbody tr")
    expect(rows).to_have_count(len(run_records))
    assert cards(frame) == {
        s: sum(1 for r in run_records if str(r.status) == s) for s in ("passed", "warning", "failed", "error")
    }
    assert [rows.nth(i).get_attribute("data-verified") for i in range(rows.count())] == ["yes"] * len(
        run_records
    )
    assert f"{len(run_records)} of {len(run_records)} verify" in frame.locator("#run-summary").inner_text()
    shot(page, "run-evidence")

    # The Evidence tab of one task instance: the record its try wrote.
    page.goto(f"{server.url}/dags/evidence_seal/runs/{quote(run_id, safe='')}/tasks/seal")
    tab = page.locator('a[href$="/plugin/evidence-task"]')
    expect(tab).to_have_text("Evidence")
    tab.click()
    frame = page.frame_locator("iframe[title=Evidence]")
    expect(frame.locator("#run-records tbody tr")).to_have_count(1)
    seal_record = next(r for r in run_records if r.check == "evidence_seal/seal")
    assert frame.locator("#run-records tbody tr a").first.get_attribute("title") == seal_record.key
    shot(page, "task-evidence")

    # A folder forged into the store, claiming this run: shown as untrusted, never counted.
    forged = forge_claiming(server, run_id)
    page.goto(f"{server.url}/dags/evidence_seal/runs/{quote(run_id, safe='')}/plugin/evidence-run")
    frame = page.frame_locator("iframe[title=Evidence]")
    expect(frame.locator("#run-untrusted")).to_contain_text(forged)
    expect(frame.locator("#run-records tbody tr")).to_have_count(len(run_records))
    assert sum(cards(frame).values()) == len(run_records)
    shot(page, "run-evidence-forged")
    page.close()


def check_coverage(server: Server, frame) -> None:
    """The coverage cards and rows as shown equal what ``load_coverage`` (the CLI's and the report's
    computation) gives for the same moment; without the module the page says it is missing."""
    import importlib.util

    if importlib.util.find_spec("aimsflow.compliance.coverage") is None:
        assert "aimsflow.compliance.coverage" in frame.locator("#coverage-missing").inner_text()
        return
    from aimsflow.compliance.coverage import load_coverage
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.storage import LocalStorage

    judged = frame.locator("#coverage-summary").inner_text()
    moment = dt.datetime.strptime(judged.split("judged at ")[1][:16], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    keys = TrustedKeys.load(server.root / "keys" / "trusted_keys.json")
    coverage = load_coverage(LocalStorage(server.store), keys, as_of=moment + dt.timedelta(seconds=59))
    numbers = frame.locator("#coverage-cards .n")
    shown = {
        numbers.nth(i).get_attribute("data-coverage"): int(numbers.nth(i).inner_text())
        for i in range(numbers.count())
    }
    assert shown == {k: coverage.summary()[k] for k in shown} and len(shown) == 5
    assert frame.locator("#coverage-restricted").count() == 0  # the viewer may read every DAG
    rows = frame.locator("#coverage tr[data-control]")
    assert rows.count() == len(coverage.controls)
    for c in coverage.controls:
        assert frame.locator(f'#coverage tr[data-control="{c.id}"]').get_attribute("data-freshness") == str(
            c.freshness
        )


def forge_claiming(server: Server, run_id: str) -> str:
    """A record signed by a key nobody trusts, as another try of this run's ``seal`` task."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.results import Status
    from tests.ui.records import write

    seed = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    ref = write(
        LocalStorage(server.store),
        Signer.from_seed_b64("intruder", seed),
        dag_id="evidence_seal",
        run_id=run_id,
        task_id="seal",
        try_number=2,
        check="evidence_seal/seal",
        status=Status.passed,
        controls=("7.5.3",),
        dataset=None,
    )
    return ref.key
