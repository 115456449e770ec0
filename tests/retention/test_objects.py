"""What retention sees: partition files by date, versions of derived partitions, OpenLineage event
files with their dates and subjects, evidence records with their seal; hidden files never."""

from __future__ import annotations

import datetime as dt
import json
import os

from aimsflow.evidence.keys import Signer
from aimsflow.retention.objects import (
    Findings,
    Kind,
    Locations,
    scan_datasets,
    scan_evidence,
    scan_openlineage,
)
from tests.retention.conftest import INVENTORY, put_partition, seal, write_evidence

DAY = dt.date(2026, 3, 4)


def test_raw_batches_and_every_version_of_derived_partitions_are_objects(loc: Locations):
    put_partition(loc, "loan_applications_raw", DAY)
    put_partition(loc, "loan_applications_clean", DAY, b"v1", version="20260305T000000Z-aaaa")
    put_partition(loc, "loan_applications_clean", DAY, b"v2", version="20260306T000000Z-bbbb")
    clean = INVENTORY.dataset("loan_applications_clean").partition_path(DAY, loc.data_root)
    (clean / ".tmp-123.parquet").write_bytes(b"orphan")  # a writer's temp file: not an object
    (loc.data_root / "raw" / "loan_applications" / "date=not-a-date").mkdir(parents=True)
    (loc.data_root / "quarantine").mkdir()
    (loc.data_root / "quarantine" / "x.csv").write_bytes(b"not in the catalog")

    found = {c.object_id: c for c in scan_datasets(INVENTORY, loc.data_root)}
    assert sorted(found) == [
        "data/clean/loan_applications/date=2026-03-04/part-20260305T000000Z-aaaa.parquet",
        "data/clean/loan_applications/date=2026-03-04/part-20260306T000000Z-bbbb.parquet",
        "data/raw/loan_applications/date=2026-03-04/applications.csv",
    ]
    batch = found["data/raw/loan_applications/date=2026-03-04/applications.csv"]
    assert (batch.kind, batch.data_class, batch.created, batch.partition) == (
        Kind.dataset_file,
        "raw_personal_data",
        DAY,
        "2026-03-04",
    )
    assert batch.datasets == ("loan_applications_raw",) and batch.ai_systems == ("loan_approval",)
    assert batch.size == len(b"a,b\n1,2\n")
    assert {c.data_class for c in found.values() if "clean" in c.object_id} == {"derived_personal_data"}


def test_openlineage_events_are_dated_by_name_and_linked_to_datasets(loc: Locations):
    staging = loc.openlineage_root / "staging"
    staging.mkdir(parents=True)
    named = staging / "20251121T000512.123456Z-COMPLETE-run1-0123456789abcdef0123456789abcdef.json"
    named.write_text(json.dumps({"run": {"facets": {"aimsflow": {"dataset": "loan_training_set"}}}}))
    by_input = staging / "other.json"
    clean = INVENTORY.dataset("loan_applications_clean").partition_path(DAY, loc.data_root)
    by_input.write_text(
        json.dumps({"inputs": [{"namespace": "file", "name": str(clean / "part-1.parquet")}]})
    )
    mtime = dt.datetime(2025, 2, 3, 12, tzinfo=dt.UTC).timestamp()
    os.utime(by_input, (mtime, mtime))
    (staging / "broken.json").write_text("{not json")
    (staging / ".20251121T000000.000000Z-x.json.tmp").write_text("{}")  # a transport's temp file

    found = {
        c.object_id: c
        for c in scan_openlineage(loc.openlineage_root, "lineage_events", INVENTORY, loc.data_root)
    }
    assert sorted(found) == [
        f"openlineage/staging/{named.name}",
        "openlineage/staging/broken.json",
        "openlineage/staging/other.json",
    ]
    first = found[f"openlineage/staging/{named.name}"]
    assert first.created == dt.date(2025, 11, 21) and first.datasets == ("loan_training_set",)
    assert first.ai_systems == ("loan_approval",) and first.data_class == "lineage_events"
    other = found["openlineage/staging/other.json"]
    assert other.created == dt.date(2025, 2, 3) and other.datasets == ("loan_applications_clean",)
    broken = found["openlineage/staging/broken.json"]
    assert not broken.subject_known and broken.note and "unknown" in broken.note


def test_a_missing_openlineage_folder_has_no_objects(loc: Locations):
    assert scan_openlineage(loc.openlineage_root, "lineage_events", INVENTORY, loc.data_root) == []


def test_evidence_records_carry_their_seal_manifest_hash_and_written_date(rt_env, loc, storage):
    signer = Signer.from_settings()
    written = dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC)
    sealed = write_evidence(storage, signer, DAY, written=written)
    seal(storage, signer, rt_env / "witness")
    pending = write_evidence(storage, signer, DAY, name="second")
    broken_key = "records/2026-03-04/x/broken-1"
    (loc.evidence_root / broken_key).mkdir(parents=True)
    (loc.evidence_root / broken_key / "manifest.json").write_text("{")
    (loc.evidence_root / broken_key / "manifest.dsse.json").write_text("{}")

    findings = Findings()
    found = scan_evidence(storage, "evidence", findings=findings)
    by_key = {c.record_key: c for c in found}
    assert list(findings.untrusted) == [broken_key]  # reported, never a candidate
    assert set(by_key) == {sealed.key, pending.key}
    c = by_key[sealed.key]
    assert c.object_id == f"evidence/{sealed.key}" and c.kind == Kind.evidence_record
    assert c.sealed_in == 1 and by_key[pending.key].sealed_in is None
    assert c.manifest_sha256 == sealed.manifest_sha256 and c.created == written.date()
    assert c.datasets == ("loan_applications_raw",) and c.check == "data_quality/validate"
    assert c.record_period and c.record_period["label"] == "2026-03-04"
    files = [p for p in (loc.evidence_root / sealed.key).rglob("*") if p.is_file()]
    assert c.size == sum(p.stat().st_size for p in files)


def test_spec_blobs_are_not_evidence_objects(rt_env, loc, storage, tmp_path):
    """Retention scans records only: a shared spec blob is never a candidate of its own."""
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, SpecRef, Status, Subject

    spec = tmp_path / "policy.yaml"
    spec.write_text("a: 1\n")
    now = dt.datetime.now(dt.UTC)
    result = JobResult(
        Subject(), Status.passed, check="x/y", controls=("A.7.4",), specs=[SpecRef.of_file(spec)]
    )
    ref = write_record(
        storage,
        result,
        RunContext(Period.day(DAY), Producer.command_run("t"), now, now),
        Signer.from_settings(),
    )
    assert storage.list_files("specs")  # the blob is there
    findings = Findings()
    found = scan_evidence(storage, "evidence", findings=findings)
    assert [c.object_id for c in found] == [f"evidence/{ref.key}"] and findings == Findings()
