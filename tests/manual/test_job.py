"""The job manual_evidence/document through the task wrapper: one signed record per drop, the drop
filed away once its record verifies; warnings, duplicates, versions; every bad drop an ``error``
record with the drop left in the inbox untouched, and the good drops of the run ingested regardless."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import pytest

from aimsflow import settings
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import read_record_file
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.trust import read_verified
from aimsflow.manual.job import DOCUMENT, FilingError, file_away
from aimsflow.results import JobError, Status, sha256_bytes
from tests.conftest import PROJECT
from tests.manual.conftest import GOOD, drop, manual_records, run_drops, task_context
from tests.manual.test_sidecar import BAD

TODAY = dt.datetime.now(dt.UTC).date()
INTERFACE = (
    "title",
    "owner",
    "document",
    "document_sha256",
    "review_date",
    "valid_from",
    "valid_to",
    "ai_system",
)


def _sidecar(**fields: str) -> str:
    base = {
        "title": "AI system impact assessment",
        "owner": "head-of-credit-risk@example.com",
        "controls": "[A.5.2, A.5.3, A.5.4, A.5.5]",
        "valid_from": "2026-01-01",
        "review_date": "2099-06-30",
        "ai_system": "loan_approval",
    }
    base.update(fields)
    return "".join(f"{k}: {v}\n" for k, v in base.items() if v is not None)


def _storage() -> LocalStorage:
    return LocalStorage(settings.evidence_root())


def _state(inbox, *names):
    """Bytes and modification time (ns) of inbox files: what 'untouched' compares."""
    return {n: ((inbox / n).read_bytes(), (inbox / n).stat().st_mtime_ns) for n in names}


def test_a_good_drop_becomes_one_signed_record_and_leaves_the_inbox(inbox):
    content = b"# AI system impact assessment\n\nLoan approval: individuals, groups, society.\n"
    item = drop(inbox, "impact.md", content, _sidecar(version="'1.1'"))
    before = _state(inbox, "impact.md", "impact.md.evidence.yaml")
    (out,) = run_drops([item])
    (rec,) = manual_records()
    assert out["record"] == rec.key and out["status"] == "passed"
    assert rec.status == Status.passed and rec.check == DOCUMENT.check
    assert rec.controls == ["A.5.2", "A.5.3", "A.5.4", "A.5.5"]  # narrowed to the sidecar's
    assert rec.subject == {"ai_system": "loan_approval", "dataset": None, "partition": None}
    assert rec.period.label == "20261125T090000Z..20261125T100000Z"  # the hourly run's interval
    assert {k: rec.summary[k] for k in INTERFACE} == {
        "title": "AI system impact assessment",
        "owner": "head-of-credit-risk@example.com",
        "document": "impact.md",
        "document_sha256": sha256_bytes(content),
        "review_date": "2099-06-30",
        "valid_from": "2026-01-01",
        "valid_to": None,
        "ai_system": "loan_approval",
    }
    assert rec.summary["version"] == "1.1" and rec.summary["supersedes"] is None
    assert rec.summary["document_id"] == "loan_approval/ai-system-impact-assessment"
    # The record verifies, and holds the document and the sidecar byte for byte.
    storage = _storage()
    predicate = read_verified(storage, rec.key, TrustedKeys.load()).predicate
    assert read_record_file(storage, rec.key, "document/impact.md", predicate) == content
    sidecar_copy = read_record_file(storage, rec.key, "sidecar/impact.md.evidence.yaml", predicate)
    assert sidecar_copy == before["impact.md.evidence.yaml"][0]
    assert [s["path"] for s in predicate["specs"]] == ["include/config/ai_systems.yaml"]
    assert [i["sha256"] for i in predicate["inputs"]] == [sha256_bytes(content), sha256_bytes(sidecar_copy)]
    # The drop left the inbox for .ingested/<record id>/, unchanged.
    filed = inbox / ".ingested" / rec.record_id
    assert out["filed_to"] == str(filed)
    assert sorted(os.listdir(inbox)) == [".ingested"]
    assert _state(filed, "impact.md", "impact.md.evidence.yaml") == before


def test_a_past_review_date_is_ingested_as_a_warning_its_controls_stale(inbox):
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    item = drop(
        inbox,
        "supplier.md",
        sidecar=_sidecar(title="Supplier agreement", controls="[A.10.3]", review_date=yesterday),
    )
    (out,) = run_drops([item])
    (rec,) = manual_records()
    assert rec.status == Status.warning and rec.controls == ["A.10.3"]
    assert rec.summary["review_overdue"] is True and rec.summary["review_date"] == yesterday
    assert f"its review date {yesterday} has passed" in _message(rec)
    assert "stale" in _message(rec) and out["filed_to"]  # ingested all the same


def test_a_review_date_of_today_is_not_past(inbox):
    item = drop(inbox, "a.md", sidecar=_sidecar(review_date=TODAY.isoformat()))
    run_drops([item])
    assert manual_records()[0].status == Status.passed


def test_an_ended_validity_is_a_warning_and_a_later_start_is_said(inbox):
    ended = (TODAY - dt.timedelta(days=3)).isoformat()
    later = (TODAY + dt.timedelta(days=30)).isoformat()
    run_drops(
        [
            drop(inbox, "old.md", b"old", _sidecar(title="Old", valid_from="2020-01-01", valid_to=ended)),
            drop(inbox, "new.md", b"new", _sidecar(title="New", valid_from=later)),
        ]
    )
    by_doc = {r.summary["document"]: r for r in manual_records()}
    assert by_doc["old.md"].status == Status.warning and by_doc["old.md"].summary["validity_ended"] is True
    assert f"its validity ended on {ended}" in _message(by_doc["old.md"])
    assert by_doc["new.md"].status == Status.passed and f"in force from {later}" in _message(by_doc["new.md"])


def _message(rec) -> str:
    return json.loads(_storage().get(f"{rec.key}/manifest.json"))["predicate"]["message"]


def test_a_redrop_of_the_same_content_is_a_duplicate_not_a_second_ingestion(inbox):
    item = drop(inbox, "policy.md", b"# AI policy v1\n", GOOD)
    (first,) = run_drops([item])
    item = drop(inbox, "policy.md", b"# AI policy v1\n", "# the same fields, another comment\n" + GOOD)
    (second,) = run_drops([item], hour=11)
    original, duplicate = sorted(manual_records(), key=lambda r: r.started_at)
    assert duplicate.status == Status.warning and duplicate.controls == ["7.5.3"]  # no other verdict moves
    assert duplicate.summary["duplicate_of"] == first["record"] == original.key
    assert "not ingested again" in _message(duplicate)
    files = _storage().list_files(duplicate.key)
    assert not [f for f in files if f.startswith("document/")]  # the document is held once
    assert second["filed_to"].endswith(duplicate.record_id) and sorted(os.listdir(inbox)) == [".ingested"]


def test_the_same_document_with_new_fields_is_a_new_version(inbox):
    """A review extends the review date of an unchanged document: a new record, superseding."""
    run_drops([drop(inbox, "policy.md", b"same", GOOD)])
    run_drops([drop(inbox, "policy.md", b"same", GOOD.replace("2099-01-15", "2099-06-30"))], hour=11)
    v1, v2 = sorted(manual_records(), key=lambda r: r.started_at)
    assert v2.status == Status.passed and v2.summary["supersedes"] == v1.key
    assert v2.summary["document_sha256"] == v1.summary["document_sha256"]


def test_a_newer_version_supersedes_the_earlier_and_an_old_redrop_says_so(inbox):
    run_drops([drop(inbox, "policy-v1.md", b"v1", GOOD)])
    run_drops([drop(inbox, "policy-v2.md", b"v2", GOOD)], hour=11)
    v1, v2 = sorted(manual_records(), key=lambda r: r.started_at)
    assert v2.summary["supersedes"] == v1.key and v2.summary["document_id"] == v1.summary["document_id"]
    run_drops([drop(inbox, "policy-v1.md", b"v1", GOOD)], hour=12)  # the old file dropped again
    (again,) = [r for r in manual_records() if r.summary.get("duplicate_of")]
    assert again.summary["duplicate_of"] == v1.key and f"superseded by {v2.key}" in _message(again)
    # a third version supersedes the current one, not the first
    run_drops([drop(inbox, "policy-v3.md", b"v3", GOOD)], hour=13)
    (v3,) = [r for r in manual_records() if r.summary["document"] == "policy-v3.md"]
    assert v3.summary["supersedes"] == v2.key


def test_the_same_title_for_another_ai_system_is_another_document(inbox):
    run_drops([drop(inbox, "a.md", b"a", _sidecar())])
    run_drops([drop(inbox, "b.md", b"b", _sidecar(ai_system=None, controls="[A.5.2]"))], hour=11)
    assert [r.summary["supersedes"] for r in manual_records()] == [None, None]


# --- bad drops ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "text", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_sidecar_gets_an_error_record_and_the_drop_stays_untouched(inbox, case, text, fragments):
    item = drop(inbox, "policy.md", b"%PDF-1.7 the document\n", text)
    before = _state(inbox, "policy.md", "policy.md.evidence.yaml")
    (out,) = run_drops([item])
    assert isinstance(out, JobError), out
    (rec,) = manual_records()
    assert rec.status == Status.error
    message = _message(rec)
    assert message.startswith(
        "drop 'policy.md' refused, left in the inbox untouched: policy.md.evidence.yaml:"
    )
    for fragment in fragments:
        assert fragment in message, (case, message)
    assert _state(inbox, "policy.md", "policy.md.evidence.yaml") == before  # bytes and mtime
    assert not (inbox / ".ingested").exists()
    assert rec.summary["left_in_inbox"] == ["policy.md", "policy.md.evidence.yaml"]
    assert rec.summary["document_sha256"] == sha256_bytes(before["policy.md"][0])
    assert all(k in rec.summary for k in INTERFACE)  # readers of the interface find every field


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["orphan.md.evidence.yaml"], "orphan.md.evidence.yaml: a sidecar without its document 'orphan.md'"),
        (["lonely.pdf"], "lonely.pdf: a document without its sidecar: add 'lonely.pdf.evidence.yaml'"),
        (["policy.pdf", "policy.pdf.evidence.yml"], "rename it to policy.pdf.evidence.yaml"),
    ],
    ids=["sidecar without document", "document without sidecar", "misnamed sidecar"],
)
def test_a_lone_file_gets_an_error_record_and_stays(inbox, names, expected):
    for name in names:
        (inbox / name).write_text(GOOD if "evidence" in name else "doc")
    before = _state(inbox, *names)
    from aimsflow.manual.job import scan_drops

    items = scan_drops(settle_minutes=0)
    outs = run_drops(items)
    assert all(isinstance(o, JobError) for o in outs) and len(outs) == len(names)
    messages = [_message(r) for r in manual_records()]
    assert any(expected in m for m in messages), messages
    assert all(r.controls == ["7.5.3"] or r.controls == ["A.2.2", "A.2.4"] for r in manual_records())
    assert _state(inbox, *names) == before


def test_a_folder_or_a_link_is_refused_and_nothing_outside_the_inbox_is_copied(inbox, tmp_path):
    secret = tmp_path / "outside.txt"
    secret.write_text("not for the evidence store")
    (inbox / "linked.txt").symlink_to(secret)
    (inbox / "linked.txt.evidence.yaml").write_text(GOOD)
    (inbox / "Policies").mkdir()
    from aimsflow.manual.job import scan_drops

    outs = run_drops(scan_drops(settle_minutes=0))
    assert all(isinstance(o, JobError) for o in outs) and len(outs) == 2
    messages = sorted(_message(r) for r in manual_records())
    assert "Policies: a folder: only files at the top of the inbox are read" in messages[0]
    assert "linked.txt: a symbolic link: links are not followed" in messages[1]
    storage = _storage()
    for rec in manual_records():
        for name in storage.list_files(rec.key):
            assert b"not for the evidence store" not in storage.get(f"{rec.key}/{name}")
    assert (inbox / "linked.txt").is_symlink() and (inbox / "Policies").is_dir()


def test_an_error_record_names_the_controls_its_sidecar_gives_when_they_are_valid(inbox):
    run_drops([drop(inbox, "a.md", b"a", _sidecar(review_date="2099-02-30"))])
    run_drops([drop(inbox, "b.md", b"b", _sidecar(controls="[A.5.99]"))], hour=11)
    first, second = sorted(manual_records(), key=lambda r: r.started_at)
    assert first.status == second.status == Status.error
    assert (
        first.controls == ["A.5.2", "A.5.3", "A.5.4", "A.5.5"]
        and first.subject["ai_system"] == "loan_approval"
    )
    assert second.controls == ["7.5.3"]  # never every declared control: a refused drop claims none


def test_a_retry_of_a_bad_drop_writes_another_record_and_still_moves_nothing(inbox):
    item = drop(inbox, "a.md", b"a", "title: [\n")
    before = _state(inbox, "a.md", "a.md.evidence.yaml")
    run_drops([item], try_number=1)
    run_drops([item], try_number=2)
    recs = manual_records()
    assert [r.status for r in recs] == [Status.error, Status.error]
    assert sorted(r.producer["try_number"] for r in recs) == [1, 2]
    assert _state(inbox, "a.md", "a.md.evidence.yaml") == before


def test_one_bad_drop_does_not_stop_the_good_ones_of_the_run(inbox):
    items = [
        drop(inbox, "a-policy.md", b"policy", GOOD),
        drop(inbox, "b-bad.md", b"bad", GOOD.replace("A.2.4", "A.2.44")),
        drop(
            inbox,
            "c-roles.md",
            b"roles",
            GOOD.replace("AI policy", "AI roles").replace("[A.2.2, A.2.4]", "[A.3.2]"),
        ),
    ]
    outs = run_drops(items)
    assert [type(o).__name__ for o in outs] == ["dict", "JobError", "dict"]
    assert sorted(os.listdir(inbox)) == [".ingested", "b-bad.md", "b-bad.md.evidence.yaml"]
    statuses = {r.summary["document"]: r.status for r in manual_records()}
    assert statuses == {"a-policy.md": Status.passed, "b-bad.md": Status.error, "c-roles.md": Status.passed}


def test_a_broken_catalog_is_an_error_of_its_own_claiming_no_control(inbox, tmp_path, monkeypatch):
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    (config / "ai_systems.yaml").write_text("ai_systems: [\n")
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    item = drop(inbox, "a.md", b"a", GOOD)
    (out,) = run_drops([item])
    (rec,) = manual_records()
    assert isinstance(out, JobError) and rec.status == Status.error and rec.controls == ["7.5.3"]
    assert "the catalog cannot be read" in _message(rec) and (inbox / "a.md").exists()


# --- filing ---------------------------------------------------------------------------------------


def _written(inbox, item):
    from aimsflow import airflow_glue as glue

    return glue.run_job(task_context(), DOCUMENT, item=item)


def test_a_drop_is_filed_only_once_its_record_verifies(inbox):
    item = drop(inbox, "a.md", b"content", GOOD)
    outcome = _written(inbox, item)
    copy = _storage().path(f"{outcome['record']}/document/a.md")
    copy.write_bytes(b"changed")  # the stored copy no longer matches the signed manifest
    with pytest.raises(FilingError, match="does not verify"):
        file_away(outcome, item)
    assert (inbox / "a.md").read_bytes() == b"content" and not (inbox / ".ingested").exists()


def test_a_drop_changed_while_it_was_ingested_stays_for_the_next_run(inbox):
    item = drop(inbox, "a.md", b"content", GOOD)
    outcome = _written(inbox, item)
    (inbox / "a.md").write_bytes(b"content, edited meanwhile")
    assert file_away(outcome, item)["filed_to"] is None
    assert (inbox / "a.md").read_bytes() == b"content, edited meanwhile"


def test_filing_refuses_a_record_about_another_drop(inbox):
    outcome = _written(inbox, drop(inbox, "a.md", b"a", GOOD))
    other = drop(inbox, "b.md", b"b", GOOD)
    with pytest.raises(FilingError, match="not 'b.md'"):
        file_away(outcome, other)
    assert (inbox / "b.md").exists() and (inbox / "a.md").exists()


@pytest.mark.parametrize(
    "item",
    [
        {"document": "../outside.txt", "sidecar": None},
        {"document": "a.md", "sidecar": "../../outside.txt"},
        {"document": ".ingested", "sidecar": None},
        {"document": None, "sidecar": None},
    ],
    ids=["parent", "sidecar path", "hidden", "nothing"],
)
def test_a_tampered_task_input_is_refused_and_nothing_outside_the_inbox_is_read(inbox, item):
    """The mapped task's input comes through XCom, which people with edit rights can change."""
    (inbox.parent / "outside.txt").write_text("not for the evidence store")
    (out,) = run_drops([item])
    assert isinstance(out, JobError)
    (rec,) = manual_records()
    assert rec.status == Status.error and rec.controls == ["7.5.3"]
    assert "refused the task's input" in _message(rec)
    assert sorted(_storage().list_files(rec.key)) == ["manifest.dsse.json", "manifest.json"]  # no result file
    with pytest.raises(FilingError):
        file_away({"record": rec.key}, item)
    assert (inbox.parent / "outside.txt").exists()
