"""Attack "execute trusts an unsigned plan": the plan record key used to come through XCom and
``plan.json`` was checked against ``manifest.json`` only. Execute now finds the plan record of its own
run in the store (by run id and check id) and acts only on one whose DSSE signature verifies against
the trusted keys; anything else is refused in a ``failed`` record and nothing is deleted."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import Status, sha256_bytes
from aimsflow.retention.dispose import CERTIFICATE_CHECK
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import execute_job, plan_job
from aimsflow.retention.objects import Locations
from tests.conftest import declared, new_key
from tests.retention.conftest import as_task_record, executor, put_partition

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)

PERIOD = Period.day(dt.date(2028, 2, 29))
DAYS = [dt.date(2027, 1, 1), dt.date(2027, 1, 2)]
RUN = "scheduled__2028-02-29"


@pytest.fixture
def batches(loc: Locations, config: Path) -> list[Path]:
    return [put_partition(loc, "loan_applications_raw", d, f"batch {d}".encode()) for d in DAYS]


def plan_record(storage: LocalStorage, execute: bool, run_id: str = RUN, try_number: int = 1):
    result = plan_job(PERIOD, execute, now=PERIOD.end)
    return as_task_record(
        storage, result, PERIOD, "plan", execute=execute, run_id=run_id, try_number=try_number
    )


def certificates(storage: LocalStorage) -> list:
    return [r for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK]


def approve_everything(storage: LocalStorage, key: str) -> None:
    """What an insider can do without the key: approve every deletion in plan.json and make the
    manifest list the new plan.json (the envelope still signs the old manifest)."""
    root = storage.root / key
    plan = json.loads((root / "plan.json").read_bytes())
    for item in plan["delete"]:
        item.update(approved=True, approval="execute Param")
    body = json.dumps(plan).encode()
    (root / "plan.json").write_bytes(body)
    manifest = json.loads((root / MANIFEST).read_bytes())
    for entry in manifest["predicate"]["files"]:
        if entry["path"] == "plan.json":
            entry.update(sha256=sha256_bytes(body), size=len(body))
    manifest["predicate"]["triggered_by"]["params"]["execute"] = True
    (root / MANIFEST).write_bytes(json.dumps(manifest).encode())


def test_a_plan_approved_after_signing_is_refused_and_nothing_is_deleted(batches, storage):
    ref = plan_record(storage, execute=False)
    approve_everything(storage, ref.key)
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.failed
    assert ref.key in result.message and "signed payload differs" in result.message
    assert all(p.exists() for p in batches) and certificates(storage) == []


def test_a_plan_signed_by_an_untrusted_key_is_refused(batches, storage):
    ref = plan_record(storage, execute=False)
    approve_everything(storage, ref.key)
    key_id, seed, _ = new_key("intruder")
    manifest = (storage.root / ref.key / MANIFEST).read_bytes()
    (storage.root / ref.key / ENVELOPE).write_bytes(
        sign_envelope(manifest, Signer.from_seed_b64(key_id, seed))
    )
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.failed and "unknown key 'intruder'" in result.message
    assert all(p.exists() for p in batches) and certificates(storage) == []


def test_a_forged_later_try_of_the_runs_plan_is_refused(batches, storage):
    """An insider copies the run's dry-run plan as 'try 2' of the plan task, approved: the folder does
    not verify, so the run executes nothing and says why."""
    genuine = plan_record(storage, execute=False)
    forged = plan_record(storage, execute=False, try_number=2)
    approve_everything(storage, forged.key)
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.failed and forged.key in result.message
    assert genuine.key != forged.key
    assert all(p.exists() for p in batches) and certificates(storage) == []


def test_execute_acts_on_its_own_runs_plan_not_on_another_approved_one(batches, storage):
    """Whoever can edit XCom could once point execute at another plan. Now execute reads no plan key
    from outside: this run's dry-run plan is what it executes, although an approved plan of another
    run lies in the same period folder."""
    plan_record(storage, execute=True, run_id="manual__elsewhere")
    own = plan_record(storage, execute=False)
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.passed and result.summary["plan_record"] == own.key
    assert result.summary["deleted"] == 0 and result.summary["not_approved"] == len(DAYS)
    assert all(p.exists() for p in batches) and certificates(storage) == []


def test_a_run_without_a_plan_record_executes_nothing(batches, storage):
    plan_record(storage, execute=True, run_id="manual__elsewhere")
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.failed and "no plan record of run" in result.message
    assert all(p.exists() for p in batches)


def test_the_boundary_a_genuine_approved_plan_of_the_run_executes(batches, storage):
    ref = plan_record(storage, execute=True)
    result = execute_job(PERIOD, executor(RUN))
    assert result.status == Status.passed and result.summary["plan_record"] == ref.key
    assert not any(p.exists() for p in batches) and len(certificates(storage)) == len(DAYS)


def test_the_execute_task_takes_no_plan_key_from_xcom(dagbag):
    """The DAG wiring: execute runs after plan but receives nothing from it (no XComArg)."""
    task = dagbag.get_dag("retention_disposal").get_task("execute")
    assert "plan" in task.upstream_task_ids
    assert not task.op_args and not task.op_kwargs


def test_verify_names_the_records_retention_declares():
    """verify derives the certificate and plan check ids (it must not import retention): they must be
    the ones retention writes."""
    from aimsflow.evidence import verify
    from aimsflow.retention.dispose import CERTIFICATE
    from aimsflow.retention.job import PLAN
    from aimsflow.retention.plan import PLAN_FILE

    assert verify.DISPOSAL_CERTIFICATE_CHECK == CERTIFICATE.id
    assert verify.DISPOSAL_PLAN_CHECK == PLAN.check and verify.DISPOSAL_PLAN_FILE == PLAN_FILE
