"""``describe_record`` and ``describe_nonconformity``: every field of the views against records written
by the test helpers, read back only through the verified readers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass

import pytest

from aimsflow.audit.show import (
    AmbiguousRecord,
    RecordNotTrusted,
    UnknownNonconformity,
    UnknownRecord,
    describe_nonconformity,
    describe_record,
    read_store,
    resolve_record,
)
from aimsflow.evidence.controls import CONTROLS
from aimsflow.evidence.record import ENVELOPE, MANIFEST, Producer
from aimsflow.evidence.tlog import prove_inclusion, scan_log
from aimsflow.jobs import check as declared_check
from aimsflow.results import Status, sha256_bytes, sha256_file
from tests.audit.conftest import AI, CHECK, D1, D2, DATASET, at, seal


def predicate(store, key):
    return json.loads(store.get(f"{key}/{MANIFEST}"))["predicate"]


# --- the record view: every field ----------------------------------------------------------------


def test_every_field_of_a_sealed_failure(store, keys, scenario):
    s = scenario
    view = describe_record(store, s.first.key, keys)
    p = predicate(store, s.first.key)
    assert (view.key, view.record_id, view.check) == (s.first.key, s.first.record_id, CHECK)
    assert view.check_title == declared_check(CHECK).title
    assert view.subject == {"ai_system": AI, "dataset": DATASET, "partition": "2026-11-24"}
    assert (view.status, view.message) == ("failed", "4 of 15 expectations failed")
    assert [(c.id, c.title) for c in view.controls] == [
        ("7.5.3", CONTROLS["7.5.3"]),
        ("A.7.4", "Quality of data for AI systems"),
    ]
    assert (view.period.label, view.period.start, view.period.end) == (
        "2026-11-24",
        dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )
    assert view.started_at.isoformat() == p["started_at"] and view.ended_at.isoformat() == p["ended_at"]
    run = view.run
    assert (run.kind, run.dag_id, run.task_id, run.map_index, run.try_number, run.max_tries) == (
        "task",
        "data_quality",
        "validate",
        3,
        1,
        2,
    )
    assert (run.run_id, run.run_type, run.run_after, run.user) == (
        "scheduled__2026-11-25T01:00:00+00:00",
        "scheduled",
        at(D1),
        "alice",
    )
    assert run.params == {"period": "2026-11-24", "api_token": "***"}
    assert (run.command, run.invocation) == (None, None)
    (inp,) = view.inputs
    assert inp.uri == s.input_file.resolve().as_uri() and inp.sha256 == sha256_file(s.input_file)
    assert (inp.size, inp.rows, inp.dataset) == (s.input_file.stat().st_size, 396, DATASET)
    (out,) = view.outputs
    assert out.uri.endswith("/data/report.json") and (out.size, out.rows, out.dataset) == (13, None, None)
    (spec,) = view.specs
    assert (spec.path, spec.sha256, spec.stored) == ("suite.json", sha256_file(s.spec_file), True)
    assert view.code.git_commit == p["code"]["git_commit"] and view.code.git_dirty == p["code"]["git_dirty"]
    assert view.code.aimsflow == p["code"]["aimsflow"] and view.code.packages == p["code"]["packages"]
    assert view.lineage is not None
    assert (view.lineage.run_id, view.lineage.sent, view.lineage.event_type, view.lineage.error) == (
        "01a2272b-f54e-7967-aff1-993910c87168",
        True,
        "FAIL",
        None,
    )
    assert view.error is None and view.document is None and view.summary == {"rows": 396}
    # A failing re-run and a passing run followed: the passing one is the current verdict.
    assert not view.current and view.supersedes == []
    assert view.superseded_by is not None and view.superseded_by.key == s.passed.key
    assert (view.superseded_by.state, view.superseded_by.status, view.superseded_by.ran_at) == (
        "verified",
        "passed",
        at(D1, 9),
    )
    assert [(n.id, n.relation, n.status) for n in view.nonconformities] == [(s.nc_id, "opened", "closed")]
    # Sealed in seal 1: the leaf index is the one the inclusion proof gives, the root the log's.
    manifest = store.get(f"{s.first.key}/{MANIFEST}")
    entry = scan_log(store, keys).entry(1)
    assert (view.seal.state, view.seal.sequence, view.seal.sealed_at) == ("sealed", 1, entry.sealed_at)
    assert view.seal.leaf_index == prove_inclusion(store, s.first.key).leaf_index
    assert (view.seal.tree_size, view.seal.root_hash) == (4, entry.root.hex())
    assert view.seal.checkpoint == entry.note and view.seal.checkpoint.splitlines()[1] == "4"
    assert (view.seal.log_head, view.seal.log_problems) == (1, 0)
    assert view.signature.key_ids == ["test-key-1"] and view.signature.judged_at == entry.sealed_at
    assert view.signature.manifest_sha256 == sha256_bytes(manifest)
    assert [(f.path, f.size, f.sha256, f.state) for f in view.files] == [
        ("charts/rows.txt", 9, sha256_bytes(b"396 rows\n"), "ok"),
        ("summary.json", 14, sha256_bytes(b'{"rows": 396}\n'), "ok"),
    ]
    assert view.problems == [] and view.untrusted_elsewhere == 0


def test_as_dict_is_json_and_carries_full_hashes(store, keys, scenario):
    doc = describe_record(store, scenario.first.key, keys).as_dict()
    assert json.loads(json.dumps(doc)) == doc  # plain JSON: datetimes as ISO 8601
    assert doc["format"] == "aimsflow-record-view/1" and doc["verified"] is True
    assert doc["inputs"][0]["sha256"] == sha256_file(scenario.input_file)
    assert len(doc["signature"]["manifest_sha256"]) == 64
    assert doc["period"] == {
        "label": "2026-11-24",
        "start": "2026-11-24T00:00:00+00:00",
        "end": "2026-11-25T00:00:00+00:00",
    }
    assert doc["superseded_by"]["key"] == scenario.passed.key and doc["run"]["map_index"] == 3


def test_the_current_record_lists_what_it_supersedes(store, keys, scenario):
    """The superseded/supersedes pair: the later passing run names both earlier failures (in run
    order), each of which names it back."""
    s = scenario
    snap = read_store(store, keys)
    current = describe_record(store, s.passed.key, keys, snapshot=snap)
    assert current.current and current.superseded_by is None
    assert [(r.key, r.status, r.ran_at) for r in current.supersedes] == [
        (s.first.key, "failed", at(D1)),
        (s.again.key, "failed", at(D1, 5)),
    ]
    for old in (s.first, s.again):
        view = describe_record(store, old.key, keys, snapshot=snap)
        assert not view.current and view.superseded_by.key == s.passed.key and view.supersedes == []
    # A record alone for its check, subject and period supersedes nothing.
    alone = describe_record(store, s.pending.key, keys, snapshot=snap)
    assert alone.current and alone.supersedes == [] and alone.superseded_by is None


def test_nonconformity_links_of_each_record(store, keys, scenario):
    s = scenario
    snap = read_store(store, keys)

    def links(ref):
        return [
            (n.id, n.relation) for n in describe_record(store, ref.key, keys, snapshot=snap).nonconformities
        ]

    assert links(s.first) == [(s.nc_id, "opened")]
    assert links(s.again) == [(s.nc_id, "rerun")]
    assert links(s.passed) == [(s.nc_id, "passing_run")]
    assert links(s.closure) == [(s.nc_id, "closed")]
    assert links(s.pending) == []


def test_a_later_occurrence_attached_to_an_open_nonconformity(store, keys, write):
    first = write(status=Status.failed)
    later = write(day=D2, status=Status.failed)
    snap = read_store(store, keys)
    (nc,) = snap.ledger
    assert [
        (n.id, n.relation, n.status)
        for n in describe_record(store, later.key, keys, snapshot=snap).nonconformities
    ] == [(nc.id, "occurrence", "open")]
    assert describe_record(store, first.key, keys, snapshot=snap).nonconformities[0].relation == "opened"


def test_a_pending_record(store, keys, scenario):
    view = describe_record(store, scenario.pending.key, keys)
    assert (view.seal.state, view.seal.sequence, view.seal.leaf_index, view.seal.checkpoint) == (
        "pending",
        None,
        None,
        None,
    )
    assert view.seal.log_head == 1
    # A pending record's key validity is judged at the reading, not at its own (self-declared) end.
    assert view.signature.judged_at >= view.ended_at


def test_a_record_of_a_later_seal_has_its_place_in_the_whole_log(store, keys, scenario):
    """Leaf indexes count every earlier seal's leaves: the pending record, sealed by a second seal,
    is leaf 4 of a tree of 5 (the first seal took in 4)."""
    seal(store)
    view = describe_record(store, scenario.pending.key, keys)
    entry = scan_log(store, keys).entry(2)
    assert (view.seal.state, view.seal.sequence, view.seal.leaf_index, view.seal.tree_size) == (
        "sealed",
        2,
        4,
        5,
    )
    assert view.seal.leaf_index == prove_inclusion(store, scenario.pending.key).leaf_index
    assert (view.seal.root_hash, view.seal.log_head) == (entry.root.hex(), 2)
    assert view.signature.judged_at == entry.sealed_at


def test_an_error_record_and_an_unmapped_task(store, keys, write):
    ref = write(
        status=Status.error,
        error={"type": "BadInput", "message": "income: 'abc'", "traceback": "", "final_try": False},
    )
    view = describe_record(store, ref.key, keys)
    assert view.error is not None
    assert (view.error.type, view.error.message, view.error.final_try, view.error.traceback) == (
        "BadInput",
        "income: 'abc'",
        False,
        None,
    )
    assert view.run.map_index is None and view.lineage is None


def test_a_command_record(store, keys, write):
    producer = Producer.command_run("acquisition", user="dana")
    ref = write(check="data_provenance/acquisition", producer=producer, user="dana", params={})
    run = describe_record(store, ref.key, keys).run
    assert (run.kind, run.command, run.invocation, run.user) == (
        "command",
        "acquisition",
        producer.invocation,
        "dana",
    )
    assert (run.dag_id, run.run_id, run.task_id, run.try_number, run.run_after, run.params) == (
        None,
        None,
        None,
        None,
        None,
        {},
    )


def test_a_manual_evidence_record_shows_its_document(store, keys, write):
    summary = {
        "title": "AI policy",
        "owner": "ciso@example.com",
        "document": "ai-policy.pdf",
        "document_sha256": "ab" * 32,
        "review_date": "2027-06-30",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        "ai_system": None,
    }
    ref = write(check="manual_evidence/document", dataset=None, summary=summary, controls=("A.2.2",))
    view = describe_record(store, ref.key, keys)
    assert view.document == {k: v for k, v in summary.items() if k != "ai_system"}
    assert view.controls[0].title == "AI policy"


# --- what the view refuses or flags --------------------------------------------------------------


def test_a_forged_record_is_refused_with_the_reason(store, keys, write, forger):
    forged = write(status=Status.passed, signer=forger)
    with pytest.raises(RecordNotTrusted) as exc:
        describe_record(store, forged.key, keys)
    assert exc.value.key == forged.key and exc.value.problem == "signature by key 'test-key-1' does not match"
    assert exc.value.as_dict() == {"record": forged.key, "verified": False, "problem": exc.value.problem}


def test_an_unsigned_record_is_refused(store, keys, write):
    ref = write()
    store.path(f"{ref.key}/{ENVELOPE}").unlink()
    with pytest.raises(RecordNotTrusted, match="no manifest.dsse.json"):
        describe_record(store, ref.key, keys)


def test_an_edited_manifest_is_refused(store, keys, write):
    ref = write()
    path = store.path(f"{ref.key}/{MANIFEST}")
    path.write_text(path.read_text().replace('"passed"', '"warning"', 1))
    with pytest.raises(RecordNotTrusted, match="edited after signing"):
        describe_record(store, ref.key, keys)


def test_files_are_hashed_again(store, keys, write):
    """A signature covers the manifest only: a file changed, removed or added beside it is a problem
    of the view (the signed values are still shown)."""
    ref = write(files={"a.txt": b"one\n", "b.txt": b"two\n"})
    store.path(f"{ref.key}/a.txt").write_bytes(b"ONE\n")  # same size, other content
    store.path(f"{ref.key}/b.txt").unlink()
    store.path(f"{ref.key}/extra.txt").write_bytes(b"x")
    view = describe_record(store, ref.key, keys)
    assert [(f.path, f.size, f.sha256, f.state) for f in view.files] == [
        ("a.txt", 4, sha256_bytes(b"one\n"), "changed"),
        ("b.txt", 4, sha256_bytes(b"two\n"), "missing"),
    ]
    one, two = sha256_bytes(b"one\n"), sha256_bytes(b"two\n")
    assert view.problems == [
        f"file a.txt: changed (the signed manifest lists 4 bytes, SHA-256 {one})",
        f"file b.txt: missing (the signed manifest lists 4 bytes, SHA-256 {two})",
        "file extra.txt: not listed in the signed manifest",
    ]


def test_a_spec_whose_content_is_not_in_the_store(store, keys, scenario):
    blob = f"specs/sha256/{sha256_file(scenario.spec_file)}"
    store.path(blob).unlink()
    (spec,) = describe_record(store, scenario.first.key, keys).specs
    assert spec.stored is False


def test_other_untrusted_folders_are_counted(store, keys, scenario, write, forger):
    write(day=D2, check="bias_assessment/assess", signer=forger)
    view = describe_record(store, scenario.first.key, keys)
    assert view.untrusted_elsewhere == 1 and view.problems == []


def test_a_forged_record_does_not_supersede_a_genuine_one(store, keys, write, forger):
    """Supersession is decided among verified records only: a forged later run does not make the
    genuine record look superseded."""
    genuine = write(status=Status.failed)
    write(status=Status.passed, run_after=at(D1, 9), signer=forger)
    view = describe_record(store, genuine.key, keys)
    assert view.current and view.superseded_by is None and view.supersedes == []


# --- naming a record ------------------------------------------------------------------------------


def test_resolve_accepts_key_folder_and_unique_id(store, keys, scenario):
    snap = read_store(store, keys)
    key = scenario.first.key
    assert resolve_record(snap, key) == key
    assert resolve_record(snap, key + "/") == key
    assert resolve_record(snap, key.removeprefix("records/")) == key
    assert resolve_record(snap, str(store.path(key))) == key
    assert resolve_record(snap, scenario.first.record_id) == key


def test_resolve_an_ambiguous_record_id(store, keys, write):
    """One producer (a task try) writing under two checks gives two folders with one record id."""
    producer = Producer(kind="task", dag_id="d", run_id="r", task_id="t", try_number=1, max_tries=0)
    a = write(check="data_quality/validate", producer=producer)
    b = write(check="bias_assessment/assess", producer=producer)
    assert a.record_id == b.record_id
    snap = read_store(store, keys)
    with pytest.raises(AmbiguousRecord) as exc:
        resolve_record(snap, a.record_id)
    assert exc.value.candidates == sorted([a.key, b.key])
    assert a.key in str(exc.value) and b.key in str(exc.value) and "give the key" in str(exc.value)


def test_resolve_an_unknown_record(store, keys, scenario):
    snap = read_store(store, keys)
    for text in ("nope", "records/2026-11-24/data_quality/validate/validate.try9-000000000000", ""):
        with pytest.raises(UnknownRecord, match="no record"):
            resolve_record(snap, text)
    with pytest.raises(UnknownRecord):
        describe_record(store, "records/2026-11-24/x/y", keys, snapshot=snap)


def test_resolve_finds_folders_that_do_not_verify(store, keys, write, forger):
    """A forged folder is found by its id, so the caller reports it as untrusted, not as unknown."""
    forged = write(signer=forger)
    assert resolve_record(read_store(store, keys), forged.record_id) == forged.key


def test_resolve_a_disposed_record_names_its_tombstone(store, keys, write):
    gone = write()
    tombstone = write(
        check="retention_disposal/tombstone",
        day=D1,
        dataset=None,
        summary={"format": "aimsflow-tombstone/1", "disposed_record": gone.key},
        controls=("7.5.3",),
    )
    shutil.rmtree(store.path(gone.key))
    with pytest.raises(UnknownRecord, match=f"lawfully disposed of \\(tombstone {tombstone.key}\\)"):
        resolve_record(read_store(store, keys), gone.key)


# --- the nonconformity view -----------------------------------------------------------------------


def test_a_closed_nonconformity(store, keys, scenario):
    s = scenario
    view = describe_nonconformity(store, s.nc_id, keys)
    assert (view.id, view.status) == (s.nc_id, "closed")
    assert view.cause == {"check": CHECK, "ai_system": AI, "dataset": DATASET}
    assert view.cause_label == f"{CHECK} [{DATASET}]" and view.check_title == declared_check(CHECK).title
    assert [c.id for c in view.controls] == ["7.5.3", "A.7.4"]
    assert (view.opened_at, view.last_occurrence_at) == (at(D1), at(D1, 5))
    (occ,) = view.occurrences
    assert (occ.period, occ.status, occ.at) == ("2026-11-24", "failed", at(D1))
    assert (occ.record.key, occ.record.state, occ.record.status) == (s.first.key, "verified", "failed")
    assert [(r.key, r.status, r.ran_at) for r in occ.reruns] == [(s.again.key, "failed", at(D1, 5))]
    c = view.closure
    assert c is not None and c.record.key == s.closure.key and c.record.state == "verified"
    assert (c.closed_by, c.root_cause, c.corrective_action) == (
        "carol",
        "null incomes in the export",
        "export fixed and re-run",
    )
    assert c.closed_at.isoformat() == predicate(store, s.closure.key)["ended_at"]
    assert (c.run.dag_id, c.run.task_id, c.run.user) == ("nonconformity_close", "close", "carol")
    assert c.run.run_id == predicate(store, s.closure.key)["producer"]["run_id"]
    assert view.passing_record.key == s.passed.key and view.passing_record.status == "passed"
    assert view.closable is False
    # No reassessment ran: the nonconformity is derived from the records, in no recorded ledger yet.
    assert (view.in_reassessment, view.ledger_record, view.untrusted_folders) == (False, None, 0)
    doc = view.as_dict()
    assert json.loads(json.dumps(doc)) == doc and doc["format"] == "aimsflow-nonconformity-view/1"
    assert doc["closure"]["record"]["key"] == s.closure.key


def test_an_open_nonconformity_with_and_without_a_later_passing_run(store, keys, write):
    failed = write(status=Status.failed)
    snap = read_store(store, keys)
    (nc,) = snap.ledger
    view = describe_nonconformity(store, nc.id, keys, snapshot=snap, closing_statuses=[Status.passed])
    assert (view.status, view.closure, view.passing_record, view.closable) == ("open", None, None, False)
    assert view.occurrences[0].record.key == failed.key and view.occurrences[0].reruns == []
    # A warning later: not a closing status by default (the shipped methodology: passed only) ...
    warned = write(status=Status.warning, run_after=at(D1, 7))
    assert describe_nonconformity(store, nc.id, keys).passing_record is None
    # ... but one when the methodology says so; and a later pass is one.
    view = describe_nonconformity(store, nc.id, keys, closing_statuses=[Status.passed, Status.warning])
    assert view.passing_record.key == warned.key and view.closable
    passed = write(run_after=at(D1, 9))
    view = describe_nonconformity(store, nc.id, keys)
    assert view.passing_record.key == passed.key and view.closable and view.status == "open"


def test_a_recorded_ledger_naming_records_gone_or_untrusted(store, keys, write):
    """A reassessment's ledger keeps a nonconformity whose records are no longer readable: the view
    says which occurrence record is gone from the store and which does not verify (and reads neither)."""
    from aimsflow.results import record_json
    from aimsflow.risk.nonconformity import ledger_document

    first = write(status=Status.failed)
    rerun = write(status=Status.failed, run_after=at(D1, 5))
    ledger = read_store(store, keys).ledger
    reassessment = write(
        check="risk_reassessment/reassess",
        dataset=None,
        dag_id="risk_reassessment",
        task_id="reassess",
        run_after=at(D1, 6),
        controls=("10.2",),
        files={"nonconformities.json": record_json(ledger_document(ledger, at(D1, 6)))},
    )
    shutil.rmtree(store.path(first.key))
    manifest = store.path(f"{rerun.key}/{MANIFEST}")
    manifest.write_text(manifest.read_text().replace('"failed"', '"passed"', 1))
    snap = read_store(store, keys)
    (occ,) = describe_nonconformity(store, ledger[0].id, keys, snapshot=snap).occurrences
    assert (occ.record.key, occ.record.state, occ.record.status, occ.record.run_id) == (
        first.key,
        "absent",
        "failed",
        None,
    )
    assert [(r.key, r.state, r.status) for r in occ.reruns] == [(rerun.key, "untrusted", "failed")]
    view = describe_nonconformity(store, ledger[0].id, keys, snapshot=snap)
    assert (view.in_reassessment, view.ledger_record, view.untrusted_folders) == (True, reassessment.key, 1)
    assert view.controls == []  # no occurrence record verifies: no control is claimed from them


def test_unknown_nonconformity_and_letter_case(store, keys, scenario):
    snap = read_store(store, keys)
    assert describe_nonconformity(store, scenario.nc_id.lower(), keys, snapshot=snap).id == scenario.nc_id
    with pytest.raises(UnknownNonconformity, match=f"latest: {scenario.nc_id}"):
        describe_nonconformity(store, "NC-20990101-000000", keys, snapshot=snap)


def test_a_second_closure_is_refused_and_the_first_stays(store, keys, scenario):
    """Closing is refused once closed: the view keeps the first closure."""
    from aimsflow.risk.job import CLOSE, close_nonconformity
    from tests.conftest import declared

    refused = declared(CLOSE, close_nonconformity)(
        scenario.nc_id, "x", "y", "erin", storage=store, triggered_by="ui"
    )
    assert refused.status == Status.failed
    view = describe_nonconformity(store, scenario.nc_id, keys)
    assert view.closure.closed_by == "carol"


def test_an_occurrence_after_the_closure_opens_a_new_nonconformity(store, keys, scenario, write):
    later = write(day=D2, status=Status.failed, run_after=dt.datetime.now(dt.UTC))
    seal(store)
    snap = read_store(store, keys)
    (link,) = describe_record(store, later.key, keys, snapshot=snap).nonconformities
    assert link.relation == "opened" and link.id != scenario.nc_id and link.status == "open"
    assert describe_nonconformity(store, link.id, keys, snapshot=snap).occurrences[0].record.key == later.key


# --- counterparts in other frameworks (the crosswalk of issue 13) ---------------------------------


class FakeCrosswalk:
    """The crosswalk's interface as the view uses it: links per control, framework and item titles."""

    @dataclass(frozen=True)
    class Link:
        control: str
        framework: str
        item: str
        source: str
        published: bool

    TITLES = {"eu_ai_act": "EU AI Act (Regulation (EU) 2024/1689)", "nist_ai_rmf": "NIST AI RMF 1.0"}
    ITEMS = {"Art. 10": "Data and data governance", "MAP 2.3": "Scientific integrity and TEVV"}

    def of_control(self, control):
        if control != "A.7.4":
            return []
        return [
            self.Link(control, "eu_ai_act", "Art. 10", "own-judgement", False),
            self.Link(control, "nist_ai_rmf", "MAP 2.3", "nist-ai-rmf-42001", True),
        ]

    def title(self, framework):
        return self.TITLES[framework]

    def item_title(self, framework, item):
        return self.ITEMS[item]


def test_controls_carry_their_counterparts_in_other_frameworks(store, keys, scenario):
    snap = read_store(store, keys)
    snap.crosswalk = FakeCrosswalk()
    view = describe_record(store, scenario.first.key, keys, snapshot=snap)
    clause, annex = view.controls
    assert (clause.id, clause.counterparts) == ("7.5.3", [])
    assert [
        (c.framework, c.framework_title, c.item, c.item_title, c.source, c.published)
        for c in annex.counterparts
    ] == [
        (
            "eu_ai_act",
            "EU AI Act (Regulation (EU) 2024/1689)",
            "Art. 10",
            "Data and data governance",
            "own-judgement",
            False,
        ),
        (
            "nist_ai_rmf",
            "NIST AI RMF 1.0",
            "MAP 2.3",
            "Scientific integrity and TEVV",
            "nist-ai-rmf-42001",
            True,
        ),
    ]
    assert view.as_dict()["controls"][1]["counterparts"][0]["item"] == "Art. 10"
    nc = describe_nonconformity(store, scenario.nc_id, keys, snapshot=snap)
    assert [c.item for c in nc.controls[1].counterparts] == ["Art. 10", "MAP 2.3"]


def test_without_the_crosswalk_controls_have_no_counterparts(store, keys, scenario, monkeypatch):
    """Until issue 13's crosswalk is installed the view names ISO/IEC 42001 controls only."""
    import builtins

    real_import = builtins.__import__

    def no_compliance(name, *args, **kwargs):
        if name.startswith("aimsflow.compliance"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_compliance)
    snap = read_store(store, keys)
    assert snap.crosswalk is None
    assert all(
        c.counterparts == [] for c in describe_record(store, scenario.first.key, keys, snapshot=snap).controls
    )
