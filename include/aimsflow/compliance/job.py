"""The compliance report job: one period's report as a record (``report.html`` and ``report.json``).

The DAG ``compliance_report`` runs it daily for yesterday and on demand for any period. Statuses
(docs/compliance-report.md): ``failed`` when record folders of the store do not verify (they are named
in the report and not counted); ``warning`` when the report found gaps, open nonconformities or
unaccepted risks above appetite; ``passed`` when every applicable control is fresh and passing and
nothing is open; ``error`` when the Statement of Applicability or the crosswalk cannot be loaded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.compliance.checks import REPORT
from aimsflow.configfile import ConfigError
from aimsflow.evidence.listing import Loaded, RecordSummary
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period, to_utc
from aimsflow.results import (
    DataRef,
    JobError,
    JobResult,
    SpecRef,
    Status,
    Subject,
    partial_result,
    record_json,
)


def _storage(storage: Storage | None) -> Storage:
    return storage or LocalStorage(settings.evidence_root())


def _ref(storage: Storage, key: str, name: str = MANIFEST) -> DataRef:
    obj = f"{key}/{name}"
    return DataRef(storage.describe(obj), storage.sha256(obj), storage.size(obj))


def previous_report(records: list[RecordSummary], period: Period) -> RecordSummary | None:
    """The report to compare with: the current (not superseded), non-``error`` report record of
    another period ending no later than this one, the latest by period end, then place in the log.
    A re-run of a period compares with the same report as its first run did."""
    earlier = [
        r
        for r in records
        if r.check == REPORT.id
        and r.status != Status.error
        and not r.superseded
        and r.period.end <= period.end
        and r.period.label != period.label
    ]
    return max(earlier, key=lambda r: (r.period.end, r.log_position), default=None)


def latest_reassessment(records: list[RecordSummary], as_of: dt.datetime) -> list[RecordSummary]:
    """Reassessment records holding a register snapshot whose period ended by ``as_of``, newest first
    (by period end, then place in the log)."""
    from aimsflow.risk.evidence import REASSESS_CHECK

    found = [
        r for r in records if r.check == REASSESS_CHECK and r.status != Status.error and r.period.end <= as_of
    ]
    return sorted(found, key=lambda r: (r.period.end, r.log_position), reverse=True)


def report(
    period: Period,
    *,
    storage: Storage | None = None,
    config_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> JobResult:
    """The compliance report of ``period`` from the verified records of the store; see the module
    docstring for its status and :mod:`aimsflow.compliance.report` for what it holds."""
    from aimsflow.compliance.crosswalk import crosswalk_path, load_crosswalk
    from aimsflow.compliance.html import render_report_html
    from aimsflow.compliance.report import HTML_FILE, JSON_FILE, RiskView, Sources, build_report, judged_at
    from aimsflow.compliance.soa import load_soa, soa_path
    from aimsflow.risk.evidence import SNAPSHOT_FILE, load_evidence
    from aimsflow.risk.nonconformity import current_nonconformities

    storage = _storage(storage)
    now = to_utc(now or dt.datetime.now(dt.UTC))
    if period.start > now:
        raise JobError(
            f"Param 'period': {period.label} starts at {period.start.isoformat()}, after now "
            f"({now.isoformat()}): a report covers what has happened",
            partial_result(Subject()),
        )
    try:
        soa = load_soa(config_dir)
        crosswalk = load_crosswalk(config_dir)
    except ConfigError as exc:
        specs = [
            SpecRef.of_file(p) for p in (soa_path(config_dir), crosswalk_path(config_dir)) if p.is_file()
        ]
        raise JobError(str(exc), partial_result(Subject(), specs=specs)) from None
    specs = [SpecRef.of_file(soa.path), SpecRef.of_file(crosswalk.path)]

    evidence = load_evidence(storage)
    known = [r for r in evidence.records if r.ended_at <= now]
    ledger, _, ledger_key = current_nonconformities(storage, evidence)
    inputs: list[DataRef] = []
    if ledger_key:
        inputs.append(_ref(storage, ledger_key, "nonconformities.json"))

    def read_json(key: str, name: str) -> tuple[Any, str | None]:
        try:
            doc = evidence.result_json(storage, key, name)
        except ValueError as exc:  # signed, yet not JSON
            return None, f"{key}/{name} could not be read: {exc}"
        if doc is None:
            return None, f"{key}/{name} was not read (missing, or it does not match its signed manifest)"
        inputs.append(_ref(storage, key, name))
        return doc, None

    prev = previous_report(known, period)
    previous: tuple[str | None, Any, str | None] = (None, None, None)
    if prev is not None:
        doc, note = read_json(prev.key, JSON_FILE)
        previous = (prev.key, doc, note)

    risks, risk_note = None, None
    candidates = latest_reassessment(known, judged_at(period.end, now))
    for rec in candidates:
        snapshot, risk_note = read_json(rec.key, SNAPSHOT_FILE)
        if snapshot is None:
            continue
        try:
            risks = RiskView.of(rec.key, snapshot)
            break
        except (KeyError, TypeError, ValueError) as exc:
            risk_note = f"{rec.key}/{SNAPSHOT_FILE} is not a register snapshot ({exc!r})"
    if not candidates:
        risk_note = "No reassessment of the risk register ended by this report's moment: risk levels unknown."

    loaded = Loaded(evidence.records, evidence.rejected, evidence.predicates)
    sources = Sources(loaded, soa, crosswalk, tuple(ledger), now)
    rep = build_report(sources, period, previous=previous, risks=risks, risk_note=risk_note)
    doc = rep.as_dict()
    cov = rep.coverage
    summary = {
        "as_of": doc["as_of"],
        "known_at": doc["known_at"],
        "counts": doc["summary"]["counts"],
        "stale": doc["management_review"]["stale_controls"],
        "missing": doc["management_review"]["missing_controls"],
        "failing": doc["management_review"]["failing_controls"],
        "open_nonconformities": [n.id for n in rep.nonconformities],
        "above_appetite": [r.id for r in rep.risks.above_appetite] if rep.risks else None,
        "frameworks": {
            name: {
                "items": len(rows),
                "fresh_without_gap": sum(
                    r.applicable and r.freshness == "fresh" and not r.gaps for r in rows
                ),
            }
            for name, _, rows in rep.frameworks()
        },
        "previous_report": rep.changes.previous,
        "risk_reassessment": rep.risks.record if rep.risks else None,
        "records_read": rep.records_read,
        "untrusted_records": [u.as_dict() for u in cov.rejected],
        "status_reasons": list(rep.reasons),
    }
    message = " ".join(rep.summary_lines()[:3])
    return JobResult(
        subject=Subject(),
        status=rep.status,
        summary=summary,
        files={HTML_FILE: render_report_html(rep), JSON_FILE: record_json(doc)},
        inputs=inputs,
        specs=specs,
        message=message,
    )


REPORT_JOB = Job.for_check(
    REPORT,
    SubjectKind.aims,
    PeriodUse.span,
    report,
    # Every other DAG's records; the reassessment's by name, so the cycle runs the report after it.
    reads=("*", "risk_reassessment/reassess"),
)
JOBS = (REPORT_JOB,)
