"""Signals over current verdicts: selection by check glob and dataset, windows, every kind, and the
records each names as its drivers."""

from __future__ import annotations

import datetime as dt

from aimsflow.periods import Period, parse_period
from aimsflow.results import Status
from aimsflow.risk.config import (
    ControlWithoutPassSignal,
    GapDaysSignal,
    Methodology,
    OpenNonconformitiesSignal,
    SignalState,
    StatusRateSignal,
    SummaryValueSignal,
)
from aimsflow.risk.nonconformity import derive_nonconformities
from aimsflow.risk.signals import SignalInputs, evaluate_signal
from tests.risk.conftest import CLEAN, METHODOLOGY, RAW, marked, summary_record

M = Methodology.model_validate(METHODOLOGY)
D = dt.date(2026, 11, 20)
WINDOW = parse_period("2026-11-18..2026-11-20")


def inputs(records, period: Period = WINDOW, ncs=(), as_of=None) -> SignalInputs:
    records = marked(list(records))
    return SignalInputs([r for r in records if not r.superseded], list(ncs), period, as_of or period.end)


def dq(day, critical=0, status=Status.passed, dataset=CLEAN, **kw):
    summary = {
        "failed_by_severity": {"critical": critical, "warning": 0},
        "missing_columns": [],
        "drift": {"verdict": "passed", "drifted": []},
    }
    return summary_record(f"data_quality/{dataset}", day, status, dataset=dataset, summary=summary, **kw)


def share(**kw) -> SummaryValueSignal:
    base = {
        "id": "crit",
        "kind": "summary_value",
        "check": "data_quality/*",
        "dataset": CLEAN,
        "field": "failed_by_severity.critical",
        "aggregate": "share_nonzero",
        "window_days": 3,
        "warning": 0.05,
        "critical": 0.5,
        "moves": "likelihood",
    }
    return SummaryValueSignal.model_validate(base | kw)


def test_share_nonzero_names_the_defect_days_record_only():
    defect = dq(D - dt.timedelta(days=1), critical=3, status=Status.failed)
    records = [dq(D - dt.timedelta(days=2)), defect, dq(D), dq(D, critical=9, dataset=RAW)]
    result = evaluate_signal(share(), inputs(records), M)
    assert result.value == round(1 / 3, 6) and result.state == SignalState.warning and result.change == 1
    assert result.records == (defect.key,)
    assert result.window == WINDOW
    assert "1 of 3 data_quality/* records with nonzero failed_by_severity.critical" in result.detail


def test_window_ends_at_the_period_end_and_has_its_own_length():
    old = dq(D - dt.timedelta(days=5), critical=1, status=Status.failed)
    result = evaluate_signal(share(), inputs([old, dq(D)]), M)
    assert result.state == SignalState.ok and result.records == ()
    wide = evaluate_signal(share(window_days=10), inputs([old, dq(D)]), M)
    assert wide.state == SignalState.critical and wide.records == (old.key,)


def test_no_record_in_the_window_is_no_data():
    result = evaluate_signal(share(), inputs([dq(D, dataset=RAW)]), M)
    assert result.state == SignalState.no_data and result.value is None and result.change == 1


def test_only_current_verdicts_count():
    """A rerun that passed supersedes the failed record of the same partition."""
    failed = dq(D, critical=2, status=Status.failed, run_after=dt.datetime(2026, 11, 21, 1, tzinfo=dt.UTC))
    rerun = dq(D, run_after=dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC))
    result = evaluate_signal(share(), inputs([failed, rerun]), M)
    assert result.value == 0 and result.state == SignalState.ok


def test_worst_below_for_a_fairness_ratio_from_a_check_that_plugs_in_by_name():
    def bias(day, ratios):
        return summary_record(
            "bias_assessment/assess",
            day,
            dataset="loan_training_set",
            summary={"label_demographic_parity_ratio": ratios},
        )

    low = bias(D, {"sex": 0.95, "ethnicity": 0.78, "age_band": None})
    signal = SummaryValueSignal.model_validate(
        {
            "id": "parity",
            "kind": "summary_value",
            "check": "bias_assessment/*",
            "dataset": "loan_training_set",
            "field": "label_demographic_parity_ratio",
            "aggregate": "worst",
            "direction": "below",
            "window_days": 30,
            "warning": 0.9,
            "critical": 0.8,
            "moves": "likelihood",
        }
    )
    result = evaluate_signal(signal, inputs([bias(D - dt.timedelta(days=1), {"sex": 0.93}), low]), M)
    assert result.value == 0.78 and result.state == SignalState.critical and result.records == (low.key,)
    latest = evaluate_signal(
        signal.model_copy(update={"aggregate": "latest"}),
        inputs([low, bias(D + dt.timedelta(days=1), {"sex": 0.99})], Period.day(D + dt.timedelta(days=1))),
        M,
    )
    assert latest.value == 0.99 and latest.state == SignalState.ok
    mean = evaluate_signal(
        signal.model_copy(update={"aggregate": "mean"}),
        inputs([bias(D - dt.timedelta(days=1), {"sex": 0.93}), low]),
        M,
    )
    assert mean.value == round((0.93 + 0.78) / 2, 6) and mean.state == SignalState.warning
    assert mean.records == (low.key,)  # the record under the warning threshold drove it


def test_status_rate_counts_the_listed_statuses():
    def prep(day, status):
        return summary_record("data_preparation/ingest", day, status, dataset=RAW)

    signal = StatusRateSignal.model_validate(
        {
            "id": "ingest",
            "kind": "status_rate",
            "check": "data_preparation/*",
            "dataset": RAW,
            "window_days": 3,
            "warning": 0.2,
            "critical": 0.5,
            "moves": "likelihood",
        }
    )
    err = prep(D, Status.error)
    records = [
        prep(D - dt.timedelta(days=2), Status.passed),
        prep(D - dt.timedelta(days=1), Status.warning),
        err,
    ]
    result = evaluate_signal(signal, inputs(records), M)
    assert (
        result.value == round(1 / 3, 6)
        and result.state == SignalState.warning
        and result.records == (err.key,)
    )


def test_gap_days_start_when_the_check_first_reported_and_stop_at_as_of():
    def prep(day, status=Status.passed):
        return summary_record("data_preparation/training_set", day, status, dataset="loan_training_set")

    signal = GapDaysSignal.model_validate(
        {
            "id": "gaps",
            "kind": "gap_days",
            "check": "data_preparation/*",
            "dataset": "loan_training_set",
            "window_days": 30,
            "warning": 1,
            "critical": 3,
            "moves": "likelihood",
        }
    )
    failed = prep(dt.date(2026, 11, 12), Status.failed)
    records = [prep(dt.date(2026, 11, 10)), failed, prep(dt.date(2026, 11, 14))]  # 11, 12, 13 missing/failed
    period = parse_period("2026-11")
    as_of = dt.datetime(2026, 11, 15, 6, tzinfo=dt.UTC)  # 15th not over: not a gap yet
    result = evaluate_signal(signal, inputs(records, period, as_of=as_of), M)
    assert result.value == 4 and result.state == SignalState.critical  # 11, 12, 13, 15
    assert "2026-11-11, 2026-11-12, 2026-11-13, 2026-11-15" in result.detail
    assert result.records == (failed.key,)
    assert evaluate_signal(signal, inputs([], period), M).state == SignalState.no_data


def test_control_without_pass():
    signal = ControlWithoutPassSignal.model_validate(
        {
            "id": "verify",
            "kind": "control_without_pass",
            "control": "7.5.3",
            "window_days": 7,
            "moves": "likelihood",
        }
    )
    broken = summary_record("evidence_seal/verify", D, Status.failed, dataset=None, controls=("7.5.3", "9.1"))
    result = evaluate_signal(signal, inputs([broken]), M)
    assert result.state == SignalState.critical and result.records == (broken.key,)
    good = summary_record("evidence_seal/verify", D - dt.timedelta(days=2), dataset=None, controls=("7.5.3",))
    result = evaluate_signal(signal, inputs([broken, good]), M)
    assert result.state == SignalState.ok and result.value == 2 and result.records == (good.key,)


def test_open_nonconformities_older_than():
    first = dq(dt.date(2026, 10, 1), critical=1, status=Status.failed)
    recent = dq(D, critical=1, status=Status.failed, dataset=RAW)
    records = marked([first, recent])
    ledger, _ = derive_nonconformities([], records, frozenset())
    signal = OpenNonconformitiesSignal.model_validate(
        {
            "id": "ncs",
            "kind": "open_nonconformities",
            "older_than_days": 30,
            "warning": 1,
            "critical": 2,
            "moves": "likelihood",
        }
    )
    result = evaluate_signal(signal, inputs(records, ncs=ledger), M)
    assert result.value == 1 and result.state == SignalState.warning and result.records == (first.key,)
    everything = evaluate_signal(
        signal.model_copy(update={"older_than_days": 0}), inputs(records, ncs=ledger), M
    )
    assert everything.state == SignalState.critical
    only_raw = evaluate_signal(
        signal.model_copy(update={"older_than_days": 0, "dataset": RAW}), inputs(records, ncs=ledger), M
    )
    assert only_raw.value == 1 and only_raw.records == (recent.key,)


def test_the_risk_process_never_reads_its_own_records():
    own = summary_record("risk_reassessment/reassess", D, Status.failed, dataset=None)
    signal = StatusRateSignal.model_validate(
        {
            "id": "all",
            "kind": "status_rate",
            "check": "*",
            "window_days": 3,
            "critical": 0.5,
            "moves": "likelihood",
        }
    )
    assert evaluate_signal(signal, inputs([own, dq(D)]), M).value == 0


def test_inputs_scoped_to_an_ai_system_by_subject_or_by_the_catalog():
    """Bug: signals read every AI system's records (another system's provenance gap raised the loan
    system's risk). Scoped inputs keep the system's records (by subject, or by the catalog when the
    subject names only the dataset) and store-wide ones; nonconformities the same way."""
    ours = dq(D)
    by_catalog = summary_record(
        f"data_quality/{CLEAN}", D - dt.timedelta(days=1), dataset=CLEAN, ai_system=None
    )
    theirs = summary_record(
        "data_quality/credit", D, Status.failed, dataset="credit", ai_system="credit_scoring"
    )
    # A dataset the catalog does not know, without an AI system, belongs to no system.
    unknown = summary_record("data_quality/gone", D, Status.failed, dataset="gone", ai_system=None)
    store_wide = summary_record("evidence_seal/verify", D, Status.failed, dataset=None, ai_system=None)
    records = [ours, by_catalog, theirs, unknown, store_wide]
    ledger, _ = derive_nonconformities([], marked(records), frozenset())
    systems = {CLEAN: "loan_approval", "credit": "credit_scoring"}
    loan = inputs(records, ncs=ledger).for_ai_system("loan_approval", systems)
    assert {r.key for r in loan.current} == {ours.key, by_catalog.key, store_wide.key}
    assert [nc.cause.check for nc in loan.nonconformities] == ["evidence_seal/verify"]
    credit = inputs(records, ncs=ledger).for_ai_system("credit_scoring", systems)
    assert {r.key for r in credit.current} == {theirs.key, store_wide.key}
    assert sorted(nc.cause.check for nc in credit.nonconformities) == [
        "data_quality/credit",
        "evidence_seal/verify",
    ]
    signal = StatusRateSignal.model_validate(
        {
            "id": "all",
            "kind": "status_rate",
            "check": "data_quality/*",
            "window_days": 3,
            "critical": 0.5,
            "moves": "likelihood",
        }
    )
    assert evaluate_signal(signal, loan, M).value == 0  # unscoped: 2 of 4 failed
    assert evaluate_signal(signal, inputs(records), M).value == 0.5
