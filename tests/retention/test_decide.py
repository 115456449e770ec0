"""The retention decision: expiry at the boundary, each anchor, holds of each scope, errors, protection."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from aimsflow.retention.decide import Outcome, Rules, decide
from aimsflow.retention.objects import Candidate, Kind
from aimsflow.retention.policy import EVIDENCE_CLASS, CountsFrom, LegalHold, PolicySet, RetentionPolicy

UTC = dt.UTC


def policy(
    data_class: str, retention: str = "90 days", counts_from: str = "created", **kw
) -> RetentionPolicy:
    return RetentionPolicy(
        data_class=data_class,
        retention=retention,
        counts_from=CountsFrom(counts_from),
        legal_basis="test",
        **kw,
    )


def rules(*policies: RetentionPolicy, holds=(), retirements=None, cycles=()) -> Rules:
    return Rules(
        PolicySet({p.data_class: p for p in policies}, "lineage_events", Path("p.yaml")),
        tuple(holds),
        retirements if retirements is not None else {"loan_approval": None},
        tuple(cycles),
        {"loans_raw": "loan_approval", "loans_train": "loan_approval"},
    )


def hold(hold_id: str = "H1", **scope) -> LegalHold:
    return LegalHold(id=hold_id, reason="litigation", set_by="legal", since=dt.date(2026, 1, 1), **scope)


def raw(day: dt.date = dt.date(2026, 1, 1), **kw) -> Candidate:
    defaults = dict(datasets=("loans_raw",), ai_systems=("loan_approval",), partition=day.isoformat())
    defaults.update(kw)
    return Candidate(
        f"data/raw/date={day}/applications.csv", Kind.dataset_file, "raw_personal_data", day, 10, **defaults
    )


def at(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), UTC)


def test_an_object_expires_at_midnight_utc_of_anchor_plus_retention():
    r = rules(policy("raw_personal_data"))
    expiry = dt.date(2026, 4, 1)  # 2026-01-01 + 90 days
    before = decide(raw(), r, at(expiry) - dt.timedelta(microseconds=1))
    assert before.outcome == Outcome.keep and not before.expired
    assert before.reasons == ("not expired: kept until 2026-04-01 (90 days from created)",)
    on_time = decide(raw(), r, at(expiry))
    assert on_time.outcome == Outcome.delete and on_time.expired and on_time.reasons == ()
    assert on_time.expires_on == expiry


def test_a_clock_in_another_timezone_is_compared_in_utc():
    r = rules(policy("raw_personal_data"))
    # 2026-04-01 01:00 in UTC+02:00 is still 2026-03-31 in UTC: not expired.
    clock = dt.datetime(2026, 4, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert decide(raw(), r, clock).outcome == Outcome.keep


def test_no_policy_for_the_data_class_is_an_error_never_a_deletion():
    d = decide(raw(), rules(policy("derived_personal_data")), at(dt.date(2030, 1, 1)))
    assert d.outcome == Outcome.error
    assert d.reasons == ("no retention policy for data class 'raw_personal_data'",)


def test_an_object_claimed_by_datasets_of_different_classes_is_an_error():
    c = Candidate(
        "data/x.csv", Kind.dataset_file, None, dt.date(2020, 1, 1), 1, note="claimed by two datasets"
    )
    d = decide(c, rules(policy("raw_personal_data")), at(dt.date(2030, 1, 1)))
    assert d.outcome == Outcome.error and d.reasons == ("claimed by two datasets",)


@pytest.mark.parametrize(
    ("scope", "covered"),
    [
        ({"dataset": "loans_raw"}, True),
        ({"dataset": "loans_train"}, False),
        ({"ai_system": "loan_approval"}, True),
        ({"ai_system": "other_system"}, False),
        ({"path_prefix": "data/raw/"}, True),
        ({"path_prefix": "data/raw/date=2026-01-0"}, True),  # a plain string prefix: over-inclusive, safe
        ({"path_prefix": "data/raw/date=2026-01-01/applications.csv/x"}, True),  # names a path inside it
        ({"path_prefix": "data/clean/"}, False),
        ({"path_prefix": "evidence/records/"}, False),
    ],
)
def test_a_hold_of_each_scope_keeps_what_it_covers_and_only_that(scope, covered):
    h = hold(**scope)
    d = decide(raw(), rules(policy("raw_personal_data"), holds=[h]), at(dt.date(2030, 1, 1)))
    assert (d.outcome == Outcome.keep) == covered
    assert d.holds == (("H1",) if covered else ())
    if covered:
        assert d.expired and d.reasons[0].startswith("legal hold H1 (")


def test_an_absolute_path_prefix_matches_the_absolute_path():
    h = hold(path_prefix="/srv/data/raw/")
    r = rules(policy("raw_personal_data"), holds=[h])
    assert decide(
        raw(), r, at(dt.date(2030, 1, 1)), "/srv/data/raw/date=2026-01-01/applications.csv"
    ).holds == ("H1",)
    assert decide(raw(), r, at(dt.date(2030, 1, 1)), "/srv/other/applications.csv").outcome == Outcome.delete


def test_an_object_with_an_unknown_subject_is_covered_by_every_dataset_and_ai_system_hold():
    c = Candidate(
        "openlineage/e.json",
        Kind.openlineage_event,
        "lineage_events",
        dt.date(2020, 1, 1),
        1,
        subject_known=False,
        event_days=("2020-01-01",),  # archived: only the holds can keep it
    )
    r = rules(policy("lineage_events"), holds=[hold(dataset="loans_train"), hold("H2", ai_system="x")])
    d = decide(c, r, at(dt.date(2030, 1, 1)))
    assert d.outcome == Outcome.keep and d.holds == ("H1", "H2")
    assert decide(c, rules(policy("lineage_events")), at(dt.date(2030, 1, 1))).outcome == Outcome.delete


def test_an_ai_system_hold_covers_the_datasets_of_that_system():
    c = raw(ai_systems=())  # only the dataset is known; its system comes from the inventory
    d = decide(
        c,
        rules(policy("raw_personal_data"), holds=[hold(ai_system="loan_approval")]),
        at(dt.date(2030, 1, 1)),
    )
    assert d.holds == ("H1",)


def test_retirement_anchor_keeps_data_of_a_system_in_service_and_counts_from_retirement():
    p = policy("raw_personal_data", "1 year", "ai_system_retirement")
    in_service = decide(raw(), rules(p), at(dt.date(2040, 1, 1)))
    assert in_service.outcome == Outcome.keep and "is not retired" in in_service.reasons[0]
    retired = rules(p, retirements={"loan_approval": dt.date(2027, 6, 30)})
    assert decide(raw(), retired, at(dt.date(2028, 6, 29))).outcome == Outcome.keep
    d = decide(raw(), retired, at(dt.date(2028, 6, 30)))
    assert d.outcome == Outcome.delete and d.expires_on == dt.date(2028, 6, 30)


def test_retirement_anchor_with_several_systems_waits_for_the_last_and_unknown_systems_keep():
    p = policy("raw_personal_data", "1 day", "ai_system_retirement")
    both = raw(ai_systems=("loan_approval", "scorer"))
    r = rules(p, retirements={"loan_approval": dt.date(2027, 1, 1), "scorer": dt.date(2028, 1, 1)})
    assert decide(both, r, at(dt.date(2028, 1, 2))).expires_on == dt.date(2028, 1, 2)
    unknown = rules(p, retirements={"loan_approval": dt.date(2027, 1, 1)})
    d = decide(both, unknown, at(dt.date(2040, 1, 1)))
    assert d.outcome == Outcome.keep and d.unresolved and "'scorer' is not in the inventory" in d.reasons[0]
    nobody = Candidate(
        "openlineage/e.json", Kind.openlineage_event, "raw_personal_data", dt.date(2020, 1, 1), 1
    )
    assert "no AI system known" in decide(nobody, r, at(dt.date(2040, 1, 1))).reasons[0]


def test_cycle_end_anchor_and_a_date_no_cycle_covers():
    p = policy("raw_personal_data", "1 year", "certification_cycle_end")
    cycles = [
        ("c1", dt.date(2024, 3, 1), dt.date(2027, 3, 1)),
        ("c2", dt.date(2027, 3, 1), dt.date(2030, 3, 1)),
    ]
    r = rules(p, cycles=cycles)
    assert decide(raw(dt.date(2027, 2, 28)), r, at(dt.date(2028, 3, 1))).outcome == Outcome.delete
    assert decide(raw(dt.date(2027, 3, 1)), r, at(dt.date(2028, 3, 1))).expires_on == dt.date(2031, 3, 1)
    gap = decide(raw(dt.date(2023, 1, 1)), r, at(dt.date(2040, 1, 1)))
    assert gap.outcome == Outcome.keep and gap.unresolved
    assert gap.reasons == ("no certification cycle covers 2023-01-01 (retention counts from a cycle's end)",)


def evidence(check: str = "data_quality/validate", sealed_in: int | None = 1) -> Candidate:
    return Candidate(
        f"evidence/records/2025-01-01/{check}/r-1",
        Kind.evidence_record,
        EVIDENCE_CLASS,
        dt.date(2025, 1, 2),
        100,
        ("loans_raw",),
        ("loan_approval",),
        check=check,
        manifest_sha256="ab" * 32,
        sealed_in=sealed_in,
        record_period={"start": "2025-01-01T00:00:00+00:00", "end": "2025-01-02T00:00:00+00:00"},
    )


def test_a_sealed_expired_evidence_record_may_go_an_unsealed_one_may_not():
    r = rules(policy(EVIDENCE_CLASS, "1 year"))
    assert decide(evidence(), r, at(dt.date(2026, 1, 2))).outcome == Outcome.delete
    d = decide(evidence(sealed_in=None), r, at(dt.date(2026, 1, 2)))
    assert d.outcome == Outcome.keep and d.expired and "not sealed yet" in d.reasons[0]


@pytest.mark.parametrize(
    "check", ["retention_disposal/tombstone", "retention_disposal/certificate", "retention_disposal/plan"]
)
def test_retention_records_are_never_disposed_of_even_without_a_policy(check):
    d = decide(evidence(check), rules(), at(dt.date(2100, 1, 1)))
    assert d.outcome == Outcome.keep and d.protected and "never disposed of" in d.reasons[0]
