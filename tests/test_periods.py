"""Periods: the one syntax of every command and Param, labels that parse back, and UTC throughout."""

from __future__ import annotations

import datetime as dt

import pytest

from aimsflow.periods import Period, parse_period, period_between, to_utc

UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def days(first: dt.date, last: dt.date) -> Period:
    return Period.days(first, last)


D = dt.date


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11-25", at(2026, 11, 25), at(2026, 11, 26)),
        ("2026-12-31", at(2026, 12, 31), at(2027, 1, 1)),
        ("2028-02-29", at(2028, 2, 29), at(2028, 3, 1)),
        ("2026-W48", at(2026, 11, 23), at(2026, 11, 30)),  # ISO weeks run Monday to Sunday
        ("2026-W01", at(2025, 12, 29), at(2026, 1, 5)),  # ISO week 1 of 2026 starts in 2025
        ("2026-W53", at(2026, 12, 28), at(2027, 1, 4)),  # 2026 has 53 ISO weeks
        ("2026-11", at(2026, 11, 1), at(2026, 12, 1)),
        ("2026-12", at(2026, 12, 1), at(2027, 1, 1)),
        ("2026-02", at(2026, 2, 1), at(2026, 3, 1)),
        ("2026-Q1", at(2026, 1, 1), at(2026, 4, 1)),
        ("2026-Q4", at(2026, 10, 1), at(2027, 1, 1)),
        ("2026", at(2026, 1, 1), at(2027, 1, 1)),
        (" 2026-11-25 ", at(2026, 11, 25), at(2026, 11, 26)),
    ],
)
def test_parse_single(text, start, end):
    period = parse_period(text)
    assert period == Period(start, end)
    assert period.start.tzinfo is UTC and period.end.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11-25..2026-11-27", at(2026, 11, 25), at(2026, 11, 28)),  # both ends inclusive
        ("2026-11-25..2026-11-25", at(2026, 11, 25), at(2026, 11, 26)),
        ("2026-11..2026-Q4", at(2026, 11, 1), at(2027, 1, 1)),
        ("2026-W48..2026-12", at(2026, 11, 23), at(2027, 1, 1)),
        ("2026-Q3..2026-11-15", at(2026, 7, 1), at(2026, 11, 16)),
        ("2025..2026-W02", at(2025, 1, 1), at(2026, 1, 12)),
        ("2026-11-25 .. 2026-11-27", at(2026, 11, 25), at(2026, 11, 28)),
    ],
)
def test_parse_range_of_mixed_kinds(text, start, end):
    assert parse_period(text) == Period(start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "invalid period '2026-13': month must be in 1..12"),
        ("2026-00", "invalid period '2026-00': month must be in 1..12"),
        ("2026-02-30", "invalid period '2026-02-30': day is out of range for month"),
        (
            "2026-Q5",
            "invalid period '2026-Q5': expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or A..B",
        ),
        ("2026-Q0", "invalid period '2026-Q0': expected YYYY-MM-DD"),
        ("2025-W53", "invalid period '2025-W53': Invalid week: 53"),
        ("2026-W00", "invalid period '2026-W00'"),
        ("foo", "invalid period 'foo': expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY or A..B"),
        ("", "invalid period '': expected"),
        ("26-11-25", "invalid period '26-11-25': expected"),
        ("2026/11/25", "invalid period '2026/11/25': expected"),
        ("2026-11-25T10:00", "invalid period '2026-11-25T10:00': expected"),
        ("2026-w48", "invalid period '2026-w48': expected"),
        ("..2026-11-25", "invalid period '': expected"),
        ("2026-11-25..", "invalid period '': expected"),
        ("2026-11-25..2026-13", "invalid period '2026-13': month must be in 1..12"),
        ("2026-01..2026-02..2026-03", "invalid period '2026-02..2026-03': expected"),
        ("2026-11-27..2026-11-25", "period end 2026-11-26T00:00:00+00:00 must be after start 2026-11-27"),
    ],
)
def test_parse_invalid(text, message):
    with pytest.raises(ValueError) as exc:
        parse_period(text)
    assert str(exc.value).startswith(message), str(exc.value)


# --- labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (Period.day(D(2026, 11, 25)), "2026-11-25"),
        (Period(at(2026, 11, 1), at(2026, 12, 1)), "2026-11"),
        (Period(at(2026, 12, 1), at(2027, 1, 1)), "2026-12"),
        (Period(at(2026, 10, 1), at(2027, 1, 1)), "2026-Q4"),
        (Period(at(2026, 4, 1), at(2026, 7, 1)), "2026-Q2"),
        (Period(at(2026, 1, 1), at(2027, 1, 1)), "2026"),
        (days(D(2026, 11, 25), D(2026, 11, 27)), "2026-11-25..2026-11-27"),
        (days(D(2025, 12, 31), D(2026, 1, 1)), "2025-12-31..2026-01-01"),
        (days(D(2026, 1, 1), D(2026, 2, 28)), "2026-01-01..2026-02-28"),  # two months
        (days(D(2026, 2, 1), D(2026, 4, 30)), "2026-02-01..2026-04-30"),  # three months, not a quarter
        (days(D(2026, 4, 1), D(2027, 3, 31)), "2026-04-01..2027-03-31"),  # twelve months, not a year
        (days(D(2026, 1, 1), D(2027, 12, 31)), "2026-01-01..2027-12-31"),  # two years
        (days(D(2026, 11, 2), D(2026, 11, 30)), "2026-11-02..2026-11-30"),
        (parse_period("2026-W48"), "2026-11-23..2026-11-29"),  # weeks have no shorter exact name
    ],
)
def test_label_round_trips(period, label):
    assert period.label == label
    assert parse_period(label) == period


def test_label_of_a_period_not_on_day_boundaries():
    period = Period(at(2026, 11, 25, 6), at(2026, 11, 25, 18, 30))
    assert period.label == "20261125T060000Z..20261125T183000Z"


def test_as_dict_from_dict_round_trip():
    period = parse_period("2026-Q4")
    data = period.as_dict()
    assert data == {
        "start": "2026-10-01T00:00:00+00:00",
        "end": "2027-01-01T00:00:00+00:00",
        "label": "2026-Q4",
    }
    assert Period.from_dict(data) == period
    assert Period.from_dict({"start": "2026-10-01T00:00:00", "end": "2027-01-01T00:00:00"}) == period


# --- since/until ----------------------------------------------------------------------------------


def test_period_between():
    assert period_between(None, None) is None
    assert period_between("", "") is None
    assert period_between("2026-11", "2026-Q4") == Period(at(2026, 11, 1), at(2027, 1, 1))
    assert period_between("2026-11-25", "2026-11-25") == Period.day(D(2026, 11, 25))
    since = period_between("2026-W48", None)
    assert since.start == at(2026, 11, 23) and since.end > at(9000, 1, 1)
    until = period_between(None, "2026")
    assert until.start <= at(1970, 1, 1) and until.end == at(2027, 1, 1)


def test_period_between_invalid():
    with pytest.raises(ValueError, match="invalid period '2026-13'"):
        period_between("2026-13", None)
    with pytest.raises(ValueError, match="invalid period 'soon'"):
        period_between(None, "soon")
    with pytest.raises(ValueError, match="must be after start"):
        period_between("2026-12", "2026-11")


def test_period_between_accepts_ranges():
    """Bug: ``--since``/``--until`` are documented as "any period syntax", but ranges (``A..B``) were
    refused with a message that itself offered ``A..B``."""
    assert period_between("2026-11-01..2026-11-07", "2026-12..2026-12-15") == Period(
        at(2026, 11, 1), at(2026, 12, 16)
    )


# --- helpers --------------------------------------------------------------------------------------


def test_single_day():
    assert parse_period("2026-11-25").single_day() == D(2026, 11, 25)
    assert Period(dt.datetime(2026, 11, 25), dt.datetime(2026, 11, 26)).single_day() == D(2026, 11, 25)
    with pytest.raises(ValueError, match="expected a one-day period, got 2026-11-25..2026-11-26"):
        days(D(2026, 11, 25), D(2026, 11, 26)).single_day()
    with pytest.raises(ValueError, match="expected a one-day period, got 2026-11"):
        parse_period("2026-11").single_day()
    with pytest.raises(ValueError, match="expected a one-day period"):  # 24 hours, not a calendar day
        Period(at(2026, 11, 25, 6), at(2026, 11, 26, 6)).single_day()


def test_span():
    spread = [Period.day(D(2026, 11, 19)), Period.day(D(2026, 11, 17)), Period.day(D(2026, 11, 23))]
    assert Period.span(spread) == days(D(2026, 11, 17), D(2026, 11, 23))  # gaps are covered
    assert Period.span(iter(spread)) == Period.span(reversed(spread))
    assert Period.span([parse_period("2026-11")]) == parse_period("2026-11")
    assert Period.span([parse_period("2026-11"), parse_period("2026-11-10")]) == parse_period("2026-11")
    with pytest.raises(ValueError, match="cannot span zero periods"):
        Period.span([])


def test_dates():
    assert list(Period.day(D(2026, 11, 25)).dates()) == [D(2026, 11, 25)]
    assert list(parse_period("2026-W48").dates()) == [
        D(2026, 11, 23) + dt.timedelta(days=i) for i in range(7)
    ]
    assert len(list(parse_period("2026-02").dates())) == 28
    assert len(list(parse_period("2028").dates())) == 366
    # Unaligned periods: every UTC day touched, and none beyond an end at midnight.
    assert list(Period(at(2026, 11, 19, 12), at(2026, 11, 20, 1)).dates()) == [
        D(2026, 11, 19),
        D(2026, 11, 20),
    ]
    assert list(Period(at(2026, 11, 19, 12), at(2026, 11, 20)).dates()) == [D(2026, 11, 19)]


def test_overlaps_and_contains_are_half_open():
    day = Period.day(D(2026, 11, 25))
    assert day.overlaps(parse_period("2026-11")) and parse_period("2026-11").overlaps(day)
    assert not day.overlaps(Period.day(D(2026, 11, 26)))
    assert not day.overlaps(Period.day(D(2026, 11, 24)))
    assert day.contains(at(2026, 11, 25)) and day.contains(at(2026, 11, 25, 23, 59, 59))
    assert not day.contains(at(2026, 11, 26))
    assert day.contains(dt.datetime(2026, 11, 25, 12))  # naive is UTC
    assert not day.contains(dt.datetime(2026, 11, 25, 1, tzinfo=PLUS2))  # 2026-11-24T23:00Z


def test_empty_or_reversed_period_is_refused():
    with pytest.raises(ValueError, match="must be after start"):
        Period(at(2026, 11, 25), at(2026, 11, 25))
    with pytest.raises(ValueError, match="must be after start"):
        Period(at(2026, 11, 26), at(2026, 11, 25))


# --- aware and naive ------------------------------------------------------------------------------


def test_to_utc():
    assert to_utc(dt.datetime(2026, 11, 25, 10)) == at(2026, 11, 25, 10)
    assert to_utc(dt.datetime(2026, 11, 25, 10)).tzinfo is UTC
    converted = to_utc(dt.datetime(2026, 11, 25, 10, tzinfo=PLUS2))
    assert converted == at(2026, 11, 25, 8) and converted.tzinfo is UTC


def test_naive_is_utc_and_aware_is_converted():
    naive = Period(dt.datetime(2026, 11, 25), dt.datetime(2026, 11, 26))
    assert naive == Period.day(D(2026, 11, 25)) and naive.start.tzinfo is UTC
    local = Period(dt.datetime(2026, 11, 25, 2, tzinfo=PLUS2), dt.datetime(2026, 11, 26, 2, tzinfo=PLUS2))
    assert local == Period.day(D(2026, 11, 25))
    assert local.start.tzinfo is UTC and local.label == "2026-11-25"
    assert local.as_dict()["start"] == "2026-11-25T00:00:00+00:00"
    # Local midnight is not UTC midnight: the period is not the local calendar day.
    local_day = Period(dt.datetime(2026, 11, 25, tzinfo=PLUS2), dt.datetime(2026, 11, 26, tzinfo=PLUS2))
    assert local_day.label == "20261124T220000Z..20261125T220000Z"
    mixed = Period(dt.datetime(2026, 11, 25), dt.datetime(2026, 11, 26, 2, tzinfo=PLUS2))
    assert mixed == Period.day(D(2026, 11, 25))
    assert hash(naive) == hash(local)


def test_periods_order_by_start_then_end():
    a, b, c = parse_period("2026-11"), parse_period("2026-11-01"), parse_period("2026-10-31")
    assert sorted([a, b, c]) == [c, b, a]
