"""Scoring rules: signal states and thresholds, the worst signal sets a dimension, the scale clamps,
appetite and acceptance, review dates, and the record status."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow.periods import Period, parse_period
from aimsflow.results import Status
from aimsflow.risk.config import Dimension, Methodology, Risk, SignalState
from aimsflow.risk.scoring import combined_change, register_status, score_risk
from aimsflow.risk.signals import SignalResult, figure, state_of
from tests.risk.conftest import METHODOLOGY, dq_risk

M = Methodology.model_validate(METHODOLOGY)
NOV = parse_period("2026-11")


def sig(sid: str, state: SignalState, moves: Dimension = Dimension.likelihood) -> SignalResult:
    return SignalResult(
        sid, "status_rate", moves, None, None, state, M.signals.changes.of(state), ("rec/" + sid,), sid
    )


def risk(**overrides) -> Risk:
    return Risk.model_validate(dq_risk(signals=[], **overrides))


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (0.04, "above", SignalState.ok),
        (0.05, "above", SignalState.warning),  # reaching a threshold counts
        (0.149, "above", SignalState.warning),
        (0.15, "above", SignalState.critical),
        (0.95, "below", SignalState.ok),
        (0.9, "below", SignalState.warning),
        (0.8, "below", SignalState.critical),
        (0.2, "below", SignalState.critical),
    ],
)
def test_thresholds(value, direction, expected):
    warning, critical = (0.05, 0.15) if direction == "above" else (0.9, 0.8)
    assert state_of(value, warning, critical, direction) == expected


def test_no_warning_threshold_goes_straight_to_critical():
    assert state_of(0.5, None, 1.0) == SignalState.ok
    assert state_of(1.0, None, 1.0) == SignalState.critical


def test_summary_figures():
    assert figure(3) == 3.0 and figure(True) == 1.0 and figure(False) == 0.0
    assert figure(["a", "b"]) == 2.0 and figure([]) == 0.0
    ratios = {"sex": 0.85, "ethnicity": 0.7, "age_band": None, "x": {"suppressed": "group size < 30"}}
    assert figure(ratios, "below") == 0.7 and figure(ratios, "above") == 0.85
    assert figure("failed") is None and figure(None) is None and figure({"a": None}) is None


def test_worst_signal_sets_each_dimension_without_adding_up():
    signals = [sig("a", SignalState.warning), sig("b", SignalState.critical), sig("c", SignalState.no_data)]
    change, setters = combined_change(signals, Dimension.likelihood)
    assert change == 2 and [s.id for s in setters] == ["b"]
    assert combined_change(signals, Dimension.impact) == (0, [])


def test_raised_score_level_and_unaccepted_above_appetite():
    a = score_risk(risk(), [sig("a", SignalState.critical)], M, NOV)
    assert (a.likelihood, a.impact, a.score, a.level) == (4, 4, 16, "high")
    assert (a.assessed_score, a.assessed_level) == (8, "medium")
    assert a.above_appetite and not a.accepted and a.unaccepted
    assert a.reasons[0].startswith("likelihood 2 -> 4 (likely), +2 step(s): signal a critical")
    assert a.records == ["rec/a"]
    assert register_status([a]) == Status.failed


def test_changes_are_clamped_to_the_scale():
    a = score_risk(risk(likelihood=5), [sig("a", SignalState.critical)], M, NOV)
    assert a.likelihood == 5 and a.score == 20 and a.level == "critical"
    methodology = Methodology.model_validate(
        {
            **METHODOLOGY,
            "signals": {
                "combination": "worst",
                "changes": {"ok": -1, "warning": 1, "critical": 2, "no_data": 1},
            },
        }
    )
    ok = SignalResult("a", "status_rate", Dimension.likelihood, None, 0.0, SignalState.ok, -1, (), "fine")
    low = score_risk(risk(likelihood=1), [ok], methodology, NOV)
    assert low.likelihood == 1 and low.reasons == ()  # clamped: no change, no reason


def test_impact_signals_move_impact():
    a = score_risk(risk(), [sig("a", SignalState.warning, Dimension.impact)], M, NOV)
    assert (a.likelihood, a.impact, a.score) == (2, 5, 10)


def test_all_ok_keeps_the_owners_assessment():
    a = score_risk(risk(), [sig("a", SignalState.ok), sig("b", SignalState.ok, Dimension.impact)], M, NOV)
    assert (a.score, a.reasons, a.above_appetite, a.records) == (8, (), False, [])
    assert register_status([a]) == Status.passed


def test_no_data_raises_by_the_methodologys_rule():
    a = score_risk(risk(), [sig("a", SignalState.no_data)], M, NOV)
    assert a.likelihood == 3 and "no_data:a" in a.flags


def _acceptance(max_score: int, on: str = "2026-09-15") -> dict:
    return {"accepted_by": "owner@example.com", "accepted_on": on, "max_score": max_score, "rationale": "r"}


def test_acceptance_covers_a_score_up_to_its_max_only():
    accepted = risk(likelihood=3, impact=4, acceptance=_acceptance(12))  # 12 > appetite 9
    a = score_risk(accepted, [], M, NOV)
    assert a.above_appetite and a.accepted and a.flags == ["above_appetite_accepted"]
    assert register_status([a]) == Status.warning
    raised = score_risk(accepted, [sig("a", SignalState.warning)], M, NOV)
    assert raised.score == 16 and raised.unaccepted
    assert "score 16 exceeds the acceptance by owner@example.com on 2026-09-15 (up to 12)" in raised.reasons


def test_acceptance_dated_after_the_period_does_not_count():
    a = score_risk(risk(likelihood=3, impact=4, acceptance=_acceptance(12, on="2026-12-01")), [], M, NOV)
    assert a.unaccepted and "after the period" in a.reasons[-1]


def test_review_overdue_once_the_due_day_has_passed():
    r = risk(last_reviewed="2026-09-01", review_interval_days=90)  # due 2026-11-30
    assert not score_risk(r, [], M, parse_period("2026-11-01..2026-11-29")).review_overdue
    assert not score_risk(
        r, [], M, parse_period("2026-11-01..2026-11-29"), dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    ).review_overdue
    month = score_risk(r, [], M, NOV)  # ends 2026-12-01 00:00: the 30th has passed
    assert month.review_overdue and month.flags == ["review_overdue"]
    assert register_status([month]) == Status.warning


def test_register_status_is_failed_while_any_unaccepted_risk_is_above_appetite():
    fine = score_risk(risk(), [], M, NOV)
    bad = score_risk(risk(id="R-X-02"), [sig("a", SignalState.critical)], M, NOV)
    assert register_status([fine, bad]) == Status.failed
    assert register_status([fine]) == Status.passed
    assert Period.day(dt.date(2026, 11, 1)).end.date() == dt.date(2026, 11, 2)
