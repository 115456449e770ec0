"""Coverage: the one computation of which controls are evidenced, how freshly, with what verdict and
which nonconformities are open. The CLI (``aimsflow soa``), the HTML report and the UI render
:class:`Coverage`; none of them computes a number of its own.

Inputs are what a reader already verified: :func:`aimsflow.evidence.listing.load_verified`'s records
(the folders it refused are reported, never counted), the Statement of Applicability, the
crosswalk, and the nonconformity ledger. Pure: no store, no clock, no Airflow; ``as_of`` is the
moment coverage is judged at, so the same inputs always give the same coverage.

Rules (docs/controls.md says them for people):

* Records count once they existed at ``as_of`` (``ended_at`` not later; or at ``known_at`` when
  given); with ``period``, only those whose period overlaps it (a manual document: whose validity
  does). Among those, the current verdicts
  (latest run, highest try, per check, subject and period) are read; a superseded record never
  counts.
* A control's requirement is each check (or glob) the SoA lists for it, or its manual documents.
  Only records that name the control count.
* Job evidence: the *latest verdict* is the worst status among the records of the latest day the
  requirement reported on; *freshness* comes from the latest passing (``passed``/``warning``)
  record: its age is the number of days from the last day it covers to the day of ``as_of`` (a
  daily record of yesterday is 1 day old), fresh while ``age_days <= max_age_days``, stale after,
  missing when there never was one.
* Manual evidence: ``manual_evidence/document`` records naming the control. A document's validity
  and review date are in the record's summary (``valid_from``, ``valid_to``: null is until
  superseded, ``review_date``), never the record's period (the hour of the run that ingested it).
  The versions of one document (``document_id``) supersede each other in the order they were
  ingested, each from its ``valid_from`` on: at ``as_of`` the current version is the latest-ingested
  one already in force; a document with no version in force yet (``valid_from`` after ``as_of``'s
  day) is no evidence. ``error`` records (an ingestion that broke) and duplicate re-drops
  (``duplicate_of``: nothing ingested) are not documents; an ``error`` record gives no verdict
  either (its nonconformity shows instead). A current document is stale when older than
  ``max_age_days`` (from its ``valid_from``), past its ``review_date`` (the review date itself is
  still fine), or past its ``valid_to`` (that day itself is still fine). Of several documents naming
  the control, the freshest counts (then the one in force latest). The latest verdict is the latest
  ingested record's.
* A control's freshness is the worst of its requirements' (missing > stale > fresh); its verdict
  the worst status; ``excluded`` controls are neither.
* Open nonconformities touch a control when one of their failing records names it (or, when those
  records are no longer in the store, when their check declares it).
* A framework item's row aggregates the ISO controls the crosswalk maps to it: the worst freshness
  and verdict among the applicable ones, their open nonconformities and which controls have a gap.
  Nothing is evidenced twice: every framework reads the same ISO rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aimsflow.compliance.crosswalk import BASE, Crosswalk
from aimsflow.compliance.soa import MANUAL_CHECK, Requirement, Soa, SoaControl
from aimsflow.evidence.listing import Loaded, RecordSummary, Untrusted, mark_superseded
from aimsflow.periods import Period, to_utc
from aimsflow.results import Status

if TYPE_CHECKING:
    from aimsflow.risk.nonconformity import Nonconformity

PASSING = (Status.passed, Status.warning)
_STATUS_RANK = {"passed": 0, "warning": 1, "failed": 2, "error": 3}


class Freshness(StrEnum):
    fresh = "fresh"
    stale = "stale"
    missing = "missing"
    excluded = "excluded"


_FRESHNESS_RANK = {Freshness.excluded: 0, Freshness.fresh: 1, Freshness.stale: 2, Freshness.missing: 3}


def worst_freshness(values: Iterable[Freshness]) -> Freshness:
    return max(values, key=_FRESHNESS_RANK.__getitem__, default=Freshness.excluded)


def worst_status(values: Iterable[str | None]) -> str | None:
    known = [v for v in values if v is not None]
    return max(known, key=_STATUS_RANK.__getitem__, default=None)


def last_day(period: Period) -> dt.date:
    """The last UTC day a period covers (``[2026-11-20, 2026-11-21)`` -> 2026-11-20)."""
    return (period.end - dt.timedelta(microseconds=1)).date()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Verdict:
    """One record as a verdict: its status, where it is, what it covers."""

    status: str
    record: str
    check: str
    period: str
    last_day: dt.date
    ended_at: dt.datetime

    @classmethod
    def of(cls, r: RecordSummary) -> Verdict:
        return cls(str(r.status), r.key, r.check, r.period.label, last_day(r.period), r.ended_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "record": self.record,
            "check": self.check,
            "period": self.period,
            "last_day": self.last_day.isoformat(),
            "ended_at": self.ended_at.isoformat(),
        }


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Document:
    """What a manual evidence record says about its document: its summary, as the ``manual_evidence``
    job writes it. The document's validity is the sidecar's (``valid_from``, ``valid_to``: None is
    open-ended, until a newer version supersedes it), never the record's period (the run's hour)."""

    title: str | None
    owner: str | None
    document: str | None
    review_date: dt.date | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    document_id: str | None = None

    @classmethod
    def of(cls, r: RecordSummary) -> Document:
        s = r.summary
        return cls(
            title=s.get("title"),
            owner=s.get("owner"),
            document=s.get("document"),
            review_date=_day(s.get("review_date")),
            valid_from=_day(s.get("valid_from")),
            valid_to=_day(s.get("valid_to")),
            document_id=s.get("document_id"),
        )

    @property
    def name(self) -> str:
        return self.title or self.document or "document"

    def in_force_from(self, r: RecordSummary) -> dt.date:
        """The first day it is in force: ``valid_from`` (a record without one: the day it was ingested)."""
        return self.valid_from or r.period.start.date()

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "owner": self.owner,
            "document": self.document,
            "document_id": self.document_id,
            "review_date": self.review_date.isoformat() if self.review_date else None,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


@dataclass(frozen=True)
class Evidence:
    """One requirement of a control: a listed check (or glob), or its manual documents."""

    source: str  # the check id or glob as the SoA lists it, or "manual"
    max_age_days: int
    latest: Verdict | None
    last_pass: Verdict | None
    age_days: int | None
    freshness: Freshness
    gap: str | None
    document: Document | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "max_age_days": self.max_age_days,
            "latest": self.latest.as_dict() if self.latest else None,
            "last_pass": self.last_pass.as_dict() if self.last_pass else None,
            "age_days": self.age_days,
            "freshness": str(self.freshness),
            "gap": self.gap,
            "document": self.document.as_dict() if self.document else None,
        }


@dataclass(frozen=True)
class OpenNonconformity:
    id: str
    cause: str
    opened_at: dt.datetime
    occurrences: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cause": self.cause,
            "opened_at": self.opened_at.isoformat(),
            "occurrences": self.occurrences,
        }


@dataclass(frozen=True)
class ControlCoverage:
    """One control's row: the SoA's line with its live status."""

    id: str
    title: str
    kind: str  # annex_a | clause
    applicable: bool
    justification: str
    checks: tuple[str, ...]
    manual: bool
    max_age_days: int | None
    verdict: Verdict | None  # the worst latest verdict among its requirements
    freshness: Freshness
    age_days: int | None  # of the requirement that sets the freshness
    evidence: tuple[Evidence, ...]
    nonconformities: tuple[OpenNonconformity, ...]
    gap: str | None  # what is wrong, in words; None when nothing is

    @property
    def evidenced_by(self) -> str:
        if not self.applicable:
            return "excluded"
        return "manual" if self.manual else ", ".join(self.checks)

    @property
    def deciding(self) -> Evidence | None:
        """The requirement that sets the row's freshness and age (the oldest of the worst): its
        ``max_age_days`` is the cadence the age is held against (a requirement may set its own)."""
        worst = [e for e in self.evidence if e.freshness == self.freshness]
        return max(worst, key=lambda e: -1 if e.age_days is None else e.age_days, default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "applicable": self.applicable,
            "justification": self.justification,
            "checks": list(self.checks),
            "manual": self.manual,
            "max_age_days": self.max_age_days,
            "verdict": self.verdict.as_dict() if self.verdict else None,
            "freshness": str(self.freshness),
            "age_days": self.age_days,
            "evidence": [e.as_dict() for e in self.evidence],
            "nonconformities": [nc.as_dict() for nc in self.nonconformities],
            "gap": self.gap,
        }


@dataclass(frozen=True)
class FrameworkItemCoverage:
    """One item of a framework, aggregated from the ISO controls mapped to it."""

    framework: str
    item: str
    title: str
    controls: tuple[str, ...]  # ISO ids mapped to the item (that the SoA lists)
    sources: tuple[str, ...]  # the crosswalk sources of those mappings
    applicable: bool  # at least one mapped control is applicable
    freshness: Freshness
    verdict: str | None
    nonconformities: tuple[str, ...]
    gaps: tuple[str, ...]  # mapped controls with a gap
    not_in_soa: tuple[str, ...] = ()  # mapped clauses the SoA gives no cadence (not judged)

    def as_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "item": self.item,
            "title": self.title,
            "controls": list(self.controls),
            "sources": list(self.sources),
            "applicable": self.applicable,
            "freshness": str(self.freshness),
            "verdict": self.verdict,
            "nonconformities": list(self.nonconformities),
            "gaps": list(self.gaps),
            "not_in_soa": list(self.not_in_soa),
        }


@dataclass(frozen=True)
class Coverage:
    as_of: dt.datetime
    period: Period | None
    soa: Soa
    crosswalk: Crosswalk
    controls: tuple[ControlCoverage, ...]
    rejected: tuple[Untrusted, ...] = field(default=())

    def control(self, control_id: str) -> ControlCoverage:
        for row in self.controls:
            if row.id == control_id:
                return row
        raise KeyError(f"{control_id} is not in the Statement of Applicability")

    @property
    def annex_a(self) -> list[ControlCoverage]:
        return [c for c in self.controls if c.kind == "annex_a"]

    @property
    def gaps(self) -> list[ControlCoverage]:
        """Applicable controls with something wrong: stale or missing evidence, a failing latest
        verdict, or open nonconformities."""
        return [c for c in self.controls if c.applicable and c.gap]

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.rejected

    @property
    def frameworks(self) -> list[str]:
        return self.crosswalk.names

    def by_framework(self, name: str) -> list[FrameworkItemCoverage]:
        """Rows of framework ``name``: ``iso42001`` (one per control of the SoA), or an item of the
        crosswalk per row, aggregated from the ISO controls mapped to it."""
        if name == BASE:
            return [
                FrameworkItemCoverage(
                    BASE,
                    c.id,
                    c.title,
                    (c.id,),
                    (),
                    c.applicable,
                    c.freshness,
                    c.verdict.status if c.verdict else None,
                    tuple(nc.id for nc in c.nonconformities),
                    (c.id,) if c.applicable and c.gap else (),
                )
                for c in self.controls
            ]
        rows = {c.id: c for c in self.controls}
        out = []
        for item, links in self.crosswalk.items(name).items():
            mapped = list(dict.fromkeys(link.control for link in links))
            known = [rows[c] for c in mapped if c in rows]
            applicable = [c for c in known if c.applicable]
            ncs = sorted({nc.id for c in applicable for nc in c.nonconformities})
            out.append(
                FrameworkItemCoverage(
                    framework=name,
                    item=item,
                    title=self.crosswalk.item_title(name, item),
                    controls=tuple(c.id for c in known),
                    sources=tuple(sorted({link.source for link in links})),
                    applicable=bool(applicable),
                    freshness=worst_freshness(c.freshness for c in applicable),
                    verdict=worst_status(c.verdict.status if c.verdict else None for c in applicable),
                    nonconformities=tuple(ncs),
                    gaps=tuple(c.id for c in applicable if c.gap),
                    not_in_soa=tuple(c for c in mapped if c not in rows),
                )
            )
        return out

    def summary(self) -> dict[str, int]:
        """Counts over the Annex A controls (the SoA's 38)."""
        rows = self.annex_a
        applicable = [c for c in rows if c.applicable]
        return {
            "annex_a": len(rows),
            "applicable": len(applicable),
            "excluded": len(rows) - len(applicable),
            "manual": sum(c.manual for c in applicable),
            "job_evidenced": sum(not c.manual for c in applicable),
            "fresh": sum(c.freshness == Freshness.fresh for c in applicable),
            "stale": sum(c.freshness == Freshness.stale for c in applicable),
            "missing": sum(c.freshness == Freshness.missing for c in applicable),
            "failing": sum(bool(c.verdict and c.verdict.status in ("failed", "error")) for c in applicable),
            "with_open_nonconformities": sum(bool(c.nonconformities) for c in applicable),
            "with_gaps": sum(bool(c.gap) for c in applicable),
        }

    def as_dict(self, frameworks: Sequence[str] | None = None) -> dict[str, Any]:
        """JSON-friendly: the SoA's rows with their status, each framework's view, the counts and
        the record folders that were not read."""
        names = list(frameworks) if frameworks is not None else self.frameworks
        return {
            "as_of": self.as_of.isoformat(),
            "period": self.period.as_dict() if self.period else None,
            "soa": {
                "scope": self.soa.scope,
                "approved_by": self.soa.approved_by,
                "approved_on": self.soa.approved_on.isoformat(),
            },
            "ok": self.ok,
            "summary": self.summary(),
            "controls": [c.as_dict() for c in self.controls],
            "frameworks": {
                name: {
                    "title": self.crosswalk.title(name),
                    "items": [row.as_dict() for row in self.by_framework(name)],
                }
                for name in names
            },
            "sources": {
                sid: {"kind": s.kind, "title": s.title, "publisher": s.publisher, "year": s.year}
                for sid, s in self.crosswalk.sources.items()
            },
            "untrusted_records": [u.as_dict() for u in self.rejected],
        }


# --- the computation ---------------------------------------------------------------------------


def _visible(
    records: Iterable[RecordSummary], as_of: dt.datetime, period: Period | None, known_at: dt.datetime
) -> list[RecordSummary]:
    """The records that existed at ``known_at`` (and overlap ``period``), supersession marked among
    them only: a rerun written after ``known_at`` does not yet supersede what it later replaced."""
    out = [
        replace(r)
        for r in records
        if r.ended_at <= known_at and r.period.start <= as_of and (period is None or _about(r, period))
    ]
    mark_superseded(out)
    return [r for r in out if not r.superseded]


def _about(r: RecordSummary, period: Period) -> bool:
    """Whether ``r`` is about ``period``: its period overlaps it; for a manual document, its validity
    (from the summary; the record's period is only the hour it was ingested)."""
    doc = Document.of(r) if r.check == MANUAL_CHECK else None
    if doc is None or doc.valid_from is None:
        return r.period.overlaps(period)
    start = dt.datetime.combine(doc.valid_from, dt.time(), dt.UTC)
    if doc.valid_to is None:
        return start < period.end
    return start < period.end and period.start < dt.datetime.combine(
        doc.valid_to, dt.time(), dt.UTC
    ) + dt.timedelta(days=1)


def current_records(
    records: Iterable[RecordSummary],
    as_of: dt.datetime,
    period: Period | None = None,
    known_at: dt.datetime | None = None,
) -> list[RecordSummary]:
    """The records coverage reads at ``as_of``: those that existed at ``known_at`` (default
    ``as_of``) and overlap ``period``, the current verdict of each check, subject and period among
    them (for renderers that list the evidence beside the coverage, e.g. the OSCAL observations)."""
    as_of = to_utc(as_of)
    return _visible(records, as_of, period, to_utc(known_at) if known_at else as_of)


def fresh_until(record: RecordSummary, max_age_days: int) -> dt.date:
    """The last UTC day ``record`` is fresh evidence under a cadence of ``max_age_days`` by the rules
    above: a job record until ``max_age_days`` after the last day it covers; a manual document until
    ``max_age_days`` after its ``valid_from``, and no later than its review date and its ``valid_to``
    (from its summary, not the record's period). From the next day on it is stale (``as_of`` on that
    day judges it stale; the last instant of this day, fresh). A newer version that supersedes a
    document later is not foreseen here."""
    if record.check == MANUAL_CHECK:
        doc = Document.of(record)
        days = [doc.in_force_from(record) + dt.timedelta(days=max_age_days)]
        days += [d for d in (doc.valid_to, doc.review_date) if d is not None]
        return min(days)
    return last_day(record.period) + dt.timedelta(days=max_age_days)


def _latest_verdict(records: list[RecordSummary]) -> Verdict | None:
    """The worst status among the records of the latest day covered (several datasets a day)."""
    if not records:
        return None
    newest = max(last_day(r.period) for r in records)
    on_it = [r for r in records if last_day(r.period) == newest]
    worst = max(on_it, key=lambda r: (_STATUS_RANK[str(r.status)], r.order))
    return Verdict.of(worst)


def _job_evidence(req: Requirement, control: str, naming: list[RecordSummary], today: dt.date) -> Evidence:
    recs = [r for r in naming if req.covers(r.check)]
    latest = _latest_verdict(recs)
    passing = [r for r in recs if r.status in PASSING]
    what = f"passing {req.pattern} record"
    if not passing:
        gap = f"no {what} naming {control}"
        if latest is not None:
            gap += f" (latest: {latest.status}, {latest.period})"
        return Evidence(req.pattern, req.max_age_days, latest, None, None, Freshness.missing, gap)
    best = max(passing, key=lambda r: (last_day(r.period), r.order))
    last_pass = Verdict.of(best)
    age = (today - last_pass.last_day).days
    gaps = []
    freshness = Freshness.fresh
    if age > req.max_age_days:
        freshness = Freshness.stale
        gaps.append(
            f"no {what} since {last_pass.last_day.isoformat()} ({_plural(age, 'day')}, max {req.max_age_days})"
        )
    if latest is not None and latest.status not in ("passed", "warning"):
        gaps.append(f"latest {req.pattern} verdict {latest.status} ({latest.period})")
    return Evidence(req.pattern, req.max_age_days, latest, last_pass, age, freshness, "; ".join(gaps) or None)


def _document_evidence(
    entry: SoaControl, r: RecordSummary, doc: Document, today: dt.date, latest: Verdict | None
) -> Evidence:
    max_age = int(entry.max_age_days or 0)
    age = (today - doc.in_force_from(r)).days
    gaps = []
    if doc.review_date is not None and doc.review_date < today:
        gaps.append(f"'{doc.name}' past its review date {doc.review_date.isoformat()}")
    if doc.valid_to is not None and doc.valid_to < today:
        gaps.append(f"'{doc.name}' valid only until {doc.valid_to.isoformat()}")
    if age > max_age:
        gaps.append(f"'{doc.name}' is {_plural(age, 'day')} old (max {max_age})")
    freshness = Freshness.stale if gaps else Freshness.fresh
    if latest is not None and latest.status not in ("passed", "warning"):
        gaps.append(f"latest manual evidence {latest.status} ({latest.record})")
    return Evidence("manual", max_age, latest, Verdict.of(r), age, freshness, "; ".join(gaps) or None, doc)


def _ingestion(r: RecordSummary) -> tuple[dt.datetime, tuple[str, int, str]]:
    return (r.ended_at, r.order)


def _manual_evidence(entry: SoaControl, naming: list[RecordSummary], today: dt.date) -> Evidence:
    max_age = int(entry.max_age_days or 0)
    # An ``error`` record is an ingestion that broke (a bad sidecar): no verdict on this control's
    # document (it may name every control the job declares); it opens a nonconformity instead. A
    # duplicate re-drop ingested nothing: it is no version of the document (and evidences 7.5.3 only).
    recs = [
        r
        for r in naming
        if r.check == MANUAL_CHECK and r.status != Status.error and not r.summary.get("duplicate_of")
    ]
    latest_rec = max(recs, key=_ingestion, default=None)
    latest = Verdict.of(latest_rec) if latest_rec else None
    # The versions of each document (``document_id``), in the order they were ingested: a version is
    # in force from its ``valid_from`` until a later-ingested version is (which supersedes it).
    versions: dict[str, list[tuple[RecordSummary, Document]]] = defaultdict(list)
    for r in sorted((r for r in recs if r.status in PASSING), key=_ingestion):
        doc = Document.of(r)
        versions[doc.document_id or r.key].append((r, doc))
    current: list[tuple[RecordSummary, Document]] = []
    upcoming: list[Document] = []
    for chain in versions.values():
        started = [(r, doc) for r, doc in chain if doc.in_force_from(r) <= today]
        if started:
            current.append(started[-1])
        else:
            upcoming.append(min((doc for _, doc in chain), key=lambda d: d.valid_from or today))
    if not current:
        gap = f"no document ingested for {entry.id}"
        if upcoming:
            first = min(upcoming, key=lambda d: d.valid_from or today)
            when = first.valid_from.isoformat() if first.valid_from else "later"
            gap = f"no document in force for {entry.id} ('{first.name}' is valid only from {when})"
        elif latest is not None:
            gap = f"no accepted document for {entry.id} (latest: {latest.status}, {latest.record})"
        return Evidence("manual", max_age, latest, None, None, Freshness.missing, gap)
    # Several documents may evidence one control: the freshest counts, then the one in force latest.
    judged = [_document_evidence(entry, r, doc, today, latest) for r, doc in current]
    return max(
        zip(judged, current, strict=True),
        key=lambda pair: (
            -_FRESHNESS_RANK[pair[0].freshness],
            pair[1][1].in_force_from(pair[1][0]),
            _ingestion(pair[1][0]),
        ),
    )[0]


def is_open_at(nc: Nonconformity, as_of: dt.datetime) -> bool:
    """Opened by ``as_of`` and not closed by then: the one rule of which nonconformities are open."""
    return nc.opened_at <= as_of and (nc.closure is None or nc.closure.closed_at > as_of)


def _open_nonconformities(
    control: str,
    ledger: Sequence[Nonconformity],
    known: dict[str, RecordSummary],
    declared: dict[str, tuple[str, ...]],
    as_of: dt.datetime,
) -> tuple[OpenNonconformity, ...]:
    out = []
    for nc in ledger:
        if not is_open_at(nc, as_of):
            continue
        present = [known[k] for k in nc.records if k in known]
        touches = (
            any(control in r.controls for r in present)
            if present
            else control in declared.get(nc.cause.check, ())
        )
        if touches:
            out.append(OpenNonconformity(nc.id, nc.cause.label(), nc.opened_at, len(nc.occurrences)))
    return tuple(sorted(out, key=lambda nc: (nc.opened_at, nc.id)))


def _declared_controls() -> dict[str, tuple[str, ...]]:
    try:
        from aimsflow.jobs import all_checks
    except ImportError:  # the verify-only install has no job declarations
        return {}
    return {c.id: c.controls for c in all_checks()}


def _control_row(
    entry: SoaControl,
    naming: list[RecordSummary],
    today: dt.date,
    ncs: tuple[OpenNonconformity, ...],
) -> ControlCoverage:
    if not entry.applicable:
        return ControlCoverage(
            entry.id,
            entry.title,
            entry.kind,
            False,
            entry.justification,
            (),
            False,
            None,
            None,
            Freshness.excluded,
            None,
            (),
            ncs,
            None,
        )
    if entry.manual:
        evidence: tuple[Evidence, ...] = (_manual_evidence(entry, naming, today),)
    else:
        evidence = tuple(_job_evidence(req, entry.id, naming, today) for req in entry.requirements)
    freshness = worst_freshness(e.freshness for e in evidence)
    setting = [e for e in evidence if e.freshness == freshness]
    ages = [e.age_days for e in setting if e.age_days is not None]
    verdicts = [e.latest for e in evidence if e.latest is not None]
    verdict = max(verdicts, key=lambda v: (_STATUS_RANK[v.status], v.last_day), default=None)
    gaps = [e.gap for e in evidence if e.gap]
    if ncs:
        noun = "open nonconformity" if len(ncs) == 1 else "open nonconformities"
        gaps.append(f"{len(ncs)} {noun}: {', '.join(nc.id for nc in ncs)}")
    return ControlCoverage(
        id=entry.id,
        title=entry.title,
        kind=entry.kind,
        applicable=True,
        justification=entry.justification,
        checks=entry.checks,
        manual=entry.manual,
        max_age_days=entry.max_age_days,
        verdict=verdict,
        freshness=freshness,
        age_days=max(ages) if ages else None,
        evidence=evidence,
        nonconformities=ncs,
        gap="; ".join(gaps) or None,
    )


def compute_coverage(
    loaded: Loaded,
    soa: Soa,
    crosswalk: Crosswalk,
    ledger: Iterable[Nonconformity],
    as_of: dt.datetime,
    period: Period | None = None,
    known_at: dt.datetime | None = None,
) -> Coverage:
    """Coverage of every control of ``soa`` at ``as_of`` from the verified records of ``loaded``
    (its ``rejected`` folders are carried along, never read), with the open nonconformities of
    ``ledger`` (the risk package's :func:`~aimsflow.risk.nonconformity.latest_ledger` or
    :func:`~aimsflow.risk.nonconformity.current_nonconformities`); ``period`` narrows the records to
    those whose period overlaps it. ``known_at`` (default ``as_of``) is when the records must have
    existed by: a report judging a past moment from the records known when it runs (the compliance
    report: records of a day are written the day after) passes a later ``known_at``."""
    as_of = to_utc(as_of)
    today = as_of.date()
    naming: dict[str, list[RecordSummary]] = defaultdict(list)  # control -> current records naming it
    for r in _visible(loaded.records, as_of, period, to_utc(known_at) if known_at else as_of):
        for control in r.controls:
            naming[control].append(r)
    known = {r.key: r for r in loaded.records}
    declared = _declared_controls()
    ledger = list(ledger)
    rows = tuple(
        _control_row(
            entry, naming[entry.id], today, _open_nonconformities(entry.id, ledger, known, declared, as_of)
        )
        for entry in soa.controls.values()
    )
    return Coverage(as_of, period, soa, crosswalk, rows, tuple(loaded.rejected))


def load_coverage(
    storage: Any,
    keys: Any = None,
    as_of: dt.datetime | None = None,
    period: Period | None = None,
    config: Any = None,
    evidence: Any = None,
    records: Loaded | None = None,
    can_read_dag: Callable[[str], bool] | None = None,
) -> Coverage:
    """Coverage of an evidence store: the one way every renderer (CLI, report, UI) reads it, so they
    show the same numbers. Records are read verified (:func:`~aimsflow.risk.evidence.load_evidence`);
    the nonconformities are the current ledger (the latest recorded one, then every later occurrence
    and closure: what ``aimsflow nc list`` shows); the SoA and crosswalk come from ``config`` (default
    the configured folder); ``evidence``, the store as :func:`~aimsflow.risk.evidence.load_evidence`
    already read it (a caller that lists the records too reads the store once). A reader restricted
    to some DAGs (the UI: a user's read permission) passes ``records``, the verified records it may
    show, and ``can_read_dag``: coverage then counts only those records and the nonconformities whose
    cause is a check of a DAG it may read; the ledger itself derives from the whole store (its ids
    and history do not depend on who looks). Raises :class:`~aimsflow.configfile.ConfigError` for a
    bad SoA or crosswalk."""
    from aimsflow.compliance.crosswalk import load_crosswalk
    from aimsflow.compliance.soa import load_soa
    from aimsflow.risk.evidence import load_evidence
    from aimsflow.risk.nonconformity import current_nonconformities

    soa, crosswalk = load_soa(config), load_crosswalk(config)
    evidence = evidence if evidence is not None else load_evidence(storage, keys)
    ledger, _, _ = current_nonconformities(storage, evidence)
    if can_read_dag is not None:
        ledger = [nc for nc in ledger if can_read_dag(nc.cause.check.split("/")[0])]
    loaded = (
        records if records is not None else Loaded(evidence.records, evidence.rejected, evidence.predicates)
    )
    return compute_coverage(loaded, soa, crosswalk, ledger, as_of or dt.datetime.now(dt.UTC), period)
