"""The scan step: files still being written wait, an unchanged bad drop is reported again daily (not
hourly), a drop whose filing was interrupted is filed without a second record, and nothing is decided
from an earlier record that does not verify."""

from __future__ import annotations

import datetime as dt
import json
import os

from aimsflow import settings
from aimsflow.evidence.storage import LocalStorage
from aimsflow.manual.history import REPORT_AGAIN_AFTER, document_id, load_history
from aimsflow.manual.job import DOCUMENT, scan_drops
from aimsflow.results import Status
from tests.manual.conftest import GOOD, drop, manual_records, run_drops, task_context

NOW = dt.datetime.now(dt.UTC)


def test_files_changed_within_the_settle_time_wait_for_the_next_run(inbox):
    (inbox / "fresh.md").write_text("being copied")
    (inbox / "fresh.md.evidence.yaml").write_text(GOOD)
    old = drop(inbox, "old.md")
    assert scan_drops(settle_minutes=2) == [old]
    assert len(scan_drops(settle_minutes=0)) == 2
    # the newest file of a drop counts: an old document with a sidecar written just now waits
    (inbox / "old.md.evidence.yaml").write_text(GOOD)
    assert scan_drops(settle_minutes=2) == []


def test_an_empty_inbox_is_no_drop(inbox):
    assert scan_drops(settle_minutes=0) == []


def test_an_unchanged_bad_drop_is_reported_again_after_a_day_not_every_hour(inbox):
    item = drop(inbox, "bad.md", b"doc", GOOD.replace("A.2.4", "A.2.9"))
    assert scan_drops(settle_minutes=0) == [item]
    run_drops([item])
    (error,) = manual_records()
    assert error.status == Status.error
    assert scan_drops(settle_minutes=0, now=NOW + dt.timedelta(hours=1)) == []  # next hour: not again
    later = error.ended_at + REPORT_AGAIN_AFTER + dt.timedelta(minutes=1)
    assert scan_drops(settle_minutes=0, now=later) == [item]  # a day on: reported again


def test_a_fixed_sidecar_is_taken_at_the_next_run(inbox):
    item = drop(inbox, "bad.md", b"doc", GOOD.replace("A.2.4", "A.2.9"))
    run_drops([item])
    fixed = drop(inbox, "bad.md", b"doc", GOOD)
    assert scan_drops(settle_minutes=0) == [fixed]
    (out,) = run_drops([fixed], hour=11)
    assert out["status"] == "passed" and sorted(os.listdir(inbox)) == [".ingested"]


def test_a_drop_whose_filing_was_interrupted_is_filed_without_a_second_record(inbox):
    """The task was killed between its record and the move: the next scan moves the drop, unchanged
    since its record, to the record's folder; no new record."""
    from aimsflow import airflow_glue as glue

    item = drop(inbox, "a.md", b"content", GOOD)
    outcome = glue.run_job(task_context(), DOCUMENT, item=item)  # written, never filed
    (rec,) = manual_records()
    assert outcome["record"] == rec.key
    assert scan_drops(settle_minutes=0) == []
    assert (inbox / ".ingested" / rec.record_id / "a.md").read_bytes() == b"content"
    assert not (inbox / "a.md").exists() and len(manual_records()) == 1


def test_a_redrop_of_filed_files_is_listed_as_a_drop(inbox):
    """The same files dropped again after filing (newer than the record) are a drop: the job then
    says duplicate, with a record of its own."""
    item = drop(inbox, "a.md", b"content", GOOD)
    run_drops([item])
    (inbox / "a.md").write_bytes(b"content")
    (inbox / "a.md.evidence.yaml").write_text(GOOD)
    assert scan_drops(settle_minutes=0) == [item]


def test_an_earlier_record_that_does_not_verify_decides_nothing(inbox):
    run_drops([drop(inbox, "a.md", b"content", GOOD)])
    (rec,) = manual_records()
    storage = LocalStorage(settings.evidence_root())
    manifest = storage.path(f"{rec.key}/manifest.json")
    doc = json.loads(manifest.read_bytes())
    doc["predicate"]["summary"]["owner"] = "someone-else@example.com"  # edited: the signature breaks
    manifest.write_text(json.dumps(doc, indent=2) + "\n")
    history = load_history(DOCUMENT.check)
    assert history.records == [] and [u.key for u in history.rejected] == [rec.key]
    # so the same drop again is not taken for a duplicate of the edited record: it is ingested anew
    (out,) = run_drops([drop(inbox, "a.md", b"content", GOOD)], hour=11)
    assert out["status"] == "passed"
    fresh = [r for r in manual_records() if r.key != rec.key]
    assert fresh[0].summary["duplicate_of"] is None and fresh[0].summary["earlier_records_not_verified"] == 1


def test_the_document_id_is_the_title_folded_and_the_ai_system():
    assert document_id("AI System Impact Assessment — Loan approval", "loan_approval") == (
        "loan_approval/ai-system-impact-assessment-loan-approval"
    )
    assert document_id("  AI   policy ", None) == document_id("ai policy", None) == "aims/ai-policy"
    assert document_id("—", None) == "aims/untitled"
