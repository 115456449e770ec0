"""Plan, dry run and execution on the demo source system: what is deleted, what is kept and why, and
the certificate each deletion leaves."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml

from aimsflow.demo.generator import generate_source_batches
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.listing import load_summaries
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from aimsflow.results import JobError, Status, sha256_bytes
from aimsflow.retention.dispose import CERTIFICATE_CHECK, TOMBSTONE_CHECK
from aimsflow.retention.job import EXECUTE as _EXECUTE
from aimsflow.retention.job import PLAN as _PLAN
from aimsflow.retention.job import execute_job, plan_job, read_plan
from aimsflow.retention.objects import Locations
from tests.conftest import declared
from tests.retention.conftest import (
    EXECUTOR,
    archive_lineage,
    as_task_record,
    ol_event,
    put_partition,
    seal,
    write_evidence,
)

plan_job = declared(_PLAN, plan_job)
execute_job = declared(_EXECUTE, execute_job)

END = dt.date(2026, 6, 30)  # the demo's last batch; the run's clock is END + 1 day, 00:00 UTC
PERIOD = Period.day(END)
# 120 daily batches END-119..END; a batch of day D expires at D + 90 days, so END-119..END-89 are due.
EXPIRED = [END - dt.timedelta(days=n) for n in range(119, 88, -1)]


@pytest.fixture
def demo(loc: Locations) -> Locations:
    generate_source_batches(loc.data_root, end=END, rows_per_day=5)
    for back in range(10):  # recent derived data: clean partitions and training-set versions
        day = END - dt.timedelta(days=back)
        put_partition(loc, "loan_applications_clean", day, f"c{day}".encode(), version=f"{day:%Y%m%d}T0-c")
        put_partition(loc, "loan_training_set", day, f"t{day}".encode(), version=f"{day:%Y%m%d}T0-t")
    return loc


def raw_id(day: dt.date) -> str:
    return f"data/raw/loan_applications/date={day}/applications.csv"


def plan_and_record(storage: LocalStorage, execute: bool, period: Period = PERIOD):
    """The plan record of a run whose clock is its period's end (tests run "in the future" too)."""
    result = plan_job(period, execute, now=period.end)
    return result, as_task_record(storage, result, period, "plan", execute=execute)


def certificates(storage: LocalStorage) -> list[dict]:
    return [r.summary for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK]


def test_demo_plan_lists_the_expired_raw_batches_and_excludes_the_held_training_set(demo, storage):
    result, ref = plan_and_record(storage, execute=False)
    assert result.status == Status.passed
    plan, _ = read_plan(storage, ref.key)
    assert [i["object_id"] for i in plan["delete"]] == [raw_id(d) for d in EXPIRED]
    assert all(i["approved"] is False and i["approval"] is None for i in plan["delete"])
    assert all(i["sha256"] and i["policy"]["retention"] == "90 days" for i in plan["delete"])
    held = [i for i in plan["excluded"] if i["holds"]]
    assert {i["datasets"][0] for i in held} == {"loan_training_set"}
    assert len(held) == 10 and all(i["holds"] == ["LH-2026-007"] for i in held)
    assert any(r.startswith("legal hold LH-2026-007 (dataset loan_training_set") for r in held[0]["reasons"])
    summary = result.summary
    assert summary["to_delete"] == len(EXPIRED) and summary["approved"] == 0
    assert summary["holds_applied"] == ["LH-2026-007"] and summary["errors"] == 0
    assert summary["retained"]["raw_personal_data"]["objects"] == 120 - len(EXPIRED)
    assert summary["retained"]["derived_personal_data"]["objects"] == 10
    assert {s.path.rsplit("/", 1)[-1] for s in result.specs} >= {"policies.yaml", "legal_holds.yaml"}
    assert [r.uri for r in result.inputs] == [i["uri"] for i in plan["delete"]]
    assert "dry run" in result.message and "holds LH-2026-007" in result.message
    assert all(demo.path_of(raw_id(d)).exists() for d in EXPIRED)  # a plan deletes nothing


def test_a_dry_run_execution_deletes_nothing(demo, storage):
    _, ref = plan_and_record(storage, execute=False)
    before = sorted(p for p in demo.data_root.rglob("*") if p.is_file())
    result = execute_job(PERIOD, EXECUTOR)
    assert result.status == Status.passed and result.message.startswith(
        "dry run: 31 object(s) would be deleted"
    )
    assert sorted(p for p in demo.data_root.rglob("*") if p.is_file()) == before
    assert certificates(storage) == [] and result.summary["not_approved"] == len(EXPIRED)


def test_execution_deletes_verifies_and_certifies_each_expired_batch_once(demo, storage):
    _, ref = plan_and_record(storage, execute=True)
    plan, approval = read_plan(storage, ref.key)
    shas = {i["object_id"]: (i["sha256"], i["size"]) for i in plan["delete"]}
    result = execute_job(PERIOD, EXECUTOR)
    assert result.status == Status.passed, result.summary
    assert result.summary["deleted"] == len(EXPIRED)
    for day in EXPIRED:
        assert not demo.path_of(raw_id(day)).exists()
        assert not demo.path_of(raw_id(day)).parent.exists()  # the empty partition folder goes too
    assert demo.path_of(raw_id(END - dt.timedelta(days=88))).exists()
    certs = {c["object"]: c for c in certificates(storage)}
    assert set(certs) == set(shas)
    cert = certs[raw_id(EXPIRED[0])]
    assert (cert["sha256_before"], cert["size_before"]) == shas[raw_id(EXPIRED[0])]
    assert cert["uri"] == demo.path_of(raw_id(EXPIRED[0])).resolve().as_uri()
    assert cert["data_class"] == "raw_personal_data" and cert["method"] == "delete"
    assert cert["policy"]["legal_basis"].startswith("GDPR Art. 5(1)(e)")
    assert cert["expired_on"] == str(EXPIRED[0] + dt.timedelta(days=90))
    assert cert["verification"]["absent_at_uri"] and cert["verification"]["result"].startswith("verified")
    assert cert["approved_by"] == {
        "dag_id": "retention_disposal",
        "run_id": "manual__2026-07-01",
        "task_id": "plan",
        "try_number": 1,
        "user": "alice",
        "execute_param": True,
        "approval": "execute Param",
        "plan_record": ref.key,
        "plan_manifest_sha256": approval.plan_manifest_sha256,
    }
    assert cert["executed_by"] == EXECUTOR and cert["recovered_after_interruption"] is False
    assert dt.datetime.fromisoformat(cert["sanitized_at"]) <= dt.datetime.fromisoformat(
        cert["verification"]["checked_at"]
    )
    # the certificate record files the deleted object as its input, by hash
    record = next(r for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK)
    manifest = json.loads(storage.get(f"{record.key}/{MANIFEST}"))["predicate"]
    assert manifest["inputs"][0]["sha256"] == record.summary["sha256_before"]
    assert manifest["period"]["label"] == PERIOD.label and manifest["status"] == "passed"

    again = execute_job(PERIOD, EXECUTOR)  # a retry of the same execution
    assert again.summary["deleted"] == 0 and len(certificates(storage)) == len(EXPIRED)
    assert {s["reason"] for s in again.summary["skipped"]} == {"already disposed of under this plan"}


def test_auto_execute_policy_deletes_without_the_param(demo, storage, config: Path):
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    next(p for p in doc["policies"] if p["data_class"] == "raw_personal_data")["auto_execute"] = True
    path.write_text(yaml.safe_dump(doc))
    result, ref = plan_and_record(storage, execute=False)
    assert result.summary["approved"] == len(EXPIRED)
    plan, _ = read_plan(storage, ref.key)
    assert {i["approval"] for i in plan["delete"]} == {"auto_execute policy"}
    assert execute_job(PERIOD, EXECUTOR).summary["deleted"] == len(EXPIRED)
    assert {c["approved_by"]["approval"] for c in certificates(storage)} == {"auto_execute policy"}


def test_a_data_class_without_policy_is_an_error_and_nothing_executes(demo, storage, config: Path):
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["policies"] = [p for p in doc["policies"] if p["data_class"] != "derived_personal_data"]
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(JobError) as err:
        plan_job(PERIOD, execute=True)
    assert "['derived_personal_data'] have no retention policy" in str(err.value)
    partial = err.value.result
    assert partial is not None and partial.status == Status.error
    plan = json.loads(partial.files["plan.json"])
    assert len(plan["errors"]) == 10 and len(plan["delete"]) == len(EXPIRED)
    assert plan["errors"][0]["reasons"] == ["no retention policy for data class 'derived_personal_data'"]
    # Even if someone executed this plan, nothing would be deleted.
    partial.status = Status.passed
    as_task_record(storage, partial, PERIOD, "plan", execute=True)
    result = execute_job(PERIOD, EXECUTOR)
    assert result.summary["deleted"] == 0 and "10 error(s)" in result.summary["refused"]
    assert all(demo.path_of(raw_id(d)).exists() for d in EXPIRED)


def test_a_hold_set_between_plan_and_execution_wins(demo, storage, config: Path):
    _, ref = plan_and_record(storage, execute=True)
    holds = config / "retention" / "legal_holds.yaml"
    held_day = EXPIRED[3]
    holds.write_text(
        holds.read_text()
        + f"""  - id: LH-2026-011
    path_prefix: data/raw/loan_applications/date={held_day}/
    reason: applicant complaint, case 4711
    set_by: dpo@example.com
    since: 2026-07-01
"""
    )
    result = execute_job(PERIOD, EXECUTOR)
    assert result.status == Status.warning and result.summary["deleted"] == len(EXPIRED) - 1
    assert demo.path_of(raw_id(held_day)).exists()
    (skip,) = result.summary["skipped"]
    assert skip["object"] == raw_id(held_day) and "legal hold LH-2026-011" in skip["reason"]


def test_changed_or_vanished_objects_are_not_deleted_or_certified(demo, storage):
    _, ref = plan_and_record(storage, execute=True)
    changed, vanished = demo.path_of(raw_id(EXPIRED[0])), demo.path_of(raw_id(EXPIRED[1]))
    changed.write_bytes(b"rewritten after the plan")
    vanished.unlink()
    result = execute_job(PERIOD, EXECUTOR)
    assert result.summary["deleted"] == len(EXPIRED) - 2
    reasons = {s["object"]: s["reason"] for s in result.summary["skipped"]}
    assert reasons == {
        raw_id(EXPIRED[0]): "content changed since the plan",
        raw_id(EXPIRED[1]): "gone before execution (not deleted by retention)",
    }
    assert changed.read_bytes() == b"rewritten after the plan"
    assert {c["object"] for c in certificates(storage)}.isdisjoint(reasons)


def test_an_expired_sealed_evidence_record_leaves_a_tombstone_and_a_certificate(rt_env, loc, storage):
    from aimsflow.evidence.keys import Signer

    signer = Signer.from_settings()
    # Written in cycle-2024 (2024-03-01..2027-03-01): kept until 2028-03-01.
    old = write_evidence(storage, signer, dt.date(2024, 5, 1))
    held = write_evidence(storage, signer, dt.date(2024, 5, 1), dataset="loan_training_set", name="held")
    seal(storage, signer, rt_env / "witness")
    unsealed = write_evidence(storage, signer, dt.date(2024, 5, 2), name="late")
    period = Period.day(dt.date(2028, 2, 29))  # the clock: 2028-03-01 00:00 UTC
    result, ref = plan_and_record(storage, execute=True, period=period)
    plan, _ = read_plan(storage, ref.key)
    assert [i["object_id"] for i in plan["delete"]] == [f"evidence/{old.key}"]
    kept = {i["object_id"]: i["reasons"] for i in plan["excluded"]}
    assert "legal hold LH-2026-007" in kept[f"evidence/{held.key}"][0]
    assert "not sealed yet" in kept[f"evidence/{unsealed.key}"][0]

    result = execute_job(period, EXECUTOR)
    assert result.summary["deleted"] == 1 and not (loc.evidence_root / old.key).exists()
    (tomb,) = [r for r in load_summaries(storage) if r.check == TOMBSTONE_CHECK]
    assert tomb.summary["disposed_record"] == old.key
    assert tomb.summary["manifest_sha256"] == old.manifest_sha256 and tomb.summary["sealed_in"] == 1
    assert tomb.period.label == "2024-05-01"  # filed beside the record it replaces
    (cert,) = certificates(storage)
    assert cert["tombstone"] == tomb.key and cert["sha256_before"] == old.manifest_sha256
    assert tomb.summary["certificate"].endswith(
        next(r.key for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK).rsplit("/", 1)[-1]
    )

    sealed = seal(storage, signer, rt_env / "witness")  # the next seal covers tombstone and certificate
    body = json.loads(storage.get("seals/00000002/seal.json"))
    assert {tomb.key, cert_key(storage)} <= {leaf["record"] for leaf in body["leaves"]}
    assert sealed.records_sealed >= 2

    later = Period.day(dt.date(2040, 1, 1))
    _, ref2 = plan_and_record(storage, execute=True, period=later)
    plan2, _ = read_plan(storage, ref2.key)
    protected = [i for i in plan2["delete"] if "/retention/" in i["object_id"]]
    assert protected == []  # plans, certificates, tombstones are never candidates for deletion


def cert_key(storage: LocalStorage) -> str:
    return next(r.key for r in load_summaries(storage) if r.check == CERTIFICATE_CHECK)


def test_overwrite_and_delete_overwrites_the_content_before_unlinking(rt_env, loc, storage, config: Path):
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    next(p for p in doc["policies"] if p["data_class"] == "lineage_events")["method"] = "overwrite_and_delete"
    path.write_text(yaml.safe_dump(doc))
    event = (
        loc.openlineage_root
        / "staging"
        / "20240101T000000.000000Z-COMPLETE-r-0123456789abcdef0123456789abcdef.json"
    )
    event.parent.mkdir(parents=True)
    content = json.dumps(ol_event(dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), secret="applicant data"))
    event.write_text(content)
    signer = Signer.from_settings()
    archive_lineage(storage, signer, dt.date(2024, 1, 1), loc)  # archived and sealed: it may go
    seal(storage, signer, rt_env / "witness")
    witness_link = rt_env / "same-inode.json"  # a second name for the same bytes: shows what happened to them
    os.link(event, witness_link)
    size = event.stat().st_size
    period = Period.day(dt.date(2026, 1, 1))
    plan_and_record(storage, execute=True, period=period)
    assert execute_job(period, EXECUTOR).summary["deleted"] == 1
    assert not event.exists() and witness_link.read_bytes() == bytes(size)
    (cert,) = certificates(storage)
    assert cert["method"] == "overwrite_and_delete" and cert["kind"] == "openlineage_event"
    assert cert["sha256_before"] == sha256_bytes(content.encode())


def test_spec_blobs_are_never_retention_objects_and_outlive_a_disposed_record(rt_env, loc, storage, tmp_path):
    """A spec blob is shared: disposing of one record that names it must leave it for the kept records
    that name it too. Retention scans records only, so blobs are never candidates."""
    from aimsflow.evidence.keys import Signer, TrustedKeys
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.specs import blob_key
    from aimsflow.evidence.verify import verify_store
    from aimsflow.results import JobResult, SpecRef, Subject

    signer = Signer.from_settings()
    policy = tmp_path / "suite.json"
    policy.write_text('{"expectations": []}\n')
    spec = SpecRef.of_file(policy)

    def record(day: dt.date, name: str) -> str:
        written = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1), dt.UTC)
        result = JobResult(
            Subject("loan_approval", "loan_applications_raw", day.isoformat()),
            Status.passed,
            check="data_quality/validate",
            controls=("A.7.4",),
            specs=[spec],
        )
        ctx = RunContext(Period.day(day), Producer.command_run(name), written, written)
        return write_record(storage, result, ctx, signer).key

    old = record(dt.date(2024, 5, 1), "old")  # expires 2028-03-01
    kept = record(dt.date(2027, 5, 1), "kept")
    seal(storage, signer, rt_env / "witness")
    period = Period.day(dt.date(2028, 2, 29))
    _, ref = plan_and_record(storage, execute=True, period=period)
    plan, _ = read_plan(storage, ref.key)
    considered = [i["object_id"] for i in [*plan["delete"], *plan["excluded"]]]
    assert f"evidence/{old}" in [i["object_id"] for i in plan["delete"]]
    assert not [o for o in considered if o.startswith("evidence/specs/")]

    result = execute_job(period, EXECUTOR)
    assert result.summary["deleted"] == 1 and not storage.exists(old) and storage.exists(kept)
    assert storage.get(blob_key(spec.sha256)) == policy.read_bytes()
    report = verify_store(storage, TrustedKeys.load(), Witness())
    assert report.ok, report.problems
