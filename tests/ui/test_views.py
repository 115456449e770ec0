"""The view models of the evidence pages, on a small store (tests/ui/conftest.py), without a server."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.ui import pages, views
from tests.conftest import PROJECT
from tests.ui.conftest import OTHER_RUN, RUN, edit, symlink


@pytest.fixture
def evidence(store):
    return views.read_evidence()


def keys_of(rows) -> set[str]:
    return {row.key for row in rows}


# --- the record list ---------------------------------------------------------------------------------


def test_list_shows_current_verdicts_and_counts_them(store, evidence):
    view = views.record_list(evidence, views.parse_filters({}))
    # v1's first try is superseded by its retry; the forged folder is no evidence at all.
    expected = {store.key(n) for n in ("v0", "v1_try2", "profile", "assess", "acquisition")}
    assert keys_of(view.rows) == expected
    assert view.matching == 5 and view.total_verified == 6
    assert view.counts == {"passed": 3, "warning": 1, "failed": 0, "error": 1}
    assert [u.key for u in view.untrusted] == [store.forged]


def test_history_includes_the_superseded_try(store, evidence):
    view = views.record_list(evidence, views.parse_filters({"history": "1"}))
    assert store.key("v1_try1") in keys_of(view.rows)
    assert view.counts["failed"] == 1 and view.matching == 6
    superseded = [row for row in view.rows if row.superseded]
    assert [row.key for row in superseded] == [store.key("v1_try1")]


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"status": "warning"}, {"profile"}),
        ({"control": "a.5.4"}, {"assess"}),  # letter case as people type it
        ({"dag": "data_quality"}, {"v0", "v1_try2", "profile"}),
        ({"check": "data_quality"}, {"v0", "v1_try2", "profile"}),
        ({"ai_system": "loan_approval", "dataset": "loan_training_set"}, {"v1_try2", "assess"}),
        ({"period": "2026-11-20"}, {"assess"}),
        ({"period": "2026-11"}, {"v0", "v1_try2", "profile", "assess", "acquisition"}),
        ({"period": "2026-10"}, set()),
        ({"dag": "no_such_dag"}, set()),
    ],
)
def test_filters(store, evidence, params, names):
    view = views.record_list(evidence, views.parse_filters(params))
    assert keys_of(view.rows) == {store.key(n) for n in names}
    assert view.matching == len(names)


def test_the_status_filter_keeps_the_counts_of_every_status(store, evidence):
    """The status cards switch between statuses: filtering by one leaves the others' counts shown."""
    view = views.record_list(evidence, views.parse_filters({"status": "error", "dag": "bias_assessment"}))
    assert keys_of(view.rows) == {store.key("assess")}
    assert view.counts == {"passed": 0, "warning": 0, "failed": 0, "error": 1}
    view = views.record_list(evidence, views.parse_filters({"status": "warning"}))
    assert view.matching == 1 and view.counts == {"passed": 3, "warning": 1, "failed": 0, "error": 1}


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"status": "broken"}, "status='broken'"),
        ({"control": "A.99"}, "unknown control id 'A.99'"),
        ({"period": "November"}, "period='November'"),
        ({"page": "0"}, "page='0'"),
        ({"page": "x"}, "page='x'"),
    ],
)
def test_bad_filters_are_refused_with_the_parameter_named(params, says):
    with pytest.raises(views.BadRequest, match=re.escape(says)):
        views.parse_filters(params)


def test_blank_filters_are_unset():
    assert views.parse_filters({"status": "", "control": "  ", "period": ""}) == views.Filters()


def test_pages_split_the_list_and_a_page_past_the_end_is_not_found(store, evidence):
    first = views.record_list(evidence, views.parse_filters({"history": "1"}), page_size=4)
    second = views.record_list(evidence, views.parse_filters({"history": "1", "page": "2"}), page_size=4)
    assert (first.pages, len(first.rows), len(second.rows)) == (2, 4, 2)
    assert keys_of(first.rows).isdisjoint(keys_of(second.rows))
    assert first.counts == second.counts  # counts cover every page
    with pytest.raises(views.NotFound):
        views.record_list(evidence, views.parse_filters({"page": "3"}), page_size=4)


def test_filter_options_come_from_the_verified_records(store, evidence):
    options = views.filter_options(evidence)
    assert options["dag"] == ["bias_assessment", "data_quality"]
    assert options["control"] == ["A.5.4", "A.6.2.6", "A.7.3", "A.7.4"]
    assert options["period"] == ["2026-11-20", "2026-11-19"]


def test_restricted_hides_the_records_of_dags_the_user_may_not_read(store, evidence):
    seen = []

    def can_read(dag: str) -> bool:
        seen.append(dag)
        return dag != "data_quality"

    mine = views.restricted(evidence, can_read)
    assert {r.key for r in mine.records} == {store.key("assess"), store.key("acquisition")}
    # A command record belongs to the DAG its check id names (data_provenance); asked once per DAG.
    assert sorted(seen) == ["bias_assessment", "data_provenance", "data_quality"]
    assert mine.untrusted == []  # the forged folder sits under data_quality
    assert len(evidence.records) == 6  # the original read is untouched


# --- one record ---------------------------------------------------------------------------------------


def test_detail_of_a_sealed_record_with_files_and_a_proof_that_checks_offline(store, evidence, tmp_path):
    detail = views.record_detail(evidence, store.key("v0"))
    assert isinstance(detail, views.RecordDetail)
    assert detail.verified and [f.path for f in detail.files] == ["report/page.html", "summary.json"]
    assert detail.key_ids == ["test-key-1"]
    assert detail.row.sealed_in == 1 and detail.proof.available
    assert detail.proof.tree_size == 4 and detail.proof.seal == 1
    assert json.loads(detail.manifest_text)["predicate"]["record_id"] == detail.row.record_id
    # The proof document is what `aimsflow evidence prove --json` prints: the stdlib checker accepts it.
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(views.proof_document(evidence, store.key("v0"))))
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(views.download(evidence, store.key("v0"), "manifest.json").content)
    checked = subprocess.run(
        [sys.executable, "-I", str(PROJECT / "scripts" / "verify_inclusion.py"), str(proof), str(manifest)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_a_pending_record_has_no_proof_and_says_why(store, evidence):
    detail = views.record_detail(evidence, store.key("assess"))
    assert not detail.proof.available and detail.proof.reason.startswith("pending")
    with pytest.raises(views.NotFound, match="pending"):
        views.proof_document(evidence, store.key("assess"))


def test_a_forged_folder_is_shown_as_untrusted_never_as_evidence(store, evidence):
    detail = views.record_detail(evidence, store.forged)
    assert isinstance(detail, views.UntrustedDetail)
    assert "intruder" in detail.problem
    for call in (
        lambda: views.download(evidence, store.forged, "summary.json"),
        lambda: views.download(evidence, store.forged, "manifest.json"),
        lambda: views.proof_document(evidence, store.forged),
    ):
        with pytest.raises(views.NotFound):
            call()
    assert views.run_evidence(evidence, "data_quality", RUN).untrusted[0].key == store.forged


@pytest.mark.parametrize(
    "key",
    [
        "records/2026-11-19/data_quality/validate/nope",
        "records/2026-11-19/data_quality/validate/../../../../keys",
        "../witness/witness.json",
        "/etc/passwd",
        "records/%2e%2e/%2e%2e/etc",
        "",
    ],
)
def test_unknown_and_traversing_keys_are_not_found(store, evidence, key):
    with pytest.raises(views.NotFound):
        views.record_detail(evidence, key)
    with pytest.raises(views.NotFound):
        views.download(evidence, key, "summary.json")


@pytest.mark.parametrize(
    "name", ["nope.json", "../manifest.json", "report/../summary.json", "/etc/passwd", "report", "."]
)
def test_a_file_the_manifest_does_not_list_is_not_found(store, evidence, name):
    with pytest.raises(views.NotFound):
        views.download(evidence, store.key("v0"), name)


def test_downloads_are_the_signed_bytes(store, evidence):
    got = views.download(evidence, store.key("v0"), "report/page.html")
    assert (got.content, got.filename, got.media_type) == (b"<p>ok", "page.html", "text/html")
    manifest = views.download(evidence, store.key("v0"), "manifest.json")
    envelope = views.download(evidence, store.key("v0"), "manifest.dsse.json")
    folder = store.root / "evidence" / store.key("v0")
    assert manifest.content == (folder / "manifest.json").read_bytes()
    assert envelope.content == (folder / "manifest.dsse.json").read_bytes()


def test_an_edited_file_is_reported_and_not_served(store, evidence):
    edit(store, "v0", "summary.json", b'{"rows": 1}\n')
    detail = views.record_detail(evidence, store.key("v0"))
    assert not detail.verified
    assert [(f.path, f.ok) for f in detail.files] == [("report/page.html", True), ("summary.json", False)]
    with pytest.raises(UntrustedRecord, match="differs from the SHA-256"):
        views.download(evidence, store.key("v0"), "summary.json")
    run = views.run_evidence(evidence, "data_quality", RUN, "validate", 0)
    assert [r.verified for r in run.records] == [False] and "summary.json" in run.records[0].problems[0]


def test_a_symlinked_file_is_not_served_even_with_the_signed_content(store, evidence, tmp_path):
    """A record file replaced by a link to a file with the very same bytes still hashes right: the
    link itself is refused, so the store's files are the only ones ever read."""
    outside = tmp_path / "outside.json"
    outside.write_bytes(b'{"rows": 396}\n')
    symlink(store, "v0", "summary.json", outside)
    with pytest.raises(UntrustedRecord, match="symbolic link"):
        views.download(evidence, store.key("v0"), "summary.json")
    assert not views.record_detail(evidence, store.key("v0")).verified


def test_a_symlinked_record_folder_is_not_served(store, evidence, tmp_path):
    folder = store.root / "evidence" / store.key("v0")
    moved = tmp_path / "moved"
    folder.rename(moved)
    folder.symlink_to(moved)
    with pytest.raises(UntrustedRecord, match="symbolic link"):
        views.download(evidence, store.key("v0"), "summary.json")
    with pytest.raises(UntrustedRecord, match="symbolic link"):
        views.download(evidence, store.key("v0"), "manifest.json")


# --- the records of a run or a task -----------------------------------------------------------------------


def test_run_evidence_lists_every_try_of_the_run_in_the_order_they_ran_and_verifies_each(store, evidence):
    run = views.run_evidence(evidence, "data_quality", RUN)
    assert [(r.row.task_id, r.row.map_index, r.row.try_number) for r in run.records] == [
        ("validate", 0, 1),
        ("validate", 1, 1),
        ("validate", 1, 2),
        ("profile", -1, 1),
    ]
    assert run.counts == {"passed": 2, "warning": 1, "failed": 1, "error": 0}
    assert run.verified_count == 4
    assert [r.row.superseded for r in run.records] == [False, True, False, False]


def test_task_evidence_narrows_to_the_task_and_map_index(store, evidence):
    task = views.run_evidence(evidence, "data_quality", RUN, "validate", 1)
    assert [r.row.key for r in task.records] == [store.key("v1_try1"), store.key("v1_try2")]
    assert task.untrusted == []  # the forged folder claims map index 0
    every_index = views.run_evidence(evidence, "data_quality", RUN, "validate", None)
    assert len(every_index.records) == 3 and [u.key for u in every_index.untrusted] == [store.forged]


def test_a_run_without_records_is_empty_not_an_error(store, evidence):
    assert views.run_evidence(evidence, "data_quality", OTHER_RUN).records == []
    assert views.run_evidence(evidence, "no_such_dag", "x").counts == {
        "passed": 0,
        "warning": 0,
        "failed": 0,
        "error": 0,
    }


@pytest.mark.parametrize(("text", "index"), [("", None), ("{MAP_INDEX}", None), ("-1", -1), ("3", 3)])
def test_map_index_from_the_airflow_link(text, index):
    """The Airflow UI leaves ``{MAP_INDEX}`` in the link of an unmapped task's page."""
    assert views.parse_map_index(text) == index


def test_a_map_index_that_is_no_number_is_a_bad_request():
    with pytest.raises(views.BadRequest, match="map_index='x'"):
        views.parse_map_index("x")


# --- the overview ------------------------------------------------------------------------------------------


def test_overview_counts_current_verdicts_and_lists_what_did_not_pass(store, evidence):
    view = views.overview(evidence)
    assert (view.total, view.current_total, view.pending, view.latest_seal) == (6, 5, 2, 1)
    assert view.current == {"passed": 3, "warning": 1, "failed": 0, "error": 1}
    assert [row.key for row in view.attention] == [store.key("assess"), store.key("profile")]


def test_an_empty_store_reads_as_empty(aims_env):
    evidence = views.read_evidence()
    assert views.overview(evidence).total == 0
    assert views.record_list(evidence, views.Filters()).rows == []
    html = pages.compliance_page(evidence, views.overview(evidence))
    assert "No verified evidence in the store yet" in html


# --- the pages ---------------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"""(?:href|src|action)\s*=\s*["']([^"']*)["']""", re.I)


def all_pages(store, evidence) -> dict[str, str]:
    return {
        "compliance": pages.compliance_page(evidence, views.overview(evidence)),
        "records": pages.records_page(
            evidence, views.record_list(evidence, views.parse_filters({"history": "1"}))
        ),
        "record": pages.record_page(evidence, views.record_detail(evidence, store.key("v0"))),
        "pending": pages.record_page(evidence, views.record_detail(evidence, store.key("assess"))),
        "untrusted": pages.record_page(evidence, views.record_detail(evidence, store.forged)),
        "run": pages.run_page(evidence, views.run_evidence(evidence, "data_quality", RUN)),
        "error": pages.error_page(404, "Not found", "no record"),
    }


def test_pages_load_nothing_and_link_relatively(store, evidence):
    """Served in an iframe under the API server's prefix, offline: no script, no absolute link."""
    for name, html in all_pages(store, evidence).items():
        assert "<script" not in html.lower(), name
        for ref in _REFERENCE.findall(html):
            assert not ref.startswith(("/", "http:", "https:", "//")), f"{name}: {ref}"
        assert "@import" not in html and "url(" not in html, name


def test_pages_show_the_numbers_of_the_view(store, evidence):
    html = all_pages(store, evidence)
    assert re.findall(r'data-status="(\w+)">(\d+)<', html["compliance"]) == [
        ("passed", "3"),
        ("warning", "1"),
        ("failed", "0"),
        ("error", "1"),
    ]
    assert html["records"].count("<tr data-status=") == 6
    assert html["run"].count('data-verified="yes"') == 4
    assert "does not verify" in html["compliance"] and store.forged in html["compliance"]
    assert "No proof: pending" in html["pending"]
    assert "intruder" in html["untrusted"] and "summary.json" not in html["untrusted"]


def test_values_from_records_are_escaped(aims_env):
    from aimsflow import settings
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.results import Status
    from tests.ui.records import write

    storage = LocalStorage(settings.evidence_root())
    ref = write(
        storage,
        Signer.from_settings(),
        check="data_quality/validate",
        status=Status.failed,
        controls=("A.7.4",),
        dag_id="data_quality",
        run_id="r",
        task_id="t",
        message='<script>alert("x")</script>',
    )
    evidence = views.read_evidence()
    for html in (
        pages.records_page(evidence, views.record_list(evidence, views.Filters())),
        pages.record_page(evidence, views.record_detail(evidence, ref.key)),
    ):
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_secret_that_reached_a_record_is_not_shown(aims_env, monkeypatch):
    """Records are redacted when written; one that slipped a configured secret through (here written
    past the redaction) still never shows it on a page."""
    from aimsflow import settings
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.results import Status
    from tests.ui.records import write

    secret = settings.signing_key_b64()
    assert secret and len(secret) > 20
    storage = LocalStorage(settings.evidence_root())
    ref = write(
        storage,
        Signer.from_settings(),
        check="data_quality/validate",
        status=Status.error,
        controls=("A.7.4",),
        dag_id="data_quality",
        run_id="r",
        task_id="t",
        message=f"connection failed with key {secret}",
    )
    evidence = views.read_evidence()
    detail = views.record_detail(evidence, ref.key)
    assert secret not in detail.manifest_text and detail.masked
    for html in (
        pages.record_page(evidence, detail),
        pages.records_page(evidence, views.record_list(evidence, views.Filters())),
        pages.run_page(evidence, views.run_evidence(evidence, "data_quality", "r")),
    ):
        assert secret not in html and "***" in html
