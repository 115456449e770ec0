"""Signals: what the pipelines measured, turned into a state per risk signal.

Each signal reads the *current verdicts* (the latest final try of the latest run per check, subject
and period) whose period overlaps its own window, ``[period end - window_days, period end)``, and
selects records by check id (or glob, e.g. ``bias_assessment/*``) and optionally by dataset. A new
check plugs in by naming it here: nothing is specific to a check beyond its id and summary fields.

A risk names its AI system, and its signals read only that system's evidence
(:meth:`SignalInputs.for_ai_system`): records and nonconformities whose subject names the system, or
a dataset the catalog gives to it. Store-wide records (no AI system, no dataset: the verification
of the store, retention) belong to every system and count wherever a signal selects them.

States: ``ok``, ``warning``, ``critical`` (thresholds reached: ``above`` signals at or over the
threshold, ``below`` signals at or under it) and ``no_data`` (no evidence in the window). Each result
names the records that drove its state.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aimsflow.evidence.listing import RecordSummary
from aimsflow.periods import Period
from aimsflow.risk.config import (
    ControlWithoutPassSignal,
    Dimension,
    GapDaysSignal,
    Methodology,
    OpenNonconformitiesSignal,
    SignalState,
    StatusRateSignal,
    SummaryValueSignal,
)
from aimsflow.risk.evidence import SELF_CHECKS
from aimsflow.risk.nonconformity import Nonconformity

_SHOWN = 10


@dataclass(frozen=True)
class SignalResult:
    id: str
    kind: str
    moves: Dimension
    window: Period | None
    value: float | None
    state: SignalState
    change: int
    records: tuple[str, ...]
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "moves": str(self.moves),
            "window": self.window.as_dict() if self.window else None,
            "value": self.value,
            "state": str(self.state),
            "change": self.change,
            "records": list(self.records),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SignalInputs:
    """Everything signals read: current verdicts, the nonconformity ledger, the period and the
    moment of assessment (``as_of``: the period end, or now when the period has not ended yet)."""

    current: Sequence[RecordSummary]
    nonconformities: Sequence[Nonconformity]
    period: Period
    as_of: dt.datetime

    def for_ai_system(self, ai_system: str, dataset_systems: Mapping[str, str]) -> SignalInputs:
        """What a risk of ``ai_system`` reads; ``dataset_systems`` maps dataset id -> AI system (the
        catalog), for subjects that name only their dataset."""

        def belongs(system: str | None, dataset: str | None) -> bool:
            if system is None and dataset is None:
                return True  # store-wide: every system's evidence
            return system == ai_system or (dataset is not None and dataset_systems.get(dataset) == ai_system)

        return replace(
            self,
            current=[
                r for r in self.current if belongs(r.subject.get("ai_system"), r.subject.get("dataset"))
            ],
            nonconformities=[
                nc for nc in self.nonconformities if belongs(nc.cause.ai_system, nc.cause.dataset)
            ],
        )


def window_of(period: Period, days: int) -> Period:
    return Period(period.end - dt.timedelta(days=days), period.end)


def state_of(value: float, warning: float | None, critical: float, direction: str = "above") -> SignalState:
    def reached(threshold: float) -> bool:
        return value >= threshold if direction == "above" else value <= threshold

    if reached(critical):
        return SignalState.critical
    if warning is not None and reached(warning):
        return SignalState.warning
    return SignalState.ok


def _selected(
    records: Sequence[RecordSummary], check: str, dataset: str | None, window: Period | None
) -> list[RecordSummary]:
    return [
        r
        for r in records
        if r.check not in SELF_CHECKS
        and fnmatch.fnmatchcase(r.check, check)
        and (dataset is None or r.subject.get("dataset") == dataset)
        and (window is None or r.period.overlaps(window))
    ]


def figure(value: Any, direction: str = "above") -> float | None:
    """A summary field as one number: numbers as they are, true/false as 1/0, a list by its length, a
    mapping by its worst number (highest for ``above``, lowest for ``below``); else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return float(len(value))
    if isinstance(value, dict):
        numbers = [float(v) for v in value.values() if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            return None
        return max(numbers) if direction == "above" else min(numbers)
    return None


def field_value(summary: dict[str, Any], path: str) -> Any:
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _bound(signal: Any, state: SignalState) -> str:
    if state == SignalState.critical:
        return f" (critical {_fmt(signal.critical)})"
    if state == SignalState.warning:
        return f" (warning {_fmt(signal.warning)})"
    return ""


def _keys(records: Sequence[RecordSummary]) -> tuple[str, ...]:
    return tuple(sorted(r.key for r in records))


def _status_rate(s: StatusRateSignal, inputs: SignalInputs) -> tuple[float | None, SignalState, tuple, str]:
    window = window_of(inputs.period, s.window_days)
    recs = _selected(inputs.current, s.check, s.dataset, window)
    if not recs:
        return None, SignalState.no_data, (), f"no {s.check} record in the {s.window_days} days"
    hits = [r for r in recs if r.status in s.statuses]
    value = len(hits) / len(recs)
    state = state_of(value, s.warning, s.critical)
    statuses = "/".join(str(x) for x in s.statuses)
    detail = f"{len(hits)} of {len(recs)} {s.check} records {statuses} = {_fmt(value)}{_bound(s, state)}"
    return value, state, _keys(hits), detail


def _summary_value(
    s: SummaryValueSignal, inputs: SignalInputs
) -> tuple[float | None, SignalState, tuple, str]:
    window = window_of(inputs.period, s.window_days)
    recs = _selected(inputs.current, s.check, s.dataset, window)
    figures = [
        (r, f) for r in recs if (f := figure(field_value(r.summary, s.field), s.direction)) is not None
    ]
    if not figures:
        return (
            None,
            SignalState.no_data,
            (),
            f"no {s.check} record with {s.field} in the {s.window_days} days",
        )
    if s.aggregate == "share_nonzero":
        hits = [r for r, f in figures if f != 0]
        value = len(hits) / len(figures)
        state = state_of(value, s.warning, s.critical)
        detail = f"{len(hits)} of {len(figures)} {s.check} records with nonzero {s.field} = {_fmt(value)}"
        return value, state, _keys(hits), detail + _bound(s, state)
    if s.aggregate == "latest":
        rec, value = max(figures, key=lambda x: (x[0].period.start, x[0].order))
        state = state_of(value, s.warning, s.critical, s.direction)
        detail = f"latest {s.field} = {_fmt(value)} ({rec.period.label})"
        return value, state, ((rec.key,) if state != SignalState.ok else ()), detail + _bound(s, state)
    pick = max if s.direction == "above" else min
    value = (
        pick(f for _, f in figures) if s.aggregate == "worst" else sum(f for _, f in figures) / len(figures)
    )
    state = state_of(value, s.warning, s.critical, s.direction)
    # The records that reached the threshold that set the state drove it.
    bound = s.critical if state == SignalState.critical else s.warning
    drivers = [
        r
        for r, f in figures
        if state != SignalState.ok
        and bound is not None
        and state_of(f, None, bound, s.direction) != SignalState.ok
    ]
    detail = f"{s.aggregate} {s.field} over {len(figures)} {s.check} records = {_fmt(value)}"
    return value, state, _keys(drivers), detail + _bound(s, state)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _gap_days(s: GapDaysSignal, inputs: SignalInputs) -> tuple[float | None, SignalState, tuple, str]:
    window = window_of(inputs.period, s.window_days)
    ever = _selected(inputs.current, s.check, s.dataset, None)
    if not ever:
        return None, SignalState.no_data, (), f"no {s.check} record ever"
    first = min(r.period.start for r in ever)
    recs = [r for r in ever if r.period.overlaps(window)]
    gaps, drivers = [], []
    for day in window.dates():
        start = _day_start(day)
        if start < first or start >= inputs.as_of:
            continue  # before the check existed, or not over yet
        on_day = [r for r in recs if r.period.contains(start)]
        if not any(r.status in s.statuses for r in on_day):
            gaps.append(day)
            drivers.extend(on_day)
    value = float(len(gaps))
    state = state_of(value, s.warning, s.critical)
    shown = ", ".join(d.isoformat() for d in gaps[:_SHOWN]) + (" ..." if len(gaps) > _SHOWN else "")
    detail = f"{len(gaps)} day(s) without a passing {s.check} record" + (f": {shown}" if gaps else "")
    return value, state, _keys(drivers), detail + _bound(s, state)


def _control_without_pass(
    s: ControlWithoutPassSignal, inputs: SignalInputs
) -> tuple[float | None, SignalState, tuple, str]:
    if s.window_days is None:  # load_risk_config gives it the SoA's cadence
        raise ValueError(
            f"signal {s.id}: no window for {s.control} (load the register with load_risk_config)"
        )
    window = window_of(inputs.period, s.window_days)
    naming = [
        r
        for r in inputs.current
        if s.control in r.controls and r.check not in SELF_CHECKS and r.period.overlaps(window)
    ]
    passing = [r for r in naming if r.status in s.statuses]
    if not passing:
        detail = f"no {'/'.join(map(str, s.statuses))} record for {s.control} in the {s.window_days} days"
        return None, SignalState.critical, _keys(naming), detail
    last = max(passing, key=lambda r: (r.period.end, r.order))
    days = max((inputs.period.end - last.period.end).total_seconds() / 86400, 0.0)
    return days, SignalState.ok, (last.key,), f"last passing record for {s.control}: {last.period.label}"


def _open_nonconformities(
    s: OpenNonconformitiesSignal, inputs: SignalInputs
) -> tuple[float | None, SignalState, tuple, str]:
    limit = inputs.as_of - dt.timedelta(days=s.older_than_days)
    hits = [
        nc
        for nc in inputs.nonconformities
        if nc.is_open
        and fnmatch.fnmatchcase(nc.cause.check, s.check)
        and (s.dataset is None or nc.cause.dataset == s.dataset)
        and (s.older_than_days == 0 or nc.opened_at <= limit)
    ]
    value = float(len(hits))
    state = state_of(value, s.warning, s.critical)
    age = f" open over {s.older_than_days} days" if s.older_than_days else " open"
    detail = f"{len(hits)} nonconformit{'y' if len(hits) == 1 else 'ies'} of {s.check}{age}"
    if hits:
        detail += ": " + ", ".join(nc.id for nc in hits[:_SHOWN])
    records = tuple(sorted(k for nc in hits for k in nc.records))
    return value, state, records, detail + _bound(s, state)


_EVALUATORS: dict[str, Callable[[Any, SignalInputs], tuple[float | None, SignalState, tuple, str]]] = {
    "status_rate": _status_rate,
    "summary_value": _summary_value,
    "gap_days": _gap_days,
    "control_without_pass": _control_without_pass,
    "open_nonconformities": _open_nonconformities,
}


def evaluate_signal(signal: Any, inputs: SignalInputs, methodology: Methodology) -> SignalResult:
    value, state, records, detail = _EVALUATORS[signal.kind](signal, inputs)
    days = getattr(signal, "window_days", None)
    return SignalResult(
        id=signal.id,
        kind=signal.kind,
        moves=signal.moves,
        window=window_of(inputs.period, days) if days else None,
        value=None if value is None else round(value, 6),
        state=state,
        change=methodology.signals.changes.of(state),
        records=records,
        detail=detail,
    )
