"""Nonconformities (ISO/IEC 42001 clause 10.2), derived from evidence records.

* Every ``failed`` verdict in the history, superseded or not, and every ``error`` on a final try, is
  an *occurrence* (a failure a passing re-run later superseded still happened). Its *cause* is the
  record's check and subject (AI system, dataset): the partition is where it happened, not why, so
  daily failures of one check on one dataset are one nonconformity.
* Occurrences count per period: a failing re-run of a period that already has an occurrence is
  evidence of that occurrence (listed in its ``reruns``), not another one.
* An occurrence whose cause has an open nonconformity attaches to it; otherwise it opens one. A
  record is attached at most once, ever: a closed nonconformity is never reopened by its own
  occurrences, and a new failure after the closure opens a new one.
* Occurrences and closures apply in the order they entered the evidence log
  (:attr:`~aimsflow.evidence.listing.RecordSummary.log_position`: seal, then place in the seal;
  records not sealed yet after sealed ones), not by ``run_after``: a catch-up run recorded after a
  closure carries the early ``run_after`` of its period, yet it failed after the closure.
* The risk process's own checks (:data:`~aimsflow.risk.evidence.SELF_CHECKS`) are never causes.
* A nonconformity closes only through a closure record (``nonconformity_close/close``, written by the
  closing DAG run of a named person) and only when a *later run* of the same check on the same
  subject passed: see :func:`closing_evidence`.

State survives in the append-only store: every reassessment writes the whole ledger
(``nonconformities.json``) into its signed record, and the next derivation starts from the newest
ledger, so an occurrence whose verdict is later superseded (a rerun that passed) stays attached.
Ids are derived from the cause and the first occurrence, so every derivation names a nonconformity
the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from aimsflow.evidence.listing import RecordSummary
from aimsflow.evidence.storage import Storage
from aimsflow.periods import parse_period
from aimsflow.results import Status
from aimsflow.risk.evidence import (
    LEDGER_FILE,
    SELF_CHECKS,
    Evidence,
    load_evidence,
    run_time,
)

LEDGER_FORMAT = "aimsflow-nonconformities/1"


@dataclass(frozen=True, order=True)
class Cause:
    check: str
    ai_system: str | None = None
    dataset: str | None = None

    @classmethod
    def of(cls, record: RecordSummary) -> Cause:
        return cls(record.check, record.subject.get("ai_system"), record.subject.get("dataset"))

    def label(self) -> str:
        return self.check + (f" [{self.dataset}]" if self.dataset else "")

    def as_dict(self) -> dict[str, str | None]:
        return {"check": self.check, "ai_system": self.ai_system, "dataset": self.dataset}


@dataclass(frozen=True)
class Rerun:
    """A later failing run of an occurrence's period: more evidence of the same occurrence."""

    record: str
    status: str
    at: dt.datetime

    def as_dict(self) -> dict[str, str]:
        return {"record": self.record, "status": self.status, "at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rerun:
        return cls(d["record"], d["status"], dt.datetime.fromisoformat(d["at"]))


@dataclass(frozen=True)
class Occurrence:
    """One period in which the cause failed: its first failing record and any failing re-runs."""

    record: str
    period: str
    status: str
    at: dt.datetime  # when its first failing run happened
    period_start: dt.datetime
    reruns: tuple[Rerun, ...] = ()

    @classmethod
    def of(cls, record: RecordSummary) -> Occurrence:
        return cls(record.key, record.period.label, str(record.status), run_time(record), record.period.start)

    @property
    def records(self) -> tuple[str, ...]:
        return (self.record, *(r.record for r in self.reruns))

    @property
    def last_at(self) -> dt.datetime:
        """When the period last failed (its latest failing run)."""
        return max([self.at, *(r.at for r in self.reruns)])

    @property
    def last_record(self) -> str:
        return max([(self.at, self.record), *((r.at, r.record) for r in self.reruns)])[1]

    def with_rerun(self, record: RecordSummary) -> Occurrence:
        return replace(self, reruns=(*self.reruns, Rerun(record.key, str(record.status), run_time(record))))

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "status": self.status,
            "at": self.at.isoformat(),
            "reruns": [r.as_dict() for r in self.reruns],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Occurrence:
        at = dt.datetime.fromisoformat
        start = at(d["period_start"]) if "period_start" in d else parse_period(d["period"]).start
        reruns = tuple(Rerun.from_dict(r) for r in d.get("reruns", []))
        return cls(d["record"], d["period"], d["status"], at(d["at"]), start, reruns)


def _per_period(occurrences: Iterable[Occurrence]) -> list[Occurrence]:
    """One occurrence per period, later ones of the same period folded in as re-runs (ledgers written
    before occurrences counted per period listed a re-run as an occurrence of its own)."""
    folded: dict[str, Occurrence] = {}
    for o in occurrences:
        first = folded.get(o.period)
        if first is None:
            folded[o.period] = o
            continue
        extra = (Rerun(o.record, o.status, o.at), *o.reruns)
        folded[o.period] = replace(first, reruns=(*first.reruns, *extra))
    return list(folded.values())


@dataclass(frozen=True)
class Closure:
    record: str
    closed_at: dt.datetime
    closed_by: str | None
    root_cause: str
    corrective_action: str
    evidence_of_pass: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "closed_at": self.closed_at.isoformat(),
            "closed_by": self.closed_by,
            "root_cause": self.root_cause,
            "corrective_action": self.corrective_action,
            "evidence_of_pass": self.evidence_of_pass,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Closure:
        return cls(
            d["record"],
            dt.datetime.fromisoformat(d["closed_at"]),
            d.get("closed_by"),
            d["root_cause"],
            d["corrective_action"],
            d["evidence_of_pass"],
        )


@dataclass
class Nonconformity:
    id: str
    cause: Cause
    occurrences: list[Occurrence] = field(default_factory=list)
    closure: Closure | None = None

    @property
    def status(self) -> str:
        return "open" if self.closure is None else "closed"

    @property
    def is_open(self) -> bool:
        return self.closure is None

    @property
    def opened_at(self) -> dt.datetime:
        return self.occurrences[0].at

    @property
    def last_at(self) -> dt.datetime:
        """When the cause last failed (re-runs included)."""
        return max(o.last_at for o in self.occurrences)

    @property
    def last_record(self) -> str:
        """The record of that latest failing run."""
        return max(self.occurrences, key=lambda o: o.last_at).last_record

    @property
    def records(self) -> tuple[str, ...]:
        """Every failing record of every occurrence."""
        return tuple(k for o in self.occurrences for k in o.records)

    def attach(self, record: RecordSummary) -> None:
        """Add a failing record: a re-run of a period already listed, or a new occurrence."""
        for i, o in enumerate(self.occurrences):
            if o.period == record.period.label:
                self.occurrences[i] = o.with_rerun(record)
                return
        self.occurrences.append(Occurrence.of(record))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "cause": self.cause.as_dict(),
            "opened_at": self.opened_at.isoformat(),
            "last_occurrence_at": self.last_at.isoformat(),
            "occurrences": [o.as_dict() for o in self.occurrences],
            "closure": self.closure.as_dict() if self.closure else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Nonconformity:
        c = d["cause"]
        return cls(
            d["id"],
            Cause(c["check"], c.get("ai_system"), c.get("dataset")),
            _per_period(Occurrence.from_dict(o) for o in d["occurrences"]),
            Closure.from_dict(d["closure"]) if d.get("closure") else None,
        )


def nonconformity_id(cause: Cause, first: Occurrence) -> str:
    """``NC-<day of the first occurrence's run>-<6 hex of SHA-256 over cause and first record>``."""
    digest = hashlib.sha256(json.dumps([cause.as_dict(), first.record], sort_keys=True).encode()).hexdigest()
    return f"NC-{first.at:%Y%m%d}-{digest[:6]}"


def opens_nonconformity(record: RecordSummary, final_errors: frozenset[str] | set[str]) -> bool:
    """A ``failed`` verdict, superseded or not, or an ``error`` on a final try, of a check that is not
    the risk process's own. An error with a retry left opens nothing (its retry decides)."""
    if record.check in SELF_CHECKS:
        return False
    return record.status == Status.failed or (record.status == Status.error and record.key in final_errors)


def closure_of(record: RecordSummary, closed_by: str | None) -> tuple[str, Closure]:
    """(nonconformity id, closure) from a closure record."""
    s = record.summary
    return s["nonconformity"], Closure(
        record=record.key,
        closed_at=record.ended_at,
        closed_by=closed_by or s.get("closed_by"),
        root_cause=s["root_cause"],
        corrective_action=s["corrective_action"],
        evidence_of_pass=s["evidence_of_pass"],
    )


@dataclass
class LedgerChanges:
    opened: list[str] = field(default_factory=list)
    attached: dict[str, list[str]] = field(default_factory=dict)  # id -> newly attached record keys
    closed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"opened": self.opened, "attached": self.attached, "closed": self.closed}


def derive_nonconformities(
    previous: Iterable[Nonconformity],
    records: Iterable[RecordSummary],
    final_errors: frozenset[str] | set[str],
    closures: Iterable[tuple[str, Closure]] = (),
    until: dt.datetime | None = None,
) -> tuple[list[Nonconformity], LedgerChanges]:
    """The ledger after ``previous``: new occurrences and closures applied in log order.

    ``records`` are verified record summaries (the history, superseded ones included); ``closures``
    (id, closure) pairs from closure records among them; ``until`` leaves out occurrences of periods
    starting at or after it (a reassessment of a period opens nothing for later periods). Events are
    ordered by the record's place in the evidence log (seal, place in the seal, then records not
    sealed yet by their end), never by a self-declared ``run_after``. Returns the ledger (by opening
    time) and what changed against ``previous``.
    """
    records = list(records)
    position = {r.key: r.log_position for r in records}
    ledger = {nc.id: Nonconformity(nc.id, nc.cause, list(nc.occurrences), nc.closure) for nc in previous}
    attached = {k for nc in ledger.values() for k in nc.records}
    applied = {nc.closure.record for nc in ledger.values() if nc.closure}
    changes = LedgerChanges()
    events: list[tuple[tuple[int, int, int, float, str], int, Any]] = []
    for rec in records:
        if until is not None and rec.period.start >= until:
            continue
        if rec.key not in attached and opens_nonconformity(rec, final_errors):
            events.append((rec.log_position, 0, rec))
    for nc_id, closure in closures:
        if closure.record not in applied:
            # A closure record not among ``records`` (a unit test's) stands after the sealed ones.
            at = position.get(closure.record, (1, 0, 0, closure.closed_at.timestamp(), closure.record))
            events.append((at, 1, (nc_id, closure)))
    for _, kind, item in sorted(events, key=lambda e: e[:2]):
        if kind == 0:
            cause = Cause.of(item)
            target = next((nc for nc in ledger.values() if nc.cause == cause and nc.is_open), None)
            if target is None:
                target = Nonconformity(nonconformity_id(cause, Occurrence.of(item)), cause)
                ledger[target.id] = target
                changes.opened.append(target.id)
            elif target.id not in changes.opened:
                changes.attached.setdefault(target.id, []).append(item.key)
            target.attach(item)
        else:
            nc_id, closure = item
            nc = ledger.get(nc_id)
            if nc is not None and nc.is_open:
                nc.closure = closure
                changes.closed.append(nc_id)
    return sorted(ledger.values(), key=lambda nc: (nc.opened_at, nc.id)), changes


def closing_evidence(
    nc: Nonconformity, records: Iterable[RecordSummary], closing_statuses: Iterable[Status]
) -> RecordSummary | None:
    """The newest record of a run *later* than the nonconformity's last occurrence, of the same check
    and subject, with a closing status, on data no older than that occurrence's (a backfill of an
    earlier day proves nothing about the correction); None when there is none: closing is refused."""
    statuses = set(closing_statuses)
    last = max(nc.occurrences, key=lambda o: o.last_at)
    later = [
        r
        for r in records
        if Cause.of(r) == nc.cause
        and r.status in statuses
        and run_time(r) > last.last_at
        and r.period.start >= last.period_start
    ]
    return max(later, key=lambda r: r.order, default=None)


def ledger_document(ledger: list[Nonconformity], as_of: dt.datetime) -> dict[str, Any]:
    return {
        "format": LEDGER_FORMAT,
        "as_of": as_of.isoformat(),
        "open": sum(nc.is_open for nc in ledger),
        "closed": sum(not nc.is_open for nc in ledger),
        "nonconformities": [nc.as_dict() for nc in ledger],
    }


def latest_ledger(storage: Storage, evidence: Evidence) -> tuple[str | None, list[Nonconformity]]:
    """The ledger of the reassessment record latest in the evidence log that holds one (key, ledger);
    (None, []) if none. Only verified records are candidates, and a ledger file that differs from its
    signed manifest is skipped (and listed in ``evidence.rejected``)."""
    for rec in reversed(evidence.reassessments()):
        doc = evidence.result_json(storage, rec.key, LEDGER_FILE)
        if doc is not None:
            return rec.key, [Nonconformity.from_dict(d) for d in doc["nonconformities"]]
    return None, []


def current_nonconformities(
    storage: Storage, evidence: Evidence | None = None
) -> tuple[list[Nonconformity], LedgerChanges, str | None]:
    """The ledger as of now: the newest recorded ledger, then every later occurrence and closure.

    Returns (ledger, changes against the recorded ledger, key of the record holding that ledger).
    """
    evidence = evidence or load_evidence(storage)
    source, previous = latest_ledger(storage, evidence)
    closures = [closure_of(r, evidence.closers.get(r.key)) for r in evidence.closures()]
    ledger, changes = derive_nonconformities(previous, evidence.records, evidence.final_errors, closures)
    return ledger, changes, source
