"""Shared fixtures: every test gets its own evidence store, witness, keys and data root."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PROJECT = Path(__file__).resolve().parents[1]

# Tests get their own Airflow home (metadata DB) so they never touch `make run`'s .airflow/.
# Set before anything imports airflow, which reads its configuration at import time.
_AIRFLOW_TEST_HOME = PROJECT / ".airflow-test"
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_TEST_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_TEST_HOME}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        "GX_ANALYTICS_ENABLED": "false",
        "AIMSFLOW_RETRY_DELAY_SECONDS": "0",
        # Airflow creates no task instances for runs before a task's start_date: tests use 2026 dates.
        "AIMSFLOW_START_DATE": "2026-01-01",
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB for dag.test() runs (created once, ~6 s)."""
    import subprocess
    import sys

    db = _AIRFLOW_TEST_HOME / "airflow.db"
    if not db.exists():
        _AIRFLOW_TEST_HOME.mkdir(exist_ok=True)
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    return db


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(PROJECT / "dags"))


def new_key(key_id: str) -> tuple[str, str, str]:
    """(key id, base64 seed, base64 public key)."""
    private = Ed25519PrivateKey.generate()
    seed = base64.b64encode(private.private_bytes_raw()).decode()
    from aimsflow.evidence.keys import Signer

    return key_id, seed, Signer.from_seed_b64(key_id, seed).public_key_b64


@pytest.fixture
def aims_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every aimsflow location at ``tmp_path``, configure a trusted signing key and start the
    (empty) witness."""
    from aimsflow.evidence.keys import add_trusted_key

    monkeypatch.setenv("AIMSFLOW_EVIDENCE_ROOT", str(tmp_path / "evidence"))
    monkeypatch.setenv("AIMSFLOW_WITNESS", str(tmp_path / "witness"))
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("AIMSFLOW_MANUAL_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("AIMSFLOW_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("AIMSFLOW_TRUSTED_KEYS", str(tmp_path / "keys" / "trusted_keys.json"))
    monkeypatch.setenv("AIMSFLOW_PSEUDONYM_KEY", "test-pseudonym-key-not-secret")
    key_id, seed, public = new_key("test-key-1")
    add_trusted_key(
        tmp_path / "keys" / "trusted_keys.json", key_id, public, dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY", seed)
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY_ID", key_id)
    start_witness(tmp_path)
    return tmp_path


def start_witness(root: Path) -> None:
    """Start the witness of ``root/evidence`` at ``root/witness`` explicitly, as ``aimsflow witness
    init`` does (sealing refuses without one): an empty store gets the empty tree."""
    from aimsflow import settings
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.witness import Witness, init_witness

    init_witness(
        Witness(root / "witness"), LocalStorage(root / "evidence"), TrustedKeys.load(), settings.log_origin()
    )


# The demo's fixed calendar for tests: END is the drift day, END-1 the defect day, END-4 drops a column.
END = dt.date(2026, 6, 30)
PREPARED_DAYS = 14


@pytest.fixture(scope="session")
def prepared_data(tmp_path_factory) -> Path:
    """The demo source prepared (clean + training set) for 14 days up to END, built once."""
    from aimsflow.catalog import load_inventory
    from aimsflow.demo.generator import generate_source_batches
    from aimsflow.prep.steps import build_training_set, clean_batch

    root = tmp_path_factory.mktemp("data")
    inventory = load_inventory()
    generate_source_batches(root, end=END, days=PREPARED_DAYS)
    for back in range(PREPARED_DAYS - 1, -1, -1):
        day = END - dt.timedelta(days=back)
        clean_batch(inventory, "loan_applications_raw", "loan_applications_clean", day, root, b"k")
        build_training_set(inventory, "loan_applications_clean", "loan_training_set", day, root)
    return root


def declared(job, core):
    """``core`` (a job's underlying function, called with test arguments) with its result stamped by
    ``job``'s declaration, as :func:`aimsflow.airflow_glue.run_job` does: the declared check id and
    controls, also on the partial result of a :class:`JobError`."""
    from aimsflow.results import JobError

    def call(*args, **kwargs):
        try:
            return job.stamp(core(*args, **kwargs))
        except JobError as exc:
            if exc.result is not None:
                job.stamp(exc.result)
            raise

    return call
