"""The one rule for the period a run covers, for scheduled, backfill, manual and asset-triggered runs."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

import pytest

from aimsflow.periods import Period, parse_period
from aimsflow.runperiod import PeriodError, period_extra, period_from_extra, resolve_period

UTC = dt.UTC
RUN_AFTER = dt.datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
DAY_19 = Period.day(dt.date(2026, 11, 19))


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class RunType(StrEnum):
    """Like Airflow's DagRunType, whose str() is its value."""

    manual = "manual"
    scheduled = "scheduled"


def _never(run_after: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    raise AssertionError("infer_manual must not be called")


# --- scheduled and backfill -----------------------------------------------------------------------


@pytest.mark.parametrize("run_type", ["scheduled", "backfill", RunType.scheduled])
def test_scheduled_and_backfill_cover_the_data_interval(run_type):
    period = resolve_period(
        run_type=run_type,
        run_after=RUN_AFTER,
        data_interval_start=at(2026, 11, 19),
        data_interval_end=at(2026, 11, 20),
        param_period="2026-11",  # Params do not move a scheduled run
        asset_event_extras=[period_extra(parse_period("2026-10"))],
        infer_manual=_never,
    )
    assert period == DAY_19


def test_backfill_of_a_weekly_interval():
    period = resolve_period(
        run_type="backfill",
        run_after=at(2026, 11, 30),
        data_interval_start=at(2026, 11, 23),
        data_interval_end=at(2026, 11, 30),
    )
    assert period == parse_period("2026-W48")


def test_naive_data_interval_is_utc():
    period = resolve_period(
        run_type="scheduled",
        run_after=RUN_AFTER,
        data_interval_start=dt.datetime(2026, 11, 19),
        data_interval_end=dt.datetime(2026, 11, 20),
    )
    assert period == DAY_19 and period.start.tzinfo is UTC


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
@pytest.mark.parametrize(
    ("start", "end"),
    [(RUN_AFTER, RUN_AFTER), (None, None), (at(2026, 11, 20), at(2026, 11, 19)), (at(2026, 11, 19), None)],
)
def test_scheduled_with_empty_interval_is_an_error(run_type, start, end):
    with pytest.raises(PeriodError) as exc:
        resolve_period(
            run_type=run_type, run_after=RUN_AFTER, data_interval_start=start, data_interval_end=end
        )
    message = str(exc.value)
    assert message.startswith(f"{run_type} run has an empty data interval")
    assert "CronDataIntervalTimetable" in message and "not CronTriggerTimetable" in message
    assert isinstance(exc.value, ValueError)


# --- manual ---------------------------------------------------------------------------------------


def test_manual_with_a_data_interval():
    period = resolve_period(
        run_type="manual",
        run_after=RUN_AFTER,
        data_interval_start=at(2026, 11, 18),
        data_interval_end=at(2026, 11, 19),
        infer_manual=_never,
    )
    assert period == Period.day(dt.date(2026, 11, 18))


@pytest.mark.parametrize(
    "interval", [(at(2026, 11, 19), at(2026, 11, 20)), (RUN_AFTER, RUN_AFTER), (None, None)]
)
def test_manual_period_param_overrides(interval):
    period = resolve_period(
        run_type=RunType.manual,
        run_after=RUN_AFTER,
        data_interval_start=interval[0],
        data_interval_end=interval[1],
        param_period="2026-W47..2026-11-25",
        infer_manual=_never,
    )
    assert period == Period(at(2026, 11, 16), at(2026, 11, 26))


def test_manual_bad_period_param():
    with pytest.raises(
        PeriodError, match=r"^Param 'period': invalid period '2026-13': month must be in 1..12"
    ):
        resolve_period(run_type="manual", run_after=RUN_AFTER, param_period="2026-13")


def test_manual_empty_param_is_no_param():
    period = resolve_period(
        run_type="manual",
        run_after=RUN_AFTER,
        data_interval_start=at(2026, 11, 18),
        data_interval_end=at(2026, 11, 19),
        param_period="",
    )
    assert period == Period.day(dt.date(2026, 11, 18))


def test_manual_empty_interval_uses_infer_manual():
    calls = []

    def infer(run_after: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        calls.append(run_after)
        return dt.datetime(2026, 11, 16), dt.datetime(2026, 11, 23)  # naive: UTC

    period = resolve_period(
        run_type="manual",
        run_after=RUN_AFTER,
        data_interval_start=RUN_AFTER,
        data_interval_end=RUN_AFTER,
        infer_manual=infer,
    )
    assert period == parse_period("2026-W47") and calls == [RUN_AFTER]


def test_a_manual_run_of_a_dag_scheduled_off_midnight_covers_whole_days():
    """Bug: a manual run without a period of a DAG scheduled at 07:00 (compliance_report) took the
    inferred interval as it was and covered 20261118T070000Z..20261119T070000Z, a period no
    ``--period`` can name; like a scheduled run it covers the whole day."""
    period = resolve_period(
        run_type="manual",
        run_after=RUN_AFTER,
        infer_manual=lambda run_after: (at(2026, 11, 18, 7), at(2026, 11, 19, 7)),
    )
    assert period == Period.day(dt.date(2026, 11, 18))


@pytest.mark.parametrize(
    "inferred",
    [None, (RUN_AFTER, RUN_AFTER), (None, None)],
    ids=["nothing", "empty", "none"],
)
def test_manual_fallback_to_the_day_before_run_after(inferred):
    period = resolve_period(
        run_type="manual",
        run_after=RUN_AFTER,
        data_interval_start=RUN_AFTER,
        data_interval_end=RUN_AFTER,
        infer_manual=lambda run_after: inferred,
    )
    assert period == DAY_19


@pytest.mark.parametrize(
    ("run_after", "day"),
    [
        (at(2026, 11, 20, 0, 0), dt.date(2026, 11, 19)),
        (at(2026, 11, 20, 23, 59), dt.date(2026, 11, 19)),
        (dt.datetime(2026, 11, 20, 12), dt.date(2026, 11, 19)),  # naive: UTC
        # 00:30 at UTC+1 is still 19 November in UTC: the day before is the 18th.
        (dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))), dt.date(2026, 11, 18)),
        (at(2027, 1, 1, 3), dt.date(2026, 12, 31)),
    ],
)
def test_manual_without_interval_covers_the_utc_day_before_run_after(run_after, day):
    assert resolve_period(run_type="manual", run_after=run_after) == Period.day(day)


def test_asset_extras_do_not_move_a_manual_run():
    period = resolve_period(
        run_type="manual", run_after=RUN_AFTER, asset_event_extras=[period_extra(parse_period("2026-10"))]
    )
    assert period == DAY_19


# --- asset-triggered ------------------------------------------------------------------------------


def test_asset_triggered_single_event():
    period = resolve_period(
        run_type="asset_triggered",
        run_after=RUN_AFTER,
        asset_event_extras=[period_extra(DAY_19)],
        param_period="2026-10",  # ignored: the events say what is covered
        infer_manual=_never,
    )
    assert period == DAY_19


def test_asset_triggered_spans_every_event():
    extras = [
        period_extra(Period.day(dt.date(2026, 11, 19))),
        {"source": "other producer"},  # events without a period are skipped
        period_extra(Period.day(dt.date(2026, 11, 17))),
        None,
        {**period_extra(Period.day(dt.date(2026, 11, 23))), "rows": 10},
        period_extra(Period.day(dt.date(2026, 11, 19))),  # the same period twice
    ]
    period = resolve_period(
        run_type="asset_triggered",
        run_after=RUN_AFTER,
        data_interval_start=RUN_AFTER,
        data_interval_end=RUN_AFTER,
        asset_event_extras=iter(extras),
    )
    # Non-contiguous days: the span covers the gap.
    assert period == Period.days(dt.date(2026, 11, 17), dt.date(2026, 11, 23))
    assert period.label == "2026-11-17..2026-11-23"


@pytest.mark.parametrize("extras", [[], [None], [{}], [{"source": "x"}], [{"period": None}]])
def test_asset_triggered_without_period_is_an_error(extras):
    with pytest.raises(
        PeriodError, match=r"asset-triggered run, but no consumed Asset event carries extra\['period'\]"
    ):
        resolve_period(
            run_type="asset_triggered",
            run_after=RUN_AFTER,
            data_interval_start=at(2026, 11, 19),
            data_interval_end=at(2026, 11, 20),  # an interval does not stand in for the events
            asset_event_extras=extras,
        )


MALFORMED = [
    pytest.param({"period": "2026-11-19"}, id="string"),
    pytest.param({"period": ["2026-11-19T00:00:00+00:00", "2026-11-20T00:00:00+00:00"]}, id="list"),
    pytest.param({"period": {"start": "2026-11-19T00:00:00+00:00"}}, id="no-end"),
    pytest.param({"period": {"start": "yesterday", "end": "2026-11-20T00:00:00+00:00"}}, id="not-iso"),
    pytest.param({"period": {"start": 20261119, "end": "2026-11-20T00:00:00+00:00"}}, id="number"),
    pytest.param(
        {"period": {"start": "2026-11-20T00:00:00+00:00", "end": "2026-11-19T00:00:00+00:00"}}, id="reversed"
    ),
]


@pytest.mark.parametrize("extra", MALFORMED)
def test_malformed_extra_is_an_error(extra):
    with pytest.raises(PeriodError, match=r"^Asset event extra\['period'\] is invalid: "):
        period_from_extra(extra)
    # Even when another event carries a good period: a bad one is never skipped silently.
    with pytest.raises(PeriodError, match=r"extra\['period'\] is invalid"):
        resolve_period(
            run_type="asset_triggered", run_after=RUN_AFTER, asset_event_extras=[period_extra(DAY_19), extra]
        )


def test_malformed_extra_names_the_value():
    with pytest.raises(PeriodError) as exc:
        period_from_extra({"period": {"start": "yesterday", "end": "2026-11-20"}})
    assert "'yesterday'" in str(exc.value) and "Invalid isoformat" in str(exc.value)


# --- the extra ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period",
    [
        DAY_19,
        parse_period("2026-W48"),
        parse_period("2026-Q4"),
        Period(at(2026, 11, 19, 6), at(2026, 11, 19, 7)),
    ],
)
def test_period_extra_round_trip(period):
    extra = period_extra(period)
    assert extra == {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()}}
    assert period_from_extra(extra) == period
    assert period_from_extra(json.loads(json.dumps(extra))) == period  # extras are stored as JSON


def test_period_from_extra_absent():
    assert period_from_extra(None) is None
    assert period_from_extra({}) is None
    assert period_from_extra({"other": 1}) is None


def test_period_from_extra_naive_and_offset_times():
    extra = {"period": {"start": "2026-11-19T00:00:00", "end": "2026-11-20T02:00:00+02:00"}}
    assert period_from_extra(extra) == DAY_19


def test_a_schedule_off_midnight_covers_whole_days():
    """Regression: retention moved to Mondays 06:00 UTC (clear of the daily seal) filed its scheduled
    records under ``20261123T060000Z..20261130T060000Z``, a label no ``--period`` can name. Scheduled
    intervals are floored to UTC midnights: the week that ended at the midnight before the run."""
    period = resolve_period(
        run_type="scheduled",
        run_after=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
        data_interval_start=dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC),
        data_interval_end=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
    )
    assert period.label == "2026-11-23..2026-11-29" and parse_period(period.label) == period


def test_an_interval_inside_one_day_is_not_floored_away():
    """The boundary: flooring must never empty an interval."""
    start = dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC)
    period = resolve_period(
        run_type="scheduled",
        run_after=start + dt.timedelta(hours=6),
        data_interval_start=start,
        data_interval_end=start + dt.timedelta(hours=6),
    )
    assert (period.start, period.end) == (start, start + dt.timedelta(hours=6))
