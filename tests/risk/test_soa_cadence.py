"""The risk register's control signals read the Statement of Applicability's cadence (issue 13):
``control_without_pass`` without ``window_days`` takes the control's ``max_age_days`` from
``soa.yaml``; a window that is set must agree with it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from aimsflow.configfile import ConfigError
from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.risk.config import ControlWithoutPassSignal, Methodology, load_risk_config
from aimsflow.risk.signals import SignalInputs, evaluate_signal
from tests.compliance.conftest import small_soa
from tests.risk.conftest import METHODOLOGY, dq_risk, marked, summary_record, write_config

VERIFY = {
    "applicable": True,
    "justification": "records",
    "checks": ["evidence_seal/verify"],
    "max_age_days": 3,
}


def signal(**kw):
    return {"id": "verified", "kind": "control_without_pass", "control": "7.5.3", "moves": "likelihood", **kw}


def config(tmp_path, signals, soa=None):
    folder = write_config(tmp_path / "config", [dq_risk(signals=signals)])
    if soa is not None:
        (folder / "soa.yaml").write_text(yaml.safe_dump(soa, sort_keys=False))
    return folder


def problems(folder) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_risk_config(folder)
    return exc.value.problems


def test_the_window_is_the_soa_cadence_when_the_register_sets_none(tmp_path):
    folder = config(tmp_path, [signal()], small_soa(**{"7.5.3": VERIFY}))
    cfg = load_risk_config(folder)
    (resolved,) = cfg.risks[0].signals
    assert resolved.window_days == 3
    assert folder / "soa.yaml" in {Path(s.path) for s in cfg.specs()}


def test_a_window_that_agrees_with_the_soa_is_kept(tmp_path):
    cfg = load_risk_config(config(tmp_path, [signal(window_days=3)], small_soa(**{"7.5.3": VERIFY})))
    assert cfg.risks[0].signals[0].window_days == 3


def test_a_window_that_disagrees_with_the_soa_is_refused(tmp_path):
    (problem,) = problems(config(tmp_path, [signal(window_days=7)], small_soa(**{"7.5.3": VERIFY})))
    assert "risks[0].signals[0].window_days: value 7: disagrees with max_age_days 3 of 7.5.3" in problem


def test_without_a_soa_the_window_must_be_set(tmp_path):
    (problem,) = problems(config(tmp_path, [signal()]))
    assert "risks[0].signals[0].window_days: value <missing>: there is no" in problem
    assert (
        load_risk_config(config(tmp_path / "b", [signal(window_days=7)])).risks[0].signals[0].window_days == 7
    )


def test_a_control_the_soa_does_not_list_needs_a_window(tmp_path):
    (problem,) = problems(config(tmp_path, [signal()], small_soa()))
    assert "soa.yaml does not list 7.5.3, so the window must be set here" in problem


def test_a_signal_cannot_watch_an_excluded_control(tmp_path):
    (problem,) = problems(config(tmp_path, [signal(control="A.10.4")], small_soa()))
    assert "risks[0].signals[0].control: value 'A.10.4'" in problem and "excludes this control" in problem


def test_a_broken_soa_is_a_problem_of_the_register(tmp_path):
    soa = small_soa(**{"7.5.3": VERIFY})
    del soa["controls"]["A.2.2"]
    (problem,) = problems(config(tmp_path, [signal()], soa))
    assert "missing Annex A control(s) A.2.2" in problem


def test_no_control_signal_no_soa_needed(tmp_path):
    soa = small_soa()
    del soa["controls"]["A.2.2"]  # broken, but nothing reads it
    assert load_risk_config(config(tmp_path, dq_risk()["signals"], soa)).risks


def test_the_shipped_register_reads_the_shipped_soa():
    cfg = load_risk_config()
    (verified,) = [s for r in cfg.risks for s in r.signals if s.kind == "control_without_pass"]
    assert verified.control == "7.5.3" and verified.window_days == 2


def test_signal_and_coverage_agree_at_the_boundary():
    """The same record is inside the signal's window exactly while coverage calls it fresh: a record
    of the day ``max_age_days`` before the assessed period's end still counts, the day before not."""
    from aimsflow.compliance.coverage import last_day

    s = ControlWithoutPassSignal.model_validate(signal(window_days=3))
    period = Period.days(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    m = Methodology.model_validate(METHODOLOGY)
    for back, state, fresh in ((3, "ok", True), (4, "critical", False)):
        day = dt.date(2026, 12, 1) - dt.timedelta(days=back)
        rec = summary_record("evidence_seal/verify", day, Status.passed, dataset=None, controls=("7.5.3",))
        result = evaluate_signal(s, SignalInputs(marked([rec]), [], period, period.end), m)
        assert str(result.state) == state
        assert ((period.end.date() - last_day(rec.period)).days <= 3) is fresh


def test_an_unresolved_window_is_a_programming_error():
    s = ControlWithoutPassSignal.model_validate(signal())
    period = Period.day(dt.date(2026, 11, 1))
    with pytest.raises(ValueError, match="no window for 7.5.3"):
        evaluate_signal(s, SignalInputs([], [], period, period.end), Methodology.model_validate(METHODOLOGY))
