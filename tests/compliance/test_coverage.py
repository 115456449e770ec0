"""compute_coverage on signed records in a real (temporary) store: freshness at its boundaries,
verdicts, manual documents, nonconformities, the per-framework view, and records it must not count."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from aimsflow.compliance.coverage import Freshness, compute_coverage
from aimsflow.compliance.crosswalk import load_crosswalk
from aimsflow.compliance.soa import load_soa
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.risk.nonconformity import Closure, derive_nonconformities
from tests.compliance.conftest import at_noon, config_with, ingest, small_soa
from tests.manual.conftest import manual_records

DQ = "data_quality/validate"
MANUAL = "manual_evidence/document"
D = dt.date(2026, 11, 10)

SOA = small_soa(
    A_7_4={"applicable": True, "justification": "data", "checks": [DQ], "max_age_days": 7},
    A_2_2={"applicable": True, "justification": "policy", "manual": True, "max_age_days": 365},
    A_7_5={
        "applicable": True,
        "justification": "provenance",
        "checks": ["data_preparation/*", {"check": "data_provenance/version", "max_age_days": 3}],
        "max_age_days": 7,
    },
    **{
        "7.5.3": {
            "applicable": True,
            "justification": "records",
            "checks": ["evidence_seal/verify"],
            "max_age_days": 2,
        }
    },
)
CROSSWALK = {
    "version": 1,
    "sources": {"own": {"kind": "own_judgement", "title": "own judgement"}},
    "frameworks": {
        "eu_ai_act": {
            "title": "EU AI Act",
            "items": {
                "Art. 4": "AI literacy",
                "Art. 10": "Data and data governance",
                "Art. 12": "Record-keeping",
            },
        },
    },
    "mappings": {
        "A.7.4": [{"framework": "eu_ai_act", "items": ["Art. 10"], "source": "own"}],
        "A.2.2": [{"framework": "eu_ai_act", "items": ["Art. 10"], "source": "own"}],
        "A.4.6": [{"framework": "eu_ai_act", "items": ["Art. 4"], "source": "own"}],
        "7.5.3": [{"framework": "eu_ai_act", "items": ["Art. 12"], "source": "own"}],
    },
}


@pytest.fixture
def config(tmp_path):
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    return load_soa(folder), load_crosswalk(folder)


@pytest.fixture
def cover(store, config):
    soa, crosswalk = config

    def run(as_of: dt.datetime, ledger=(), period=None, known_at=None):
        loaded = load_verified(store, TrustedKeys.load())
        return compute_coverage(loaded, soa, crosswalk, ledger, as_of, period, known_at)

    return run


def ended(day: dt.date, hours: int = 2) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(days=1, hours=hours)


def dq(write, day, status=Status.passed, **kw):
    return write(DQ, day, status, controls=("A.7.4",), ended_at=ended(day), **kw)


def known() -> dt.datetime:
    """When documents ingested by the job (now, by the clock) are known: judge past days with them."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


def test_age_exactly_max_age_days_is_fresh_one_more_day_is_stale(write, cover):
    rec = dq(write, D)
    row = cover(at_noon(D + dt.timedelta(days=7))).control("A.7.4")
    assert (row.freshness, row.age_days, row.gap) == (Freshness.fresh, 7, None)
    assert row.verdict.status == "passed" and row.verdict.record == rec.key
    row = cover(at_noon(D + dt.timedelta(days=8))).control("A.7.4")
    assert (row.freshness, row.age_days) == (Freshness.stale, 8)
    assert row.gap == "no passing data_quality/validate record since 2026-11-10 (8 days, max 7)"
    # The moment within the day does not matter: the last instant of day 7 is still day 7.
    late = dt.datetime(2026, 11, 17, 23, 59, 59, tzinfo=dt.UTC)
    assert cover(late).control("A.7.4").freshness == Freshness.fresh


def test_a_control_with_no_record_is_missing(cover):
    row = cover(at_noon(D)).control("A.7.4")
    assert row.freshness == Freshness.missing and row.verdict is None and row.age_days is None
    assert row.gap == "no passing data_quality/validate record naming A.7.4"


def test_a_failed_latest_verdict_is_a_gap_even_while_fresh(write, cover):
    dq(write, D - dt.timedelta(days=1))
    failed = dq(write, D, Status.failed)
    row = cover(at_noon(D + dt.timedelta(days=1))).control("A.7.4")
    assert row.freshness == Freshness.fresh and row.age_days == 2  # the last pass was the day before
    assert row.verdict.status == "failed" and row.verdict.record == failed.key
    assert row.gap == "latest data_quality/validate verdict failed (2026-11-10)"


def test_only_failures_is_missing_with_the_latest_verdict(write, cover):
    dq(write, D, Status.error)
    row = cover(at_noon(D + dt.timedelta(days=1))).control("A.7.4")
    assert row.freshness == Freshness.missing and row.verdict.status == "error"
    assert row.gap == "no passing data_quality/validate record naming A.7.4 (latest: error, 2026-11-10)"


def test_the_worst_record_of_the_latest_day_is_the_verdict(write, cover):
    """Several datasets a day: one failing is the day's verdict."""
    dq(write, D, dataset="loan_applications_clean", run_id="clean")
    raw = dq(write, D, Status.warning, dataset="loan_applications_raw", run_id="raw")
    row = cover(at_noon(D + dt.timedelta(days=1))).control("A.7.4")
    assert row.verdict.record == raw.key and row.verdict.status == "warning" and row.gap is None


def test_a_passing_rerun_supersedes_the_failure_of_its_day(write, cover):
    dq(write, D, Status.failed, try_number=1)
    rerun = dq(write, D, Status.passed, try_number=2)
    row = cover(at_noon(D + dt.timedelta(days=1))).control("A.7.4")
    assert row.verdict.record == rerun.key and row.gap is None


def test_a_record_that_names_another_control_does_not_count(write, cover):
    write(DQ, D, controls=("A.6.2.6",), ended_at=ended(D))
    assert cover(at_noon(D + dt.timedelta(days=1))).control("A.7.4").freshness == Freshness.missing


def test_a_forged_record_is_not_counted(write, forger, cover):
    dq(write, D - dt.timedelta(days=10))
    forged = dq(write, D, signer=forger)
    cov = cover(at_noon(D + dt.timedelta(days=1)))
    row = cov.control("A.7.4")
    assert row.freshness == Freshness.stale and row.verdict.record != forged.key
    assert [u.key for u in cov.rejected] == [forged.key] and not cov.ok
    assert cov.as_dict()["untrusted_records"][0]["record"] == forged.key


def test_a_record_written_after_as_of_is_not_counted(write, cover):
    """Coverage as of a past moment is what was known then: a later catch-up run does not count."""
    write(DQ, D, controls=("A.7.4",), ended_at=ended(D, hours=30))
    assert cover(ended(D, hours=29)).control("A.7.4").freshness == Freshness.missing
    assert cover(ended(D, hours=30)).control("A.7.4").freshness == Freshness.fresh


def test_period_narrows_the_records(write, cover):
    dq(write, D)
    as_of = at_noon(D + dt.timedelta(days=20))
    assert (
        cover(as_of, period=Period.day(D + dt.timedelta(days=1))).control("A.7.4").freshness
        == Freshness.missing
    )
    assert cover(as_of, period=Period.days(D, D)).control("A.7.4").verdict is not None


def test_every_listed_check_must_be_fresh_a_glob_by_any_check(write, cover):
    write("data_preparation/clean", D, controls=("A.7.5",), ended_at=ended(D))
    write("data_provenance/version", D - dt.timedelta(days=2), controls=("A.7.5",), ended_at=ended(D))
    row = cover(at_noon(D + dt.timedelta(days=2))).control("A.7.5")
    prep, version = row.evidence
    assert (prep.freshness, prep.age_days) == (Freshness.fresh, 2)
    assert (version.freshness, version.age_days, version.max_age_days) == (Freshness.stale, 4, 3)
    assert row.freshness == Freshness.stale and row.age_days == 4
    assert row.gap == "no passing data_provenance/version record since 2026-11-08 (4 days, max 3)"


def test_review_date_today_is_fresh_yesterday_is_stale(inbox, cover):
    ingest(dt.date(2026, 1, 1), dt.date(2026, 12, 31), review_date=D)
    row = cover(at_noon(D), known_at=known()).control("A.2.2")
    assert row.freshness == Freshness.fresh and row.gap is None
    (ev,) = row.evidence
    assert ev.document.title == "AI policy" and ev.document.review_date == D and ev.age_days == 313
    row = cover(at_noon(D + dt.timedelta(days=1)), known_at=known()).control("A.2.2")
    assert row.freshness == Freshness.stale
    assert row.gap == "'AI policy' past its review date 2026-11-10"


def test_a_document_older_than_its_max_age_or_expired_is_stale(inbox, cover):
    ingest(dt.date(2025, 10, 1), dt.date(2026, 12, 31), review_date=dt.date(2027, 1, 1))
    row = cover(at_noon(dt.date(2026, 10, 1)), known_at=known()).control("A.2.2")
    assert row.freshness == Freshness.fresh and row.age_days == 365
    row = cover(at_noon(dt.date(2026, 10, 2)), known_at=known()).control("A.2.2")
    assert row.gap == "'AI policy' is 366 days old (max 365)"
    row = cover(at_noon(dt.date(2027, 1, 1)), known_at=known()).control("A.2.2")
    assert "'AI policy' valid only until 2026-12-31" in row.gap


def test_the_freshest_document_counts_and_none_is_missing(inbox, cover):
    assert cover(at_noon(D)).control("A.2.2").gap == "no document ingested for A.2.2"
    ingest(dt.date(2025, 1, 1), dt.date(2025, 12, 31), review_date=dt.date(2025, 12, 1), title="old")
    new = ingest(dt.date(2026, 1, 1), dt.date(2026, 12, 31), review_date=dt.date(2026, 12, 1), title="new")
    row = cover(at_noon(D), known_at=known()).control("A.2.2")
    assert row.freshness == Freshness.fresh and row.verdict.record == new and row.gap is None
    # Two documents (not versions of one): the fresh one counts, whichever was ingested last.
    ingest(dt.date(2024, 1, 1), dt.date(2024, 12, 31), review_date=dt.date(2024, 12, 1), title="older")
    row = cover(at_noon(D), known_at=known()).control("A.2.2")
    assert row.freshness == Freshness.fresh and row.evidence[0].document.title == "new"
    # A document naming other controls is no evidence for this one.
    assert cover(at_noon(D), known_at=known()).control("A.7.4").freshness == Freshness.missing


def test_an_excluded_control_is_excluded_whatever_names_it(write, cover):
    write(DQ, D, controls=("A.7.4", "A.6.2.6"), ended_at=ended(D))
    row = cover(at_noon(D)).control("A.6.2.6")
    assert (row.applicable, row.freshness, row.verdict, row.gap) == (False, Freshness.excluded, None, None)
    assert row.justification == "not in the test's scope"


def test_open_nonconformities_touch_the_controls_their_records_name(write, store, cover):
    dq(write, D, Status.failed)
    dq(write, D + dt.timedelta(days=1))
    loaded = load_verified(store, TrustedKeys.load())
    ledger, _ = derive_nonconformities([], loaded.records, frozenset())
    (nc,) = ledger
    as_of = at_noon(D + dt.timedelta(days=2))
    row = cover(as_of, ledger).control("A.7.4")
    assert [n.id for n in row.nonconformities] == [nc.id] and row.freshness == Freshness.fresh
    assert row.gap == f"1 open nonconformity: {nc.id}"
    assert cover(as_of, ledger).control("A.2.2").nonconformities == ()
    # Closed before as_of: no longer open; closed after it: still open at as_of.
    nc.closure = Closure("records/x", as_of - dt.timedelta(hours=1), "alice", "cause", "fix", "records/y")
    assert cover(as_of, ledger).control("A.7.4").nonconformities == ()
    nc.closure = Closure("records/x", as_of + dt.timedelta(hours=1), "alice", "cause", "fix", "records/y")
    assert len(cover(as_of, ledger).control("A.7.4").nonconformities) == 1


def test_a_framework_item_aggregates_the_controls_mapped_to_it(write, inbox, cover):
    dq(write, D, Status.failed)
    ingest(dt.date(2026, 1, 1), dt.date(2026, 12, 31), review_date=dt.date(2026, 12, 1))
    cov = cover(at_noon(D + dt.timedelta(days=1)), known_at=known())
    rows = {r.item: r for r in cov.by_framework("eu_ai_act")}
    assert list(rows) == ["Art. 4", "Art. 10", "Art. 12"]  # the framework's order
    art10 = rows["Art. 10"]
    assert art10.controls == ("A.2.2", "A.7.4") and art10.title == "Data and data governance"
    assert (art10.freshness, art10.verdict, art10.gaps) == (Freshness.missing, "failed", ("A.7.4",))
    assert rows["Art. 4"].freshness == Freshness.excluded and not rows["Art. 4"].applicable
    assert rows["Art. 12"].freshness == Freshness.missing and rows["Art. 12"].gaps == ("7.5.3",)
    base = {r.item: r for r in cov.by_framework("iso42001")}
    assert len(base) == 39 and base["A.7.4"].verdict == "failed"  # 38 Annex A + the clause listed
    with pytest.raises(KeyError, match="unknown framework"):
        cov.by_framework("nist_ai_rmf")


def test_no_record_is_counted_twice_across_frameworks(write, cover):
    """One record, several frameworks: every view reads the same ISO row."""
    rec = dq(write, D)
    cov = cover(at_noon(D + dt.timedelta(days=1)))
    assert cov.control("A.7.4").verdict.record == rec.key
    assert {r.item for r in cov.by_framework("eu_ai_act") if "A.7.4" in r.controls} == {"Art. 10"}


def test_as_dict_is_json_and_carries_the_numbers(write, cover):
    dq(write, D)
    cov = cover(at_noon(D + dt.timedelta(days=1)))
    doc = json.loads(json.dumps(cov.as_dict()))
    assert doc["summary"] == {
        "annex_a": 38,
        "applicable": 3,
        "excluded": 35,
        "manual": 1,
        "job_evidenced": 2,
        "fresh": 1,
        "stale": 0,
        "missing": 2,
        "failing": 0,
        "with_open_nonconformities": 0,
        "with_gaps": 2,
    }
    a74 = next(c for c in doc["controls"] if c["id"] == "A.7.4")
    assert a74["freshness"] == "fresh" and a74["verdict"]["status"] == "passed" and a74["age_days"] == 1
    assert set(doc["frameworks"]) == {"iso42001", "eu_ai_act"} and doc["ok"] is False
    assert set(cov.as_dict(frameworks=["eu_ai_act"])["frameworks"]) == {"eu_ai_act"}


def test_the_shipped_soa_and_crosswalk_compute(store):
    cov = compute_coverage(
        load_verified(store, TrustedKeys.load()), load_soa(), load_crosswalk(), [], at_noon(D)
    )
    summary = cov.summary()
    assert summary["applicable"] == 37 and summary["missing"] == 37 and summary["excluded"] == 1
    for name in cov.frameworks:
        assert cov.by_framework(name), name


def test_a_broken_ingestion_is_no_verdict_on_the_documents(inbox, cover):
    """An ``error`` record of the manual evidence job (a bad sidecar) may name the controls of the
    document it refused: it is no verdict on this control's document, which stays fresh."""
    good = ingest(dt.date(2026, 1, 1), dt.date(2026, 12, 31), review_date=dt.date(2026, 12, 1))
    with pytest.raises(Exception, match="refused"):  # review date before the validity starts
        ingest(
            dt.date(2026, 2, 1),
            None,
            review_date=dt.date(2026, 1, 15),
            controls=("A.2.2", "A.7.4"),
            title="AI policy draft",
        )
    (refused,) = manual_records(status=Status.error)
    assert refused.controls == ["A.2.2", "A.7.4"]
    cov = cover(at_noon(D), known_at=known())
    errors = [v for c in ("A.2.2", "A.7.4") if (v := cov.control(c).verdict) and v.status == "error"]
    assert errors == []
    row = cov.control("A.2.2")
    assert row.freshness == Freshness.fresh and row.verdict.record == good and row.gap is None
