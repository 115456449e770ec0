"""dag.test() of bias_assessment: one mapped task per catalog pair, a failed record on the demo's
real label skew, and a daily + asset schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow import settings
from aimsflow.evidence.listing import filter_records, load_summaries
from aimsflow.evidence.storage import LocalStorage
from aimsflow.periods import Period
from tests.conftest import END

pytestmark = pytest.mark.slow


def test_schedule_is_daily_or_any_validated_training_asset(dagbag):
    timetable = dagbag.get_dag("bias_assessment").timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    condition = timetable.asset_condition  # one Asset, or an AssetAny of several
    assert {a.name for a in getattr(condition, "objects", [condition])} >= {"validated/loan_training_set"}


def test_assessment_of_the_demo_training_set(aims_env, monkeypatch, prepared_data, dagbag):
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(prepared_data))
    day = END - dt.timedelta(days=2)
    run = dagbag.get_dag("bias_assessment").test(
        logical_date=Period.day(day).end, run_conf={"period": day.isoformat()}
    )
    assert str(run.state) == "failed"  # the four-fifths rule is breached: a finding, not a crash
    (record,) = filter_records(load_summaries(LocalStorage(settings.evidence_root())))
    assert record.check == "bias_assessment/assess" and str(record.status) == "failed"
    assert record.producer["try_number"] == 1 and record.controls == ["A.5.4", "A.6.2.4", "A.7.4"]
    assert (settings.evidence_root() / record.key / "base_rate_ethnicity.png").exists()
