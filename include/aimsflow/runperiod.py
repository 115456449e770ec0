"""The one rule for the period a run covers (all periods UTC), free of Airflow imports so it is
unit-tested without a scheduler. :mod:`aimsflow.airflow_glue` feeds it from the task context.

* scheduled and backfill runs: the run's data interval;
* manual runs: the ``period`` Param when given, else the data interval Airflow inferred from the
  timetable for ``run_after``, floored to whole days like a scheduled one (for asset-only timetables,
  whose inferred interval is empty: the UTC day before ``run_after``);
* asset-triggered runs: the span of the periods carried in the consumed Asset events'
  ``extra["period"]`` (``{"start": ISO, "end": ISO}``; every producer of an Asset event fills it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aimsflow.periods import Period, parse_period, to_utc

PERIOD_EXTRA_KEY = "period"


class PeriodError(ValueError):
    pass


def period_extra(period: Period) -> dict[str, Any]:
    """The ``extra`` every aimsflow Asset event carries."""
    return {PERIOD_EXTRA_KEY: {"start": period.start.isoformat(), "end": period.end.isoformat()}}


def period_from_extra(extra: Mapping[str, Any] | None) -> Period | None:
    raw = (extra or {}).get(PERIOD_EXTRA_KEY)
    if not raw:
        return None
    try:
        return Period(dt.datetime.fromisoformat(raw["start"]), dt.datetime.fromisoformat(raw["end"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PeriodError(f"Asset event extra['period'] is invalid: {raw!r} ({exc})") from None


def _interval(start: dt.datetime | None, end: dt.datetime | None) -> Period | None:
    if start is None or end is None or to_utc(end) <= to_utc(start):
        return None
    return Period(start, end)


def _whole_days(interval: Period) -> Period:
    """A scheduled interval floored to UTC midnights: a DAG scheduled off midnight (retention, Mondays
    06:00, clear of the daily seal) still covers, and is labelled by, whole days (``2026-11-23..2026-11-29``,
    not ``20261123T060000Z..20261130T060000Z``, which no ``--period`` can name). An interval inside one
    day stays as it is."""
    start, end = to_utc(interval.start), to_utc(interval.end)
    floored = [dt.datetime.combine(t.date(), dt.time(), tzinfo=dt.UTC) for t in (start, end)]
    return Period(*floored) if floored[0] < floored[1] else interval


def resolve_period(
    *,
    run_type: str,
    run_after: dt.datetime,
    data_interval_start: dt.datetime | None = None,
    data_interval_end: dt.datetime | None = None,
    asset_event_extras: Iterable[Mapping[str, Any] | None] = (),
    param_period: str | None = None,
    infer_manual: Callable[[dt.datetime], tuple[dt.datetime, dt.datetime] | None] | None = None,
) -> Period:
    """The period a run covers; raises :class:`PeriodError` when it cannot be known."""
    run_type = str(run_type)
    if run_type == "asset_triggered":
        periods = [p for p in (period_from_extra(e) for e in asset_event_extras) if p is not None]
        if not periods:
            raise PeriodError("asset-triggered run, but no consumed Asset event carries extra['period']")
        return Period.span(periods)
    interval = _interval(data_interval_start, data_interval_end)
    if run_type in ("scheduled", "backfill"):
        if interval is None:
            raise PeriodError(
                f"{run_type} run has an empty data interval: use an interval timetable "
                "(CronDataIntervalTimetable), not CronTriggerTimetable"
            )
        return _whole_days(interval)
    if param_period:
        try:
            return parse_period(param_period)
        except ValueError as exc:
            raise PeriodError(f"Param 'period': {exc}") from None
    if interval is not None:
        return interval
    if infer_manual is not None and (inferred := infer_manual(run_after)) is not None:
        if (found := _interval(*inferred)) is not None:
            return _whole_days(found)
    day = to_utc(run_after).date() - dt.timedelta(days=1)
    return Period.day(day)
