"""Manual documents in coverage, ingested by the ``manual_evidence`` job itself (so the records are
what the job writes, never a test's idea of them): validity and review date from the summary, the
boundaries of validity, versions superseding each other, duplicates, and ``fresh_until``."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow import settings
from aimsflow.compliance.coverage import Freshness, compute_coverage, fresh_until
from aimsflow.compliance.crosswalk import load_crosswalk
from aimsflow.compliance.soa import load_soa
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import load_verified
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from tests.compliance.conftest import at_noon, config_with, ingest, small_soa
from tests.compliance.test_coverage import CROSSWALK
from tests.manual.conftest import drop, manual_records, run_drops

SOA = small_soa(
    A_2_2={"applicable": True, "justification": "policy", "manual": True, "max_age_days": 365},
    **{"7.5.3": {"applicable": True, "justification": "records", "manual": True, "max_age_days": 365}},
)
FAR = dt.date(2099, 1, 15)
D = dt.date(2026, 11, 10)


def known() -> dt.datetime:
    """When the records the job wrote (now, by the clock) are known: past days are judged with them."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


@pytest.fixture
def cover(inbox, tmp_path):
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    soa, crosswalk = load_soa(folder), load_crosswalk(folder)

    def run(day: dt.date, control: str = "A.2.2"):
        loaded = load_verified(LocalStorage(settings.evidence_root()), TrustedKeys.load())
        return compute_coverage(loaded, soa, crosswalk, (), at_noon(day), known_at=known()).control(control)

    return run


def test_an_ingested_policy_stays_fresh_while_valid_and_before_its_review_date(inbox, tmp_path):
    """Bug (review finding 1): coverage took a document's validity from the record's period, but the
    job's records are dated by the run's hour (PeriodUse.label), so a policy valid 2026-01-01..2027-12-31
    (review 2099) ingested on 2026-11-25 was "stale: valid only until 2026-11-25" from the next day
    on. The validity is the summary's ``valid_from``/``valid_to``."""
    out = run_drops([drop(inbox, "ai-policy.md")])  # tests/manual's GOOD sidecar, a run of 2026-11-25
    assert isinstance(out[0], dict), out
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    loaded = load_verified(LocalStorage(settings.evidence_root()), TrustedKeys.load())
    as_of = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # days after the 11-25 run
    row = compute_coverage(loaded, load_soa(folder), load_crosswalk(folder), (), as_of).control("A.2.2")
    assert row.freshness == Freshness.fresh, f"{row.freshness}: {row.gap}"
    (ev,) = row.evidence
    assert (ev.document.valid_from, ev.document.valid_to) == (dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    # Two years on, its validity has ended (the summary's valid_to, not the day of the run).
    row = compute_coverage(
        loaded, load_soa(folder), load_crosswalk(folder), (), at_noon(dt.date(2028, 1, 1)), known_at=as_of
    ).control("A.2.2")
    assert "'AI policy' valid only until 2027-12-31" in row.gap


def test_valid_to_today_is_fresh_yesterday_is_stale(cover):
    """The last day of validity still counts; the day after it does not."""
    ingest(dt.date(2026, 1, 1), dt.date(2026, 11, 10), FAR, on=dt.date(2026, 1, 5))
    row = cover(dt.date(2026, 11, 10))
    assert row.freshness == Freshness.fresh and row.gap is None
    row = cover(dt.date(2026, 11, 11))
    assert row.freshness == Freshness.stale and row.gap == "'AI policy' valid only until 2026-11-10"


def test_a_document_not_yet_valid_is_not_in_force(cover):
    """Bug (review finding 1): a document ingested before its ``valid_from`` counted as in force.
    ``valid_from`` tomorrow: no document in force (missing); ``valid_from`` today: fresh, 0 days old."""
    key = ingest(dt.date(2026, 11, 10), None, FAR, on=dt.date(2026, 11, 5))
    row = cover(dt.date(2026, 11, 9))
    assert row.freshness == Freshness.missing
    assert row.gap == "no document in force for A.2.2 ('AI policy' is valid only from 2026-11-10)"
    row = cover(dt.date(2026, 11, 10))
    assert (row.freshness, row.age_days, row.gap) == (Freshness.fresh, 0, None)
    assert row.verdict.record == key


def test_an_open_ended_document_is_valid_until_a_newer_version_takes_effect(cover):
    """``valid_to`` null: valid until superseded. A newer version (same ``document_id``) ingested
    before its own ``valid_from`` leaves the current one in force until that day."""
    v1 = ingest(dt.date(2026, 1, 1), None, FAR, on=dt.date(2026, 1, 5))
    assert cover(dt.date(2026, 12, 31)).evidence[0].last_pass.record == v1
    v2 = ingest(dt.date(2027, 1, 1), dt.date(2027, 3, 31), FAR, on=dt.date(2026, 11, 20))
    assert [r.summary["supersedes"] for r in manual_records() if r.key == v2] == [v1]
    row = cover(dt.date(2026, 12, 31))
    assert row.freshness == Freshness.fresh and row.evidence[0].last_pass.record == v1
    assert row.verdict.record == v2  # the latest record ingested is the latest verdict
    row = cover(dt.date(2027, 1, 1))
    assert (row.freshness, row.age_days) == (Freshness.fresh, 0)
    assert row.evidence[0].last_pass.record == v2
    # v1 is open-ended, but superseded: once v2's validity ends, nothing is in force.
    row = cover(dt.date(2027, 4, 1))
    assert row.freshness == Freshness.stale and row.gap == "'AI policy' valid only until 2027-03-31"


def test_a_duplicate_redrop_is_no_new_version(cover):
    """A re-drop of the same document with the same sidecar ingests nothing (``duplicate_of``): it
    evidences clause 7.5.3 only, and even there it is not a document, not a version, not the verdict."""
    content = "# AI policy\n"
    first = ingest(
        dt.date(2026, 1, 1), None, FAR, controls=("A.2.2", "7.5.3"), on=dt.date(2026, 1, 5), content=content
    )
    again = ingest(
        dt.date(2026, 1, 1), None, FAR, controls=("A.2.2", "7.5.3"), on=dt.date(2026, 11, 5), content=content
    )
    (dup,) = [r for r in manual_records() if r.key == again]
    assert dup.summary["duplicate_of"] == first and dup.controls == ["7.5.3"]
    for control in ("A.2.2", "7.5.3"):
        row = cover(dt.date(2026, 11, 10), control)
        assert row.freshness == Freshness.fresh and row.verdict.record == first, control
        assert row.evidence[0].last_pass.record == first and row.age_days == 313


def test_fresh_until_is_the_first_of_max_age_valid_to_and_review_date(cover):
    """OSCAL's ``expires`` reads it: from the summary, and the same day coverage turns stale."""
    ingest(dt.date(2026, 1, 1), dt.date(2026, 11, 10), dt.date(2026, 12, 1), on=dt.date(2026, 1, 5))
    ingest(dt.date(2026, 1, 1), None, dt.date(2026, 12, 1), title="AI roles", on=dt.date(2026, 1, 6))
    ingest(dt.date(2026, 1, 1), None, FAR, title="AI scope", on=dt.date(2026, 1, 7))
    by_title = {r.summary["title"]: r for r in manual_records()}
    assert fresh_until(by_title["AI policy"], 365) == dt.date(2026, 11, 10)  # valid_to
    assert fresh_until(by_title["AI roles"], 365) == dt.date(2026, 12, 1)  # review date
    assert fresh_until(by_title["AI scope"], 365) == dt.date(2027, 1, 1)  # valid_from + max age
    assert fresh_until(by_title["AI scope"], 30) == dt.date(2026, 1, 31)
    # Not the record's period (the run's hour on 2026-01-05).
    assert all(r.period.label.startswith("202601") for r in by_title.values())


def test_a_period_keeps_the_documents_valid_in_it(inbox, tmp_path):
    """``--period`` narrows manual documents by their validity, not by the hour they were ingested."""
    ingest(dt.date(2026, 1, 1), dt.date(2026, 12, 31), FAR, on=dt.date(2026, 1, 5))
    folder = config_with(tmp_path / "config", soa=SOA, crosswalk=CROSSWALK)
    loaded = load_verified(LocalStorage(settings.evidence_root()), TrustedKeys.load())

    def row(period):
        cov = compute_coverage(
            loaded, load_soa(folder), load_crosswalk(folder), (), at_noon(D), period, known_at=known()
        )
        return cov.control("A.2.2")

    assert row(Period.day(D)).freshness == Freshness.fresh
    assert row(Period.days(dt.date(2025, 1, 1), dt.date(2025, 12, 31))).freshness == Freshness.missing
