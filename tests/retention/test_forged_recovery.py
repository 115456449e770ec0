"""Attack "retention recovery": files an insider writes into ``<area>/.retention/<folder>/`` must
never make a run sign a tombstone or a certificate. A recovery folder counts only when it matches an
approved item of a plan record whose signature verifies (object, content hash, policy, expiry); it is
re-checked against the current holds and policies — with the plan's fields, not the folder's — before
anything is certified; what was taken is certified only from the measurement the disposal itself
signed. Anything else is refused, left in place and reported in a ``failed`` record."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.seal import Witness
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.verify import verify_store
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.retention.dispose import (
    CERTIFICATE_CHECK,
    INTENT,
    PAYLOAD,
    PURGING,
    TAKEN,
    TOMBSTONE_CHECK,
    markers,
)
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import RECOVER as _RECOVER
from aimsflow.retention.job import execute_job, plan_job, recover_job
from aimsflow.retention.objects import Locations
from tests.conftest import declared
from tests.retention._crash import SimulatedCrash, crash_at
from tests.retention.conftest import add_hold, as_task_record, executor, put_partition, seal, write_evidence

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)
recover_job = declared(_RECOVER, recover_job)

PERIOD = Period.day(dt.date(2028, 2, 29))  # the clock: 2028-03-01 00:00 UTC
RAW_DAY = dt.date(2027, 1, 1)
RAW = f"data/raw/loan_applications/date={RAW_DAY}/applications.csv"


def written(storage: LocalStorage, check: str) -> list:
    return [r for r in load_summaries(storage) if r.check == check]


def verify(storage: LocalStorage):
    return verify_store(storage, TrustedKeys.load(), Witness())


def run_dag(storage: LocalStorage, run_id: str, execute: bool = True):
    """One run as the DAG does it: recover, plan (written as the run's plan record), execute."""
    recover_job(PERIOD, executor(run_id))
    result = plan_job(PERIOD, execute, now=PERIOD.end)
    ref = as_task_record(storage, result, PERIOD, "plan", execute=execute, run_id=run_id)
    execute_job(PERIOD, executor(run_id))
    return ref


@pytest.fixture
def sealed_record(rt_env: Path, storage: LocalStorage):
    """An expired evidence record, sealed: its key, manifest hash and seal are readable in seals/."""
    signer = Signer.from_settings()
    ref = write_evidence(storage, signer, dt.date(2024, 5, 1))
    seal(storage, signer, rt_env / "witness")
    return ref


def item_from_seal(loc: Locations, key: str, sha: str) -> dict:
    """The plan item of a deletion, made up from what the record's key and seals/ tell."""
    day = dt.date.fromisoformat(key.split("/")[1])
    return {
        "object_id": f"evidence/{key}",
        "kind": "evidence_record",
        "data_class": "evidence",
        "created": (day + dt.timedelta(days=1)).isoformat(),
        "size": 1,
        "datasets": [],
        "ai_systems": [],
        "subject_known": True,
        "check": "data_quality/validate",
        "manifest_sha256": sha,
        "sealed_in": 1,
        "record_period": Period.day(day).as_dict(),
        "uri": (loc.evidence_root / key).as_uri(),
        "outcome": "delete",
        "reasons": [],
        "holds": [],
        "expires_on": "2028-03-01",
        "expired": True,
        "unresolved": False,
        "policy": {
            "data_class": "evidence",
            "retention": "1 year",
            "counts_from": "certification_cycle_end",
            "legal_basis": "made up",
            "method": "delete",
            "auto_execute": False,
            "description": "",
        },
        "sha256": sha,
        "approved": True,
        "approval": "execute Param",
    }


def approval_of(plan_record: str, manifest_sha256: str = "0" * 64) -> dict:
    return {
        "plan_record": plan_record,
        "plan_manifest_sha256": manifest_sha256,
        "period": PERIOD.as_dict(),
        "as_of": PERIOD.end.isoformat(),
        "approved_by": {"user": "mallory", "execute_param": True},
    }


def plant(folder: Path, intent: dict | None, sha: str | None, purging: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if intent is not None:
        (folder / INTENT).write_text(json.dumps(intent))
    if sha is not None:
        (folder / TAKEN).write_text(json.dumps({"sha256": sha, "size": 1, "taken_at": "2028-03-01T00:00:01"}))
    if purging:
        (folder / PURGING).write_text(json.dumps({"started_at": "2028-03-01T00:00:02+00:00"}))
    return folder


def assert_refused(result, folder: Path, storage: LocalStorage, words: str) -> None:
    assert written(storage, TOMBSTONE_CHECK) == [] and written(storage, CERTIFICATE_CHECK) == []
    assert result.status == Status.failed, result.summary
    refused = [r for r in result.summary["refusals"] if r["marker"] == str(folder)]
    assert refused and words in refused[0]["reason"], result.summary["refusals"]
    assert folder.exists()  # left for a human to look at, never acted on


@pytest.mark.parametrize("execute", [False, True])
def test_three_unsigned_files_naming_a_deleted_sealed_record_sign_nothing(
    sealed_record, loc, storage, config, execute
):
    """Attack: delete a sealed record, then plant intent/taken/purging naming it: the next run — even a
    dry run — must not sign a tombstone or a certificate, and verify keeps reporting the deletion."""
    key, sha = sealed_record.key, sealed_record.manifest_sha256
    shutil.rmtree(storage.root / key)
    fake_plan = f"records/{PERIOD.label}/retention_disposal/plan/plan.try1-000000000000"
    folder = plant(
        loc.work_dir("evidence") / "0123456789abcdef0123456789abcdef",
        {"item": item_from_seal(loc, key, sha), "approval": approval_of(fake_plan)},
        sha,
    )

    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, "plan")
    result = plan_job(PERIOD, execute, now=PERIOD.end)
    as_task_record(storage, result, PERIOD, "plan", execute=execute, run_id="scheduled__2")
    after = execute_job(PERIOD, executor("scheduled__2"))
    assert_refused(after, folder, storage, "plan")
    report = verify(storage)
    assert any(p.object == key and "(deleted record)" in p.problem for p in report.problems)


def test_a_folder_naming_a_genuine_plan_that_did_not_approve_the_object_is_refused(
    sealed_record, loc, storage, config
):
    """The plan is genuine and lists the record, but as a dry run: its item is not approved."""
    from aimsflow.retention.dispose import marker_id

    key, sha = sealed_record.key, sealed_record.manifest_sha256
    ref = run_dag(storage, "scheduled__1", execute=False)
    shutil.rmtree(storage.root / key)
    plan = json.loads(storage.get(f"{ref.key}/plan.json"))
    (item,) = [i for i in plan["delete"] if i["object_id"] == f"evidence/{key}"]
    folder = plant(
        loc.work_dir("evidence") / marker_id(ref.key, item["object_id"], sha),
        {"item": {**item, "approved": True}, "approval": approval_of(ref.key, ref.manifest_sha256)},
        sha,
    )
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, "did not approve its deletion")


@pytest.mark.parametrize("scope", ["dataset: loan_applications_raw", "ai_system: loan_approval"])
def test_the_recheck_uses_the_plans_fields_so_dataset_and_ai_system_holds_still_apply(
    rt_env, loc, storage, config, scope
):
    """Attack: a disposal interrupted after the take (no purging.json); the insider empties the
    folder's datasets and AI systems so that the new hold on them does not match. The re-check must
    use the signed plan's item: the object is put back, nothing is certified."""
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("take", 1, "after"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    (folder,) = markers(loc)
    intent = json.loads((folder / INTENT).read_text())
    intent["item"].update(datasets=[], ai_systems=[], subject_known=True)
    (folder / INTENT).write_text(json.dumps(intent))
    add_hold(config, "LH-9", scope)

    result = recover_job(PERIOD, executor("scheduled__2"))
    assert loc.path_of(RAW).read_bytes() == b"batch"
    assert [r["object"] for r in result.summary["restored"]] == [RAW]
    assert "legal hold LH-9" in result.summary["restored"][0]["reason"]
    assert written(storage, CERTIFICATE_CHECK) == [] and markers(loc) == []


def test_purging_json_planted_on_a_taken_object_does_not_bypass_a_new_hold(rt_env, loc, storage, config):
    """Attack: the insider adds purging.json to an interrupted disposal so that it is no longer put
    back; a hold now covers the object. Nothing is certified and the object is not purged."""
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("record_taken", 1, "after"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    (folder,) = markers(loc)
    plant(folder, None, None, purging=True)
    add_hold(config, "LH-9", f"path_prefix: '{RAW}'")

    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, "legal hold LH-9")
    assert (folder / PAYLOAD).read_bytes() == b"batch"  # not purged


def test_a_planted_measurement_cannot_certify_an_object_the_insider_deleted(rt_env, loc, storage, config):
    """Attack: an interrupted disposal never took its object; the insider deletes the object and plants
    taken.json (with the approved hash) and purging.json. Only what the disposal measured and signed
    itself can be certified."""
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("take", 1, "before"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    (folder,) = markers(loc)
    sha = json.loads((folder / INTENT).read_text())["item"]["sha256"]
    loc.path_of(RAW).unlink()
    plant(folder, None, sha, purging=True)

    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, "taken.json")


def test_a_genuine_interrupted_disposal_still_recovers(rt_env, loc, storage, config):
    """The boundary: the same folders, untouched, are certified once."""
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("mark_purging", 1, "after"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert result.status == Status.passed and result.summary["refusals"] == []
    assert [c.summary["object"] for c in written(storage, CERTIFICATE_CHECK)] == [RAW]
    assert markers(loc) == []


def test_a_purging_json_that_is_not_the_disposals_is_refused_before_anything_is_purged(
    rt_env, loc, storage, config
):
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("record_taken", 1, "after"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    (folder,) = markers(loc)
    (folder / PURGING).write_text("{}")
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, PURGING)
    assert (folder / PAYLOAD).read_bytes() == b"batch"


def test_a_payload_swapped_for_another_kind_of_object_is_refused(rt_env, loc, storage, config):
    """The plan approved a file; the insider puts a folder in its place in the work area."""
    put_partition(loc, "loan_applications_raw", RAW_DAY, b"batch")
    with crash_at("take", 1, "after"), pytest.raises(SimulatedCrash):
        run_dag(storage, "scheduled__1")
    (folder,) = markers(loc)
    (folder / PAYLOAD).unlink()
    (folder / PAYLOAD).mkdir()
    (folder / PAYLOAD / "applications.csv").write_bytes(b"batch")
    result = recover_job(PERIOD, executor("scheduled__2"))
    assert_refused(result, folder, storage, "not the dataset_file the plan approved")
    assert (folder / PAYLOAD / "applications.csv").exists()
