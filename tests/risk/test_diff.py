"""The diff of two snapshots: what changed, why, and the records that drove it; nothing else."""

from __future__ import annotations

from aimsflow.periods import parse_period
from aimsflow.risk.config import Dimension, Methodology, Risk, SignalState
from aimsflow.risk.diff import diff_snapshots
from aimsflow.risk.scoring import score_risk
from aimsflow.risk.signals import SignalResult
from tests.risk.conftest import METHODOLOGY, dq_risk

M = Methodology.model_validate(METHODOLOGY)
NOV = parse_period("2026-11")


def signal(state: SignalState, records: tuple[str, ...] = (), value: float | None = 0.0) -> SignalResult:
    return SignalResult(
        "critical_days",
        "summary_value",
        Dimension.likelihood,
        NOV,
        value,
        state,
        M.signals.changes.of(state),
        records,
        f"detail {state}",
    )


def snapshot(*entries, register_sha: str = "a" * 64, label: str = "2026-11") -> dict:
    return {
        "period": {"label": label},
        "register": {"sha256": register_sha},
        "methodology": {"sha256": "m" * 64},
        "risks": [score_risk(Risk.model_validate(r), [s] if s else [], M, NOV).as_dict() for r, s in entries],
    }


def test_identical_snapshots_have_no_changes():
    snap = snapshot((dq_risk(), signal(SignalState.ok)))
    diff = diff_snapshots({**snap, "record": "records/prev"}, snap)
    assert diff["risks"] == [] and diff["unchanged"] == ["R-DQ-01"] and diff["previous"] == "records/prev"
    assert diff["specs_changed"] == []


def test_a_signal_going_critical_is_a_change_with_why_and_its_records():
    before = snapshot((dq_risk(), signal(SignalState.ok, ("records/ok-day",))))
    after = snapshot((dq_risk(), signal(SignalState.critical, ("records/defect-day",), 0.33)))
    (change,) = diff_snapshots(before, after)["risks"]
    assert change["change"] == "changed"
    assert change["fields"]["likelihood"] == {"from": 2, "to": 4}
    assert change["fields"]["score"] == {"from": 8, "to": 16}
    assert change["fields"]["above_appetite"] == {"from": False, "to": True}
    assert change["signals"][0]["state"] == {"from": "ok", "to": "critical"}
    assert change["signals"][0]["records"] == ["records/defect-day"]
    assert change["why"][0] == "signal critical_days: ok -> critical: detail critical"
    assert change["why"][1].startswith(
        "likelihood 2 -> 4 (likely), +2 step(s): signal critical_days critical"
    )
    assert change["records"] == ["records/defect-day", "records/ok-day"]


def test_an_improvement_names_the_records_that_drove_the_old_state():
    before = snapshot((dq_risk(), signal(SignalState.critical, ("records/defect-day",), 0.33)))
    after = snapshot((dq_risk(), signal(SignalState.ok)))
    (change,) = diff_snapshots(before, after)["risks"]
    assert change["fields"]["score"] == {"from": 16, "to": 8}
    assert change["signals"][0]["records_before"] == ["records/defect-day"]
    assert "records/defect-day" in change["records"]


def test_a_value_moving_within_its_state_is_not_a_change():
    before = snapshot((dq_risk(), signal(SignalState.critical, ("records/a",), 0.33)))
    after = snapshot((dq_risk(), signal(SignalState.critical, ("records/a", "records/b"), 0.5)))
    assert diff_snapshots(before, after)["risks"] == []


def test_register_edits_and_review_dates_are_explained():
    before = snapshot((dq_risk(), None))
    edited = dq_risk(impact=5, owner="new-owner@example.com", last_reviewed="2026-01-01")
    after = snapshot((edited, None), register_sha="b" * 64)
    diff = diff_snapshots(before, after)
    (change,) = diff["risks"]
    assert diff["specs_changed"] == ["register"]
    assert "register: assessed_impact 4 -> 5" in change["why"]
    assert "register: owner 'dq-owner@example.com' -> 'new-owner@example.com'" in change["why"]
    assert "review due 2026-04-01 has passed" in change["why"]
    assert change["fields"]["review_overdue"] == {"from": False, "to": True}


def test_added_and_removed_risks():
    before = snapshot((dq_risk(), None))
    after = snapshot((dq_risk(id="R-NEW-01"), signal(SignalState.warning, ("records/w",))))
    diff = diff_snapshots(before, after)
    removed, added = diff["risks"]  # sorted by id
    assert (added["id"], added["change"], removed["id"], removed["change"]) == (
        "R-NEW-01",
        "added",
        "R-DQ-01",
        "removed",
    )
    assert added["fields"]["score"] == {"from": None, "to": 12} and added["records"] == ["records/w"]
    assert added["why"][0] == "new in the register" and removed["why"] == ["removed from the register"]
    assert removed["fields"]["score"] == {"from": 8, "to": None}


def test_first_snapshot_lists_every_risk_as_added():
    diff = diff_snapshots(None, snapshot((dq_risk(), signal(SignalState.ok))))
    assert diff["previous"] is None and [c["change"] for c in diff["risks"]] == ["added"]
    assert diff["risks"][0]["signals"] == []  # only signals that are not ok explain a new risk
