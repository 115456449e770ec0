"""Retention never disposes of an OpenLineage event file whose events are not archived: every UTC day
of its events needs a sealed ``evidence_seal/lineage_events`` record listing the file's content."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import Producer, RunContext, write_record
from aimsflow.evidence.storage import LocalStorage
from aimsflow.lineage.archive import CHECK
from aimsflow.periods import Period
from aimsflow.results import DataRef, JobResult, Status, Subject
from aimsflow.retention.job import build_plan
from aimsflow.retention.objects import Locations, lineage_archives, scan_openlineage
from tests.retention.conftest import INVENTORY, archive_lineage, ol_event, put_events, seal

UTC = dt.UTC
D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
# lineage_events are kept 1 year from the date their file name starts with: all expired by then.
LATER = Period.day(dt.date(2026, 1, 1))
NAME = "{day:%Y%m%d}T120000.000000Z-COMPLETE-{run}-{n:032x}.json"


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), UTC)


def put(loc: Locations, day: dt.date, n: int, *events: dict) -> Path:
    return put_events(loc, NAME.format(day=day, run=f"r{n}", n=n), *(events or (ol_event(noon(day)),)))


def oid(path: Path, loc: Locations) -> str:
    return f"openlineage/{path.relative_to(loc.openlineage_root).as_posix()}"


def plan(storage: LocalStorage) -> tuple[dict, dict, dict]:
    """(summary, deletions, exclusions) of a plan made long after; event files only, by object id."""
    built, _ = build_plan(LATER, False, now=LATER.end)
    return (
        built.summary(),
        {i.candidate.object_id: i for i in built.deletions if i.candidate.area == "openlineage"},
        {i.candidate.object_id: i for i in built.excluded if i.candidate.area == "openlineage"},
    )


def test_expired_files_of_an_archived_and_sealed_day_are_planned_for_deletion(rt_env, loc, storage):
    signer = Signer.from_settings()
    files = [put(loc, D1, n, ol_event(noon(D1), f"r{n}")) for n in range(3)]
    ref = archive_lineage(storage, signer, D1, loc)
    seal(storage, signer, rt_env / "witness")
    summary, deletions, excluded = plan(storage)
    assert set(deletions) == {oid(f, loc) for f in files}
    item = deletions[oid(files[0], loc)]
    assert item.candidate.event_days == ("2024-01-01",) and item.candidate.archived_in == (ref.key,)
    assert summary["lineage_not_archived"] == 0 and not excluded


def test_expired_files_of_a_day_without_a_lineage_record_are_kept_with_the_reason(rt_env, loc, storage):
    signer = Signer.from_settings()
    archived = put(loc, D1, 1)
    archive_lineage(storage, signer, D1, loc)
    not_archived = put(loc, D2, 2)
    seal(storage, signer, rt_env / "witness")
    summary, deletions, excluded = plan(storage)
    assert oid(archived, loc) in deletions and oid(not_archived, loc) not in deletions
    (reason,) = excluded[oid(not_archived, loc)].decision.reasons
    assert reason.startswith(
        "lineage_not_archived: no sealed evidence_seal/lineage_events record of 2024-01-02"
    )
    assert summary["lineage_not_archived"] == 1


def test_a_file_mixing_an_archived_and_a_not_archived_day_is_kept(rt_env, loc, storage):
    signer = Signer.from_settings()
    late = dt.datetime.combine(D2, dt.time(0), UTC)  # 00:00:00Z belongs to D2, not D1
    mixed = put(loc, D1, 1, ol_event(noon(D1), "a", "START"), ol_event(late, "a", "COMPLETE"))
    archive_lineage(storage, signer, D1, loc)
    seal(storage, signer, rt_env / "witness")
    summary, deletions, excluded = plan(storage)
    item = excluded[oid(mixed, loc)]
    assert item.candidate.event_days == ("2024-01-01", "2024-01-02")
    assert item.candidate.unarchived_days == ("2024-01-02",)
    assert "record of 2024-01-02 lists" in item.decision.reasons[0] and summary["lineage_not_archived"] == 1

    archive_lineage(storage, signer, D2, loc)  # the second day archived too: now it may go
    seal(storage, signer, rt_env / "witness")
    _, deletions, _ = plan(storage)
    assert oid(mixed, loc) in deletions


def test_an_archive_record_not_sealed_yet_does_not_count(rt_env, loc, storage):
    path = put(loc, D1, 1)
    archive_lineage(storage, Signer.from_settings(), D1, loc)  # written, no seal
    _, deletions, excluded = plan(storage)
    assert oid(path, loc) not in deletions
    assert excluded[oid(path, loc)].decision.reasons[0].startswith("lineage_not_archived")


def test_a_file_written_or_changed_after_its_day_was_archived_is_kept(rt_env, loc, storage):
    """Late events (written after the day's record) and rewritten files: the record lists other content."""
    signer = Signer.from_settings()
    changed = put(loc, D1, 1, ol_event(noon(D1), "a"))
    archive_lineage(storage, signer, D1, loc)
    seal(storage, signer, rt_env / "witness")
    late = put(loc, D1, 2, ol_event(noon(D1), "b"))
    put(loc, D1, 1, ol_event(noon(D1), "a-rewritten"))
    _, deletions, excluded = plan(storage)
    assert oid(late, loc) in excluded and oid(changed, loc) in excluded and not deletions


def test_an_unreadable_file_is_kept_whatever_is_archived(rt_env, loc, storage):
    signer = Signer.from_settings()
    good = put(loc, D1, 1)
    broken = loc.openlineage_root / "staging" / NAME.format(day=D1, run="x", n=9)
    broken.write_text('{"eventTime": "2024-01-01T12:00:00Z", "schemaURL": ')
    ref = archive_lineage(storage, signer, D1, loc)
    seal(storage, signer, rt_env / "witness")
    _, deletions, excluded = plan(storage)
    assert oid(good, loc) in deletions
    reasons = excluded[oid(broken, loc)].decision.reasons  # (the demo's hold covers unknown subjects too)
    assert any(r.startswith("lineage_not_archived: its events cannot be read") for r in reasons)
    assert ref.key.startswith("records/2024-01-01/evidence_seal/lineage_events/")


def test_only_sealed_passed_or_warning_records_of_one_day_that_match_their_seal_count(rt_env, loc, storage):
    signer = Signer.from_settings()
    path = put(loc, D1, 1)
    ref = DataRef.of_file(path)

    def record(status: Status, period: Period, name: str) -> str:
        result = JobResult(Subject(), status, check=CHECK, controls=("A.6.2.8",), inputs=[ref])
        ctx = RunContext(period, Producer.command_run(name), LATER.start, LATER.start)
        return write_record(storage, result, ctx, signer).key

    record(Status.error, Period.day(D1), "broke")
    record(Status.passed, Period.days(D1, D2), "two-days")
    seal(storage, signer, rt_env / "witness")
    assert lineage_archives(storage) == {}
    good = record(Status.warning, Period.day(D1), "warned")
    assert lineage_archives(storage) == {}  # not sealed yet
    seal(storage, signer, rt_env / "witness")
    assert lineage_archives(storage) == {"2024-01-01": {ref.sha256: good}}
    (cand,) = scan_openlineage(
        loc.openlineage_root, "lineage_events", INVENTORY, loc.data_root, lineage_archives(storage)
    )
    assert cand.archived_in == (good,) and cand.unarchived_days == ()


def test_a_plan_item_round_trips_the_lineage_facts(rt_env, loc, storage):
    """Execution re-decides from the plan's items: the facts must survive plan.json."""
    from aimsflow.retention.objects import Candidate

    put(loc, D1, 1, ol_event(noon(D1)), ol_event(noon(D2), "b"))
    (cand,) = scan_openlineage(loc.openlineage_root, "lineage_events", INVENTORY, loc.data_root)
    again = Candidate.from_dict(cand.as_dict())
    assert again == cand and again.unarchived_days == ("2024-01-01", "2024-01-02")


def test_a_partly_unreadable_file_has_unknown_days_and_an_unknown_subject(rt_env, loc):
    """A bad line may name any dataset or day: every hold covers the file and it is never archived."""
    named = ol_event(noon(D1), run={"runId": "a", "facets": {"aimsflow": {"dataset": "loan_training_set"}}})
    path = put(loc, D1, 1, named)
    with path.open("a") as fh:
        fh.write("{not json\n")
    (cand,) = scan_openlineage(loc.openlineage_root, "lineage_events", INVENTORY, loc.data_root)
    assert cand.event_days is None and not cand.subject_known


def test_a_lineage_record_outlives_the_event_files_that_rely_on_it(rt_env, loc, storage, config):
    """Regression (found by the crash property test): a run interrupted after disposing of a lineage
    record but before its event files left those files without an archive, kept for ever."""
    path = config / "retention" / "policies.yaml"
    doc = yaml.safe_load(path.read_text())
    evidence = next(p for p in doc["policies"] if p["data_class"] == "evidence")
    evidence.update(retention="1 day", counts_from="created")  # the record expires before its files
    path.write_text(yaml.safe_dump(doc))
    signer = Signer.from_settings()
    event_file = put(loc, D1, 1)
    ref = archive_lineage(storage, signer, D1, loc)
    seal(storage, signer, rt_env / "witness")
    built, _ = build_plan(LATER, False, now=LATER.end)
    record = next(i for i in built.excluded if i.candidate.record_key == ref.key)
    assert record.candidate.archives_files == 1
    assert record.decision.reasons == (
        "lineage_files_remain: the archive of 1 OpenLineage event file(s) still on disk "
        "(kept until they are disposed of)",
    )
    assert oid(event_file, loc) in {i.candidate.object_id for i in built.deletions}
    assert built.summary()["lineage_files_remain"] == 1

    event_file.unlink()  # the file is disposed of: at the next run its record may go
    built, _ = build_plan(LATER, False, now=LATER.end)
    assert f"evidence/{ref.key}" in {i.candidate.object_id for i in built.deletions}
