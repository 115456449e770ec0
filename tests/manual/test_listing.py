"""Which manual evidence record counts: one verdict per document, not per run."""

from __future__ import annotations

from aimsflow.evidence.listing import filter_records
from tests.manual.conftest import GOOD, drop, manual_records, run_drops


def test_two_documents_ingested_in_one_run_are_both_current(inbox):
    """Regression: the verdict key was (check, subject, period), so of two documents of one hourly run
    (same check, no AI system, same period) the later superseded the earlier, and `evidence list`
    hid the AI policy behind the roles document."""
    run_drops(
        [
            drop(inbox, "policy.md", b"policy", GOOD),
            drop(
                inbox,
                "roles.md",
                b"roles",
                GOOD.replace("AI policy", "AI roles").replace("[A.2.2, A.2.4]", "[A.3.2]"),
            ),
        ]
    )
    records = manual_records()
    assert len(records) == 2 and not any(r.superseded for r in records)
    assert [r.summary["document"] for r in filter_records(records, control="A.2.2")] == ["policy.md"]


def test_a_newer_version_in_the_same_period_supersedes_the_earlier(inbox):
    run_drops([drop(inbox, "policy-v1.md", b"v1", GOOD)], hour=10)
    run_drops([drop(inbox, "policy-v2.md", b"v2", GOOD)], hour=10, try_number=2)  # same hour: same period
    records = sorted(manual_records(), key=lambda r: r.started_at)
    assert [r.superseded for r in records] == [True, False]
    assert records[1].summary["supersedes"] == records[0].key


def test_two_bad_drops_of_one_run_are_both_current_errors(inbox):
    """Regression (seen in a run by hand): a lone file's error record and a bad sidecar's, both
    without a document id, shared one verdict key, so `evidence list --status error` showed one."""
    (inbox / "README.txt").write_text("notes")
    from aimsflow.manual.job import scan_drops

    drop(inbox, "model-card.pdf", b"%PDF", GOOD.replace("A.2.4", "A.6.2.9"))
    run_drops(scan_drops(settle_minutes=0))
    errors = filter_records(manual_records(), status="error")
    assert sorted(r.summary["document_id"] for r in errors) == ["aims/ai-policy", "inbox/README.txt"]


def test_a_fixed_drop_in_the_same_period_supersedes_its_error(inbox):
    run_drops([drop(inbox, "policy.md", b"p", GOOD.replace("A.2.4", "A.2.44"))], hour=10)
    run_drops([drop(inbox, "policy.md", b"p", GOOD)], hour=10, try_number=2)
    error, passed = sorted(manual_records(), key=lambda r: r.started_at)
    assert (str(error.status), error.superseded) == ("error", True) and not passed.superseded
