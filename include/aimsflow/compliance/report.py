"""The compliance report of one period: coverage per control and per framework, the run history, the
trend over the days available, the risk register's levels, and the input to management review
(ISO/IEC 42001 9.3): open nonconformities by age, risks above appetite, stale controls, changes since
the last report.

Every coverage figure comes from :func:`~aimsflow.compliance.coverage.compute_coverage`, the one
computation; this module only chooses its inputs and arranges what it returns. The trend is the same
computation called once per day.

When a report judges (docs/compliance-report.md says it for people):

* ``as_of = min(now, the last moment of the day after the period)``. The daily jobs of a day run after
  it is over, so the scheduled report (07:00 UTC, for yesterday) judges at its own run time, and a
  report of a past period judges at the end of the day after it: on the same day a scheduled report
  would have (a daily record of the period's last day is 1 day old), with that day's records.
* ``known_at = now``: every record written until the report runs counts, a late re-run or backfill of
  the period included (a report is restated with what is known, and says when it was made).
* Only records about periods that start before the period ends are read: a report of October never
  counts November's verdicts.

Run history and the per-DAG share of passing verdicts count each record on the last day its period
covers (a daily record on its day, a monthly reassessment on the month's last day), so every record is
counted in exactly one daily report.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimsflow.compliance.checks import REPORT
from aimsflow.compliance.coverage import (
    PASSING,
    ControlCoverage,
    Coverage,
    FrameworkItemCoverage,
    Freshness,
    compute_coverage,
    is_open_at,
    last_day,
)
from aimsflow.evidence.listing import Loaded, RecordSummary, Untrusted
from aimsflow.periods import Period, to_utc
from aimsflow.results import Status

if TYPE_CHECKING:
    from aimsflow.compliance.crosswalk import Crosswalk
    from aimsflow.compliance.soa import Soa
    from aimsflow.risk.nonconformity import Nonconformity

REPORT_FORMAT = "aimsflow-compliance-report/1"
HTML_FILE = "report.html"
JSON_FILE = "report.json"
#: How long after a period ends its daily jobs may still be writing its records: the day after it
#: (to its last moment, so that the day a past report is judged on is the day after the period).
SETTLE = dt.timedelta(days=1, microseconds=-1)
#: The trend covers at least this many days up to the period's last day (fewer when evidence is younger).
TREND_DAYS = 30
#: More days than this are sampled (the last day always kept), so a year's report stays readable.
MAX_TREND_POINTS = 92
#: Open nonconformities by age: (upper bound in days or None, label).
AGE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (7, "up to 7 days"),
    (30, "8 to 30 days"),
    (90, "31 to 90 days"),
    (None, "over 90 days"),
)


def judged_at(end: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The moment a report (or a trend day) ending at ``end`` is judged: see the module docstring."""
    return min(to_utc(now), to_utc(end) + SETTLE)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _ids(ids: Sequence[str], limit: int = 10, sep: str = ", ") -> str:
    """``A, B, C and 4 more``: a list a sentence can hold (the tables below list them all)."""
    shown = sep.join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _days_old(days: int) -> str:
    return "opened today" if days == 0 else f"{_plural(days, 'day')} old"


def _day(value: dt.datetime) -> dt.date:
    return to_utc(value).date()


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """What every coverage of the report is computed from: verified records, the SoA, the crosswalk,
    the nonconformity ledger and the moment the report runs."""

    loaded: Loaded
    soa: Soa
    crosswalk: Crosswalk
    ledger: tuple[Nonconformity, ...]
    now: dt.datetime

    def coverage_until(self, end: dt.datetime) -> Coverage:
        """Coverage judged for a report ending at ``end``: the one computation, with the report's
        moments (``as_of``, ``known_at``) and only records about periods starting before ``end``."""
        end = to_utc(end)
        origin = min((r.period.start for r in self.loaded.records), default=end)
        origin = min(origin, end - dt.timedelta(days=1))
        return compute_coverage(
            self.loaded,
            self.soa,
            self.crosswalk,
            self.ledger,
            judged_at(end, self.now),
            Period(origin, end),
            known_at=self.now,
        )


# --- sections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    as_of: dt.datetime
    counts: dict[str, int]  # Coverage.summary() of that day

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "as_of": self.as_of.isoformat(), **self.counts}


@dataclass(frozen=True)
class DayShare:
    passing: int
    total: int

    @property
    def share(self) -> float | None:
        return self.passing / self.total if self.total else None

    def as_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "passing": self.passing,
            "total": self.total,
            "share": None if share is None else round(share, 4),
        }


@dataclass(frozen=True)
class Trend:
    days: tuple[dt.date, ...]
    coverage: tuple[TrendPoint, ...]
    passing: dict[str, tuple[DayShare, ...]]  # DAG -> one per day

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": [d.isoformat() for d in self.days],
            "coverage": [p.as_dict() for p in self.coverage],
            "passing_share": {dag: [s.as_dict() for s in shares] for dag, shares in self.passing.items()},
        }


@dataclass(frozen=True)
class LatestRun:
    run_id: str
    run_after: str
    status: str  # the worst of its records about the period
    records: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_after": self.run_after,
            "status": self.status,
            "records": self.records,
        }


@dataclass(frozen=True)
class DagHistory:
    """One DAG's records about the period: current verdicts by status, the earlier tries and re-runs
    they superseded, how many runs wrote them, and the latest run."""

    dag_id: str
    by_status: dict[str, int]
    superseded: int
    runs: int
    latest: LatestRun | None

    @property
    def verdicts(self) -> int:
        return sum(self.by_status.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "verdicts": self.verdicts,
            "by_status": self.by_status,
            "superseded": self.superseded,
            "runs": self.runs,
            "latest_run": self.latest.as_dict() if self.latest else None,
        }


@dataclass(frozen=True)
class NcView:
    """An open nonconformity as management review reads it."""

    id: str
    cause: str
    check: str
    dataset: str | None
    opened_at: dt.datetime
    age_days: int
    bucket: str
    occurrences: int
    last_record: str
    controls: tuple[str, ...]  # the SoA's rows it is open against

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cause": self.cause,
            "check": self.check,
            "dataset": self.dataset,
            "opened_at": self.opened_at.isoformat(),
            "age_days": self.age_days,
            "age_bucket": self.bucket,
            "occurrences": self.occurrences,
            "last_record": self.last_record,
            "controls": list(self.controls),
        }


@dataclass(frozen=True)
class RiskRow:
    id: str
    title: str
    ai_system: str | None
    owner: str | None
    assessed_score: int
    assessed_level: str
    score: int
    level: str
    above_appetite: bool
    accepted: bool
    flags: tuple[str, ...]

    @property
    def unaccepted(self) -> bool:
        return self.above_appetite and not self.accepted

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "ai_system": self.ai_system,
            "owner": self.owner,
            "assessed": {"score": self.assessed_score, "level": self.assessed_level},
            "current": {"score": self.score, "level": self.level},
            "above_appetite": self.above_appetite,
            "accepted": self.accepted,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class RiskView:
    """The risk register as the latest reassessment record left it (its ``register.json``)."""

    record: str
    period: str
    as_of: str
    appetite: int
    max_acceptable: int
    levels: tuple[tuple[str, int], ...]  # (name, min score), lowest first
    risks: tuple[RiskRow, ...]

    @classmethod
    def of(cls, record: str, snapshot: dict[str, Any]) -> RiskView:
        """From a reassessment snapshot; raises KeyError/TypeError/ValueError when it is not one."""
        m = snapshot["methodology"]
        levels = tuple(sorted(((str(k), int(v)) for k, v in m["levels"].items()), key=lambda kv: kv[1]))
        risks = tuple(
            RiskRow(
                id=str(r["id"]),
                title=str(r["title"]),
                ai_system=r.get("ai_system"),
                owner=r.get("owner"),
                assessed_score=int(r["assessed"]["score"]),
                assessed_level=str(r["assessed"]["level"]),
                score=int(r["current"]["score"]),
                level=str(r["current"]["level"]),
                above_appetite=bool(r["above_appetite"]),
                accepted=bool(r["accepted"]),
                flags=tuple(str(f) for f in r.get("flags") or ()),
            )
            for r in snapshot["risks"]
        )
        return cls(
            record,
            str(snapshot["period"]["label"]),
            str(snapshot["as_of"]),
            int(m["appetite"]),
            int(m["max_acceptable"]),
            levels,
            risks,
        )

    @property
    def by_level(self) -> dict[str, int]:
        return {name: sum(r.level == name for r in self.risks) for name, _ in self.levels}

    @property
    def above_appetite(self) -> list[RiskRow]:
        return sorted((r for r in self.risks if r.above_appetite), key=lambda r: (-r.score, r.id))

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "period": self.period,
            "as_of": self.as_of,
            "appetite": self.appetite,
            "max_acceptable": self.max_acceptable,
            "levels": dict(self.levels),
            "by_level": self.by_level,
            "above_appetite": [r.id for r in self.above_appetite],
            "unaccepted_above_appetite": [r.id for r in self.above_appetite if r.unaccepted],
            "risks": [r.as_dict() for r in self.risks],
        }


@dataclass(frozen=True)
class ControlChange:
    id: str
    title: str
    before: tuple[str | None, str | None]  # (freshness, latest verdict) in the previous report
    after: tuple[str | None, str | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "from": {"freshness": self.before[0], "verdict": self.before[1]},
            "to": {"freshness": self.after[0], "verdict": self.after[1]},
        }


@dataclass(frozen=True)
class ClosedNc:
    id: str
    closed_at: str | None
    closed_by: str | None
    record: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "record": self.record,
        }


@dataclass(frozen=True)
class Changes:
    """What changed since the previous report (the latest earlier report record): controls whose
    freshness or verdict changed, nonconformities opened and closed in between."""

    previous: str | None
    previous_period: str | None = None
    previous_as_of: str | None = None
    controls: tuple[ControlChange, ...] = ()
    opened: tuple[str, ...] = ()
    closed: tuple[ClosedNc, ...] = ()
    counts_before: dict[str, int] | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "previous_report": self.previous,
            "previous_period": self.previous_period,
            "previous_as_of": self.previous_as_of,
            "controls": [c.as_dict() for c in self.controls],
            "nonconformities_opened": list(self.opened),
            "nonconformities_closed": [c.as_dict() for c in self.closed],
            "counts_before": self.counts_before,
            "note": self.note,
        }


# --- building the sections ---------------------------------------------------------------------


def _dag_of(r: RecordSummary) -> str:
    return r.dag_id or r.check.split("/")[0]


def _ending_in(
    records: Iterable[RecordSummary], period: Period, known_at: dt.datetime
) -> list[RecordSummary]:
    """Records known at ``known_at`` whose period's last day lies in ``period``."""
    first, last = period.start.date(), last_day(period)
    return [r for r in records if r.ended_at <= known_at and first <= last_day(r.period) <= last]


def run_history(records: Iterable[RecordSummary], period: Period, known_at: dt.datetime) -> list[DagHistory]:
    """Per DAG: its records about the period (see the module docstring), by status."""
    by_dag: dict[str, list[RecordSummary]] = defaultdict(list)
    for r in _ending_in(records, period, known_at):
        by_dag[_dag_of(r)].append(r)
    out = []
    for dag_id in sorted(by_dag):
        recs = by_dag[dag_id]
        current = [r for r in recs if not r.superseded]
        counts = Counter(str(r.status) for r in current)
        runs: dict[str, list[RecordSummary]] = defaultdict(list)
        for r in recs:
            runs[str(r.producer.get("run_id") or r.key)].append(r)
        latest_id, latest_recs = max(runs.items(), key=lambda kv: max(r.order for r in kv[1]))
        worst = Status.worst(*(r.status for r in latest_recs))
        latest = LatestRun(
            latest_id,
            str(max(r.order for r in latest_recs)[0]),
            str(worst),
            len(latest_recs),
        )
        out.append(
            DagHistory(
                dag_id,
                {s.value: counts.get(s.value, 0) for s in Status},
                len(recs) - len(current),
                len(runs),
                latest,
            )
        )
    return out


def trend_days(period: Period, records: Sequence[RecordSummary], now: dt.datetime) -> list[dt.date]:
    """The days the trend shows: at least :data:`TREND_DAYS` up to the period's last day (all of a
    longer period; today at the latest), from no earlier than the first day evidence covers; sampled
    evenly when there are more than :data:`MAX_TREND_POINTS`, the last day always kept."""
    last = min(last_day(period), _day(now))
    first = min(period.start.date(), last - dt.timedelta(days=TREND_DAYS - 1))
    covered = [r.period.start.date() for r in records]
    if covered:
        first = max(first, min(covered))
    first = min(first, last)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if len(days) > MAX_TREND_POINTS:
        step = math.ceil(len(days) / MAX_TREND_POINTS)
        days = days[::-1][::step][::-1]
    return days


def passing_share(
    records: Iterable[RecordSummary], days: Sequence[dt.date], known_at: dt.datetime
) -> dict[str, tuple[DayShare, ...]]:
    """Per DAG and day: how many of the current verdicts about that day pass (``passed`` or
    ``warning``, as coverage counts them), of how many. The reports' own records are left out: a
    report restates the others, and its ``warning`` would read as a pass."""
    wanted = set(days)
    tally: dict[str, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in records:
        day = last_day(r.period)
        if r.superseded or r.ended_at > known_at or day not in wanted or r.check == REPORT.id:
            continue
        cell = tally[_dag_of(r)][day]
        cell[0] += r.status in PASSING
        cell[1] += 1
    return {dag: tuple(DayShare(*tally[dag].get(d, (0, 0))) for d in days) for dag in sorted(tally)}


def age_bucket(days: int) -> str:
    for bound, label in AGE_BUCKETS:
        if bound is None or days <= bound:
            return label
    raise AssertionError("the last bucket has no bound")


def open_nonconformities(ledger: Iterable[Nonconformity], coverage: Coverage) -> list[NcView]:
    """Every nonconformity open at the coverage's ``as_of`` (oldest first), with the SoA's rows it is
    open against (none when its check names no control the SoA lists)."""
    as_of = coverage.as_of
    rows = {nc.id: [] for nc in ledger}  # type: dict[str, list[str]]
    for c in coverage.controls:
        for nc in c.nonconformities:
            rows.setdefault(nc.id, []).append(c.id)
    out = []
    for nc in ledger:
        if not is_open_at(nc, as_of):
            continue
        age = (_day(as_of) - _day(nc.opened_at)).days
        out.append(
            NcView(
                nc.id,
                nc.cause.label(),
                nc.cause.check,
                nc.cause.dataset,
                nc.opened_at,
                age,
                age_bucket(age),
                len(nc.occurrences),
                nc.last_record,
                tuple(rows.get(nc.id, ())),
            )
        )
    return sorted(out, key=lambda n: (n.opened_at, n.id))


def _verdict_of(row: ControlCoverage) -> str | None:
    return row.verdict.status if row.verdict else None


def changes_since(
    previous: str | None,
    doc: dict[str, Any] | None,
    coverage: Coverage,
    open_ncs: Sequence[NcView],
    ledger: Iterable[Nonconformity],
    note: str | None = None,
) -> Changes:
    """The difference between ``doc`` (the previous report's JSON, record ``previous``) and now."""
    if previous is None or doc is None:
        return Changes(previous, note=note or "no earlier report: nothing to compare with")
    try:
        before = {
            c["id"]: (c.get("freshness"), (c.get("verdict") or {}).get("status"))
            for c in doc["coverage"]["controls"]
        }
        before_open = {n["id"] for n in doc["management_review"]["open_nonconformities"]}
        counts_before = dict(doc["coverage"]["summary"])
        period = doc["period"]["label"]
        as_of = doc["as_of"]
    except (KeyError, TypeError) as exc:
        return Changes(previous, note=f"the previous report {previous} could not be read ({exc!r})")
    changed = []
    for row in coverage.controls:
        after = (str(row.freshness), _verdict_of(row))
        was = before.get(row.id, (None, None))
        if was != after:
            changed.append(ControlChange(row.id, row.title, was, after))
    now_open = [n.id for n in open_ncs]
    by_id = {nc.id: nc for nc in ledger}
    closed = []
    for nc_id in sorted(before_open - set(now_open)):
        nc = by_id.get(nc_id)
        closure = nc.closure if nc is not None else None
        closed.append(
            ClosedNc(
                nc_id,
                closure.closed_at.isoformat() if closure else None,
                closure.closed_by if closure else None,
                closure.record if closure else None,
            )
        )
    return Changes(
        previous,
        period,
        as_of,
        tuple(changed),
        tuple(n for n in now_open if n not in before_open),
        tuple(closed),
        counts_before,
        note,
    )


def report_status(
    coverage: Coverage, open_ncs: Sequence[NcView], risks: RiskView | None
) -> tuple[Status, list[str]]:
    """``failed`` when record folders of the store do not verify (the report cannot vouch that it saw
    all evidence, and someone must act); ``warning`` when an applicable control has a gap (stale or
    missing evidence, a failing latest verdict, an open nonconformity), any nonconformity is open or a
    risk is above appetite without acceptance; else ``passed``. Gaps are findings about the AIMS that
    the report hands to management: the report itself worked, so they do not fail it."""
    reasons = []
    if coverage.rejected:
        n = len(coverage.rejected)
        reasons.append(f"{_plural(n, 'record folder')} of the store do not verify and were not counted")
    gaps = [c.id for c in coverage.gaps]
    if gaps:
        reasons.append(f"{_plural(len(gaps), 'applicable control')} with a gap ({_ids(gaps, 8)})")
    if open_ncs:
        noun = _plural(len(open_ncs), "open nonconformity", "open nonconformities")
        reasons.append(f"{noun} ({_ids([n.id for n in open_ncs], 5)})")
    unaccepted = [r.id for r in risks.above_appetite if r.unaccepted] if risks else []
    if unaccepted:
        reasons.append(
            f"{_plural(len(unaccepted), 'risk')} above appetite, not accepted ({_ids(unaccepted, 5)})"
        )
    if coverage.rejected:
        return Status.failed, reasons
    return (Status.warning if reasons else Status.passed), reasons


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceReport:
    period: Period
    known_at: dt.datetime
    coverage: Coverage
    trend: Trend
    history: tuple[DagHistory, ...]
    nonconformities: tuple[NcView, ...]
    risks: RiskView | None
    changes: Changes
    records_read: int
    risk_note: str | None = None
    status: Status = Status.passed
    reasons: tuple[str, ...] = field(default=())

    @property
    def as_of(self) -> dt.datetime:
        return self.coverage.as_of

    @property
    def untrusted(self) -> tuple[Untrusted, ...]:
        return self.coverage.rejected

    def applicable(self, kind: str = "annex_a") -> list[ControlCoverage]:
        return [c for c in self.coverage.controls if c.kind == kind and c.applicable]

    def frameworks(self) -> list[tuple[str, str, list[FrameworkItemCoverage]]]:
        """(name, title, rows) of every framework, the base (ISO/IEC 42001) first."""
        cov = self.coverage
        return [(name, cov.crosswalk.title(name), cov.by_framework(name)) for name in cov.frameworks]

    def nc_by_age(self) -> dict[str, int]:
        counts = Counter(n.bucket for n in self.nonconformities)
        return {label: counts.get(label, 0) for _, label in AGE_BUCKETS}

    def summary_lines(self) -> list[str]:
        """The report in plain words, most important first: what a manager reads."""
        return summary_lines(self)

    def as_dict(self) -> dict[str, Any]:
        cov = self.coverage
        stale = [c for c in cov.controls if c.applicable and c.freshness == Freshness.stale]
        missing = [c for c in cov.controls if c.applicable and c.freshness == Freshness.missing]
        failing = [
            c for c in cov.controls if c.applicable and c.verdict and c.verdict.status in ("failed", "error")
        ]
        return {
            "format": REPORT_FORMAT,
            "period": self.period.as_dict(),
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at.isoformat(),
            "status": str(self.status),
            "status_reasons": list(self.reasons),
            "summary": {
                "text": self.summary_lines(),
                "counts": cov.summary(),
                "records_read": self.records_read,
                "open_nonconformities": len(self.nonconformities),
                "untrusted_records": len(self.untrusted),
            },
            "coverage": cov.as_dict(),
            "management_review": {
                "open_nonconformities": [n.as_dict() for n in self.nonconformities],
                "by_age": self.nc_by_age(),
                "risks": self.risks.as_dict() if self.risks else None,
                "risk_note": self.risk_note,
                "stale_controls": [c.id for c in stale],
                "missing_controls": [c.id for c in missing],
                "failing_controls": [c.id for c in failing],
                "changes": self.changes.as_dict(),
            },
            "run_history": [h.as_dict() for h in self.history],
            "trend": self.trend.as_dict(),
        }


def build_report(
    sources: Sources,
    period: Period,
    *,
    previous: tuple[str | None, dict[str, Any] | None, str | None] = (None, None, None),
    risks: RiskView | None = None,
    risk_note: str | None = None,
) -> ComplianceReport:
    """The report of ``period``. ``previous``: (key, JSON, note) of the previous report record;
    ``risks``: the latest reassessment's register (``risk_note`` says why there is none)."""
    records = sources.loaded.records
    known_at = to_utc(sources.now)
    coverage = sources.coverage_until(period.end)
    days = trend_days(period, [r for r in records if r.ended_at <= known_at], known_at)
    points = []
    for day in days:
        end = Period.day(day).end
        cov = coverage if end == period.end else sources.coverage_until(end)
        points.append(TrendPoint(day, cov.as_of, cov.summary()))
    trend = Trend(tuple(days), tuple(points), passing_share(records, days, known_at))
    ncs = open_nonconformities(sources.ledger, coverage)
    changes = changes_since(previous[0], previous[1], coverage, ncs, sources.ledger, previous[2])
    status, reasons = report_status(coverage, ncs, risks)
    return ComplianceReport(
        period=period,
        known_at=known_at,
        coverage=coverage,
        trend=trend,
        history=tuple(run_history(records, period, known_at)),
        nonconformities=tuple(ncs),
        risks=risks,
        changes=changes,
        records_read=sum(r.ended_at <= known_at for r in records),
        risk_note=risk_note,
        status=status,
        reasons=tuple(reasons),
    )


# --- the words ---------------------------------------------------------------------------------


def _age_text(c: ControlCoverage) -> str:
    deciding = c.deciding
    if deciding is not None and deciding.age_days is not None and deciding.age_days > deciding.max_age_days:
        return f"{c.id} ({_plural(deciding.age_days, 'day')}, max {deciding.max_age_days})"
    reason = (c.gap or "").split(";")[0]
    return f"{c.id} ({reason})" if reason else c.id


def _controls_sentence(rows: list[ControlCoverage], noun: str, excluded: int = 0) -> list[str]:
    fresh = [c for c in rows if c.freshness == Freshness.fresh]
    stale = [c for c in rows if c.freshness == Freshness.stale]
    missing = [c for c in rows if c.freshness == Freshness.missing]
    failing = [c for c in rows if c.verdict and c.verdict.status in ("failed", "error")]
    clean = [c for c in fresh if not c.gap]
    first = f"{len(fresh)} of {len(rows)} applicable {noun} evidenced and fresh"
    if excluded:
        first += f" ({excluded} more excluded by the Statement of Applicability)"
    if len(clean) != len(fresh):
        first += f"; {len(clean)} of them without any gap"
    lines = [first + "."]
    if stale:
        lines.append(f"{len(stale)} stale: " + _ids([_age_text(c) for c in stale], sep="; ") + ".")
    if missing:
        jobs = [c.id for c in missing if not c.manual]
        documents = [c.id for c in missing if c.manual]
        parts = []
        if jobs:
            parts.append(f"no passing record for {_ids(jobs)}")
        if documents:
            parts.append(f"{_plural(len(documents), 'document')} never ingested for {_ids(documents)}")
        lines.append(f"{len(missing)} without passing evidence: {'; '.join(parts)}.")
    if failing:
        shown = [f"{c.id} ({c.verdict.status}, {c.verdict.period})" for c in failing if c.verdict]
        lines.append(f"{len(failing)} with a failing latest verdict: {_ids(shown, 6)}.")
    return lines


def summary_lines(report: ComplianceReport) -> list[str]:
    cov = report.coverage
    lines: list[str] = []
    if report.untrusted:
        shown = "; ".join(f"{u.key} ({u.problem})" for u in report.untrusted[:3])
        more = f" and {len(report.untrusted) - 3} more" if len(report.untrusted) > 3 else ""
        lines.append(
            f"{_plural(len(report.untrusted), 'record folder')} of the store do not verify and were not "
            f"counted: {shown}{more}."
        )
    annex = report.applicable("annex_a")
    excluded = sum(1 for c in cov.annex_a if not c.applicable)
    clauses = report.applicable("clause")
    if report.records_read == 0:
        lines.append(
            f"No verified evidence in the store yet: none of the {len(annex)} applicable Annex A controls"
            + (f" and {len(clauses)} management-system clauses" if clauses else "")
            + " is evidenced."
        )
    else:
        lines += _controls_sentence(annex, "Annex A controls", excluded)
        if clauses:
            clause_lines = _controls_sentence(clauses, "management-system clauses")
            lines.append("Clauses: " + " ".join(clause_lines))
    ncs = report.nonconformities
    if not ncs:
        lines.append("No open nonconformity.")
    elif len(ncs) == 1:
        lines.append(f"1 open nonconformity, {_days_old(ncs[0].age_days)}: {ncs[0].id} ({ncs[0].cause}).")
    else:
        oldest = max(n.age_days for n in ncs)
        over = sum(n.age_days > 30 for n in ncs)
        lines.append(
            f"{len(ncs)} open nonconformities, the oldest {_days_old(oldest)}"
            + (f", {over} older than 30 days" if over else "")
            + "."
        )
    if report.risks is None:
        lines.append(report.risk_note or "No reassessment of the risk register yet.")
    else:
        r = report.risks
        above = r.above_appetite
        text = f"Risk register (reassessment {r.period}): "
        if above:
            text += (
                f"{len(above)} of {_plural(len(r.risks), 'risk')} above appetite {r.appetite}: "
                + ", ".join(
                    f"{x.id} ({x.score}, {x.level}{', not accepted' if x.unaccepted else ', accepted'})"
                    for x in above
                )
                + "."
            )
        else:
            text += f"none of {_plural(len(r.risks), 'risk')} above appetite {r.appetite}."
        lines.append(text)
    ch = report.changes
    if ch.previous is None or ch.previous_period is None:
        lines.append(f"Changes: {ch.note}." if ch.note else "Changes: no earlier report.")
    else:
        parts = []
        if ch.controls:
            shown = ", ".join(
                f"{c.id} {c.before[0] or 'not listed'} → {c.after[0]}"
                if c.before[0] != c.after[0]
                else f"{c.id} verdict {c.before[1] or 'none'} → {c.after[1] or 'none'}"
                for c in ch.controls[:6]
            )
            more = f" and {len(ch.controls) - 6} more" if len(ch.controls) > 6 else ""
            parts.append(f"{_plural(len(ch.controls), 'control')} changed ({shown}{more})")
        if ch.opened:
            parts.append(f"opened {', '.join(ch.opened)}")
        if ch.closed:
            parts.append(f"closed {', '.join(c.id for c in ch.closed)}")
        lines.append(
            f"Since the report of {ch.previous_period}: " + ("; ".join(parts) if parts else "no change") + "."
        )
    return lines
