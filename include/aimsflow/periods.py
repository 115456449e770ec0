"""Periods: half-open UTC intervals ``[start, end)``, and the one syntax used by every command.

Syntax: ``2026-11-25`` (day), ``2026-W48`` (ISO week), ``2026-11`` (month), ``2026-Q4`` (quarter),
``2026`` (year), and ranges ``A..B`` covering A's start to B's end (both inclusive).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

UTC = dt.UTC


def to_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC datetime; naive values are taken to be UTC (Airflow's convention)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_utc(self.start))
        object.__setattr__(self, "end", to_utc(self.end))
        if self.end <= self.start:
            raise ValueError(
                f"period end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(_midnight(day), _midnight(day + dt.timedelta(days=1)))

    @classmethod
    def days(cls, first: dt.date, last: dt.date) -> Period:
        return cls(_midnight(first), _midnight(last + dt.timedelta(days=1)))

    @property
    def label(self) -> str:
        """Shortest exact name: a day, month, quarter or year when it is one, else ``first..last``."""
        s, e = self.start, self.end
        whole_days = s.time() == dt.time(0) and e.time() == dt.time(0)
        if not whole_days:
            return f"{s:%Y%m%dT%H%M%SZ}..{e:%Y%m%dT%H%M%SZ}"
        first, last = s.date(), (e - dt.timedelta(days=1)).date()
        if first == last:
            return first.isoformat()
        if first.day == 1 and (e.date().day == 1):
            months = (e.year - s.year) * 12 + e.month - s.month
            if months == 1:
                return f"{s:%Y-%m}"
            if months == 3 and (s.month - 1) % 3 == 0:
                return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
            if months == 12 and s.month == 1:
                return f"{s.year}"
        return f"{first.isoformat()}..{last.isoformat()}"

    def dates(self) -> Iterator[dt.date]:
        """The UTC calendar days the period touches."""
        day = self.start.date()
        while _midnight(day) < self.end:
            yield day
            day += dt.timedelta(days=1)

    def single_day(self) -> dt.date:
        """The day this period is, or ValueError for anything longer or unaligned."""
        day = self.start.date()
        if self != Period.day(day):
            raise ValueError(f"expected a one-day period, got {self.label}")
        return day

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= to_utc(moment) < self.end

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Period:
        return cls(dt.datetime.fromisoformat(data["start"]), dt.datetime.fromisoformat(data["end"]))

    @classmethod
    def span(cls, periods: Iterable[Period]) -> Period:
        items = list(periods)
        if not items:
            raise ValueError("cannot span zero periods")
        return cls(min(p.start for p in items), max(p.end for p in items))


_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def _add_months(year: int, month: int, months: int) -> dt.date:
    index = year * 12 + month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _parse_one(text: str) -> Period:
    text = text.strip()
    try:
        if m := _DAY.match(text):
            return Period.day(dt.date(int(m[1]), int(m[2]), int(m[3])))
        if m := _WEEK.match(text):
            monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Period.days(monday, monday + dt.timedelta(days=6))
        if m := _MONTH.match(text):
            first = dt.date(int(m[1]), int(m[2]), 1)
            return Period(_midnight(first), _midnight(_add_months(first.year, first.month, 1)))
        if m := _QUARTER.match(text):
            first = dt.date(int(m[1]), 3 * (int(m[2]) - 1) + 1, 1)
            return Period(_midnight(first), _midnight(_add_months(first.year, first.month, 3)))
        if m := _YEAR.match(text):
            return Period(_midnight(dt.date(int(m[1]), 1, 1)), _midnight(dt.date(int(m[1]) + 1, 1, 1)))
    except ValueError as exc:
        raise ValueError(f"invalid period {text!r}: {exc}") from None
    raise ValueError(
        f"invalid period {text!r}: expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or A..B"
    )


def parse_period(text: str) -> Period:
    """Parse the period syntax shared by all commands and Params."""
    if ".." in text:
        first, _, last = text.partition("..")
        return Period(_parse_one(first).start, _parse_one(last).end)
    return _parse_one(text)


def period_between(since: str | None, until: str | None) -> Period | None:
    """``--since``/``--until`` (each any period syntax, both inclusive) as one period; None if neither."""
    if not since and not until:
        return None
    start = parse_period(since).start if since else dt.datetime(1970, 1, 1, tzinfo=UTC)
    end = parse_period(until).end if until else dt.datetime(9999, 1, 1, tzinfo=UTC)
    return Period(start, end)
