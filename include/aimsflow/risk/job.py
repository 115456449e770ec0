"""The two risk jobs: the evidence-driven reassessment of the register, and closing a nonconformity.

Both are plain functions returning a :class:`~aimsflow.results.JobResult`; the DAGs
``risk_reassessment`` and ``nonconformity_close`` run them through ``airflow_glue.run_job``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import ConfigError
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
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
from aimsflow.risk.config import RiskConfig, load_methodology, load_risk_config, risk_config_dir
from aimsflow.risk.diff import diff_snapshots
from aimsflow.risk.evidence import (
    CLOSURE,
    DIFF_FILE,
    LEDGER_FILE,
    REASSESSMENT,
    SNAPSHOT_FILE,
    Evidence,
    load_evidence,
    untrusted_message,
)
from aimsflow.risk.nonconformity import (
    Nonconformity,
    closing_evidence,
    closure_of,
    current_nonconformities,
    derive_nonconformities,
    latest_ledger,
    ledger_document,
)
from aimsflow.risk.report import report_markdown
from aimsflow.risk.scoring import RiskAssessment, register_status, score_risk
from aimsflow.risk.signals import SignalInputs, evaluate_signal

SNAPSHOT_FORMAT = "aimsflow-risk-register/1"


def _storage(storage: Storage | None) -> Storage:
    return storage or LocalStorage(settings.evidence_root())


def _record_ref(storage: Storage, key: str, name: str = MANIFEST) -> DataRef:
    """A record file the job read, pinned by its SHA-256."""
    obj = f"{key}/{name}"
    return DataRef(storage.describe(obj), storage.sha256(obj), storage.size(obj))


def previous_snapshot(storage: Storage, evidence: Evidence, period: Period) -> tuple[str | None, dict | None]:
    """The newest earlier reassessment whose period ends no later than ``period`` (latest period end,
    then latest in the evidence log): (key, snapshot)."""
    earlier = [r for r in evidence.reassessments() if r.period.end <= period.end]
    for rec in sorted(earlier, key=lambda r: (r.period.end, r.log_position), reverse=True):
        doc = evidence.result_json(storage, rec.key, SNAPSHOT_FILE)
        if doc is not None:
            return rec.key, {**doc, "record": rec.key}
    return None, None


def snapshot_document(
    cfg: RiskConfig,
    assessments: list[RiskAssessment],
    period: Period,
    as_of: dt.datetime,
    open_nonconformities: int,
) -> dict[str, Any]:
    m = cfg.methodology
    register_spec, methodology_spec = (
        SpecRef.of_file(cfg.files["register"]),
        SpecRef.of_file(cfg.files["methodology"]),
    )
    return {
        "format": SNAPSHOT_FORMAT,
        "period": period.as_dict(),
        "as_of": as_of.isoformat(),
        "register": {"path": register_spec.path, "sha256": register_spec.sha256},
        "methodology": {
            "path": methodology_spec.path,
            "sha256": methodology_spec.sha256,
            "appetite": m.acceptance.appetite,
            "max_acceptable": m.acceptance.max_acceptable,
            "notify_from_level": m.notify_from_level,
            "levels": {lv.name: lv.min_score for lv in m.levels},
        },
        "risks": [a.as_dict() for a in assessments],
        "open_nonconformities": open_nonconformities,
    }


def _new_high_risks(cfg: RiskConfig, assessments: list[RiskAssessment], previous: dict | None) -> list[dict]:
    m = cfg.methodology
    before = {r["id"]: r["current"]["level"] for r in (previous or {}).get("risks", [])}

    def notified(level: str | None) -> bool:
        return level in {lv.name for lv in m.levels} and m.notifies(level)

    return [
        {
            "id": a.risk.id,
            "title": a.risk.title,
            "score": a.score,
            "level": a.level,
            "owner": a.risk.owner,
            "reasons": list(a.reasons),
        }
        for a in assessments
        if m.notifies(a.level) and not notified(before.get(a.risk.id))
    ]


def reassess(
    period: Period,
    *,
    storage: Storage | None = None,
    config_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> JobResult:
    """Re-score every risk of the register from the current verdicts, write a snapshot, a diff against
    the previous snapshot and the nonconformity ledger. ``failed`` while an unaccepted risk is above
    appetite, or when record folders of the store do not verify (they are listed and not read);
    ``warning`` when risks are accepted above appetite or past their review date."""
    storage = _storage(storage)
    as_of = min(period.end, now or dt.datetime.now(dt.UTC))
    base = partial_result(Subject())
    try:
        cfg = load_risk_config(config_dir)
    except ConfigError as exc:
        folder = risk_config_dir(config_dir)
        base.specs = [SpecRef.of_file(p) for p in sorted(folder.glob("*.yaml"))]
        raise JobError(str(exc), base) from None
    m = cfg.methodology
    evidence = load_evidence(storage)
    ledger_key, previous_ledger = latest_ledger(storage, evidence)
    closures = [closure_of(r, evidence.closers.get(r.key)) for r in evidence.closures()]
    ledger, nc_changes = derive_nonconformities(
        previous_ledger, evidence.records, evidence.final_errors, closures, until=period.end
    )

    inputs = SignalInputs(evidence.current, ledger, period, as_of)
    dataset_systems = {d.id: d.ai_system for d in cfg.inventory.datasets.values()}
    assessments = []
    for risk in cfg.risks:
        scoped = inputs.for_ai_system(risk.ai_system, dataset_systems)
        signals = [evaluate_signal(s, scoped, m) for s in risk.signals]
        assessments.append(score_risk(risk, signals, m, period, as_of))
    prev_key, previous = previous_snapshot(storage, evidence, period)
    open_ncs = [nc for nc in ledger if nc.is_open]
    snapshot = snapshot_document(cfg, assessments, period, as_of, len(open_ncs))
    diff = diff_snapshots(previous, snapshot)
    diff["nonconformities"] = {**nc_changes.as_dict(), "previous_ledger": ledger_key}
    ledger_doc = ledger_document(ledger, as_of)
    status = register_status(assessments)
    if evidence.rejected:
        status = Status.failed

    new_high = _new_high_risks(cfg, assessments, previous)
    new_ncs = [_nc_notice(nc) for nc in ledger if nc.id in nc_changes.opened and nc.is_open]
    unaccepted = [a.risk.id for a in assessments if a.unaccepted]
    overdue = [a.risk.id for a in assessments if a.review_overdue]
    summary = {
        "risks": len(assessments),
        "by_level": {lv.name: sum(a.level == lv.name for a in assessments) for lv in m.levels},
        "appetite": m.acceptance.appetite,
        "above_appetite": [a.risk.id for a in assessments if a.above_appetite],
        "unaccepted_above_appetite": unaccepted,
        "review_overdue": overdue,
        "raised": [a.risk.id for a in assessments if a.score > a.assessed_score],
        "changed": [c["id"] for c in diff["risks"]],
        "no_data": [f"{a.risk.id}/{s.id}" for a in assessments for s in a.signals if s.state == "no_data"],
        "previous_snapshot": prev_key,
        "nonconformities": {
            "open": len(open_ncs),
            "closed": len(ledger) - len(open_ncs),
            "opened": nc_changes.opened,
            "attached": sorted(nc_changes.attached),
            "closed_since_previous": nc_changes.closed,
        },
        "notify": {"new_high_risks": new_high, "new_nonconformities": new_ncs},
        "untrusted_records": evidence.untrusted(),
    }
    read = sorted({k for a in assessments for k in a.records})
    refs = [_record_ref(storage, k) for k in read]
    if prev_key:
        refs.append(_record_ref(storage, prev_key, SNAPSHOT_FILE))
    if ledger_key:
        refs.append(_record_ref(storage, ledger_key, LEDGER_FILE))
    messages = [untrusted_message(evidence.rejected)] if evidence.rejected else []
    if unaccepted:
        messages.append(
            f"{len(unaccepted)} unaccepted risk(s) above appetite {m.acceptance.appetite}: {unaccepted}"
        )
    if overdue:
        messages.append(f"review overdue: {overdue}")
    if diff["risks"]:
        messages.append(f"{len(diff['risks'])} risk(s) changed")
    messages.append(f"{len(open_ncs)} open nonconformit{'y' if len(open_ncs) == 1 else 'ies'}")
    return JobResult(
        subject=Subject(),
        status=status,
        summary=summary,
        files={
            SNAPSHOT_FILE: record_json(snapshot),
            DIFF_FILE: record_json(diff),
            LEDGER_FILE: record_json(ledger_doc),
            "report.md": report_markdown(snapshot, diff, ledger_doc, str(status)).encode(),
        },
        inputs=refs,
        specs=cfg.specs(),
        message="; ".join(messages),
    )


def _nc_notice(nc: Nonconformity) -> dict[str, Any]:
    return {
        "id": nc.id,
        "cause": nc.cause.as_dict(),
        "occurrences": len(nc.occurrences),
        "first_record": nc.occurrences[0].record,
    }


#: Airflow's trigger types (``DagRunTriggeredByType`` values) of a run an authenticated person started:
#: the UI's Trigger form and the REST API (``aimsflow nc close``), both behind Airflow's auth manager.
AUTHENTICATED_TRIGGERS = ("ui", "rest_api")
#: ``dag.test()``: the run names the user ``dag_test`` and authenticates nobody.
DAG_TEST_TRIGGER = "test"
_TRIGGER_NOTES = {
    None: "not known: Airflow 3.3 does not hand it to tasks, and neither the metadata DB nor the REST API "
    "(Airflow connection aimsflow_airflow_api) told it",
    DAG_TEST_TRIGGER: "dag.test(), which authenticates nobody; a test configuration may allow it with "
    "AIMSFLOW_CLOSE_ALLOWS_DAG_TEST=true",
    "cli": "`airflow dags trigger`, whose user is the OS login, authenticated by nobody",
}


def closing_refusal(triggered_by: str | None, user: str | None, allow_test: bool) -> str | None:
    """Why this run may not close a nonconformity, or None when it may: it must name a user and have
    been triggered through the Airflow UI or REST API (``triggered_by`` compared by value), or by
    ``dag.test()`` where ``allow_test`` (the test setting) says so."""
    if not (user or "").strip():
        return "no authenticated user triggered this run: close it from the Airflow UI or `aimsflow nc close`"
    if triggered_by in AUTHENTICATED_TRIGGERS or (triggered_by == DAG_TEST_TRIGGER and allow_test):
        return None
    note = _TRIGGER_NOTES.get(triggered_by, "not a person's trigger")
    return (
        f"the run was triggered by {triggered_by!r} ({note}): closing needs a run an authenticated user "
        "triggered through the Airflow UI or REST API (the UI's Trigger form or `aimsflow nc close`)"
    )


def close_nonconformity(
    nc_id: str | None,
    root_cause: str | None,
    corrective_action: str | None,
    closed_by: str | None,
    *,
    triggered_by: str | None = None,
    allow_test: bool = False,
    storage: Storage | None = None,
    config_dir: Path | None = None,
) -> JobResult:
    """Close one nonconformity, or refuse (``failed``, no retry): record folders of the store that do
    not verify (listed; closing waits until they are resolved), unknown or closed id, a run not
    triggered through the Airflow UI or REST API by a named user (``triggered_by``: Airflow's trigger
    type value; ``dag.test()``'s ``test`` only with ``allow_test``), empty root cause or corrective
    action, or no run of the same check on the same subject that passed after the last occurrence.
    The closure record names the evidence of that pass and how the run was triggered."""
    storage = _storage(storage)
    nc_id, root_cause, corrective_action = ((v or "").strip() for v in (nc_id, root_cause, corrective_action))
    base = partial_result(Subject())
    try:
        methodology, path = load_methodology(config_dir)
    except ConfigError as exc:
        raise JobError(str(exc), base) from None
    specs = [SpecRef.of_file(path)]
    evidence = load_evidence(storage)
    ledger, _, _ = current_nonconformities(storage, evidence)
    nc = next((n for n in ledger if n.id == nc_id), None)
    subject = Subject(nc.cause.ai_system, nc.cause.dataset) if nc else Subject()
    request = {
        "nonconformity": nc_id,
        "root_cause": root_cause,
        "corrective_action": corrective_action,
        "closed_by": closed_by,
        "trigger": triggered_by,
    }

    def refuse(reason: str) -> JobResult:
        summary: dict[str, Any] = {"nonconformity": nc_id, "refused": reason, "request": request}
        if nc is not None:
            summary["cause"] = nc.cause.as_dict()
        if evidence.rejected:
            summary["untrusted_records"] = evidence.untrusted()
        return JobResult(
            subject,
            Status.failed,
            summary=summary,
            files={"closure.json": record_json(summary)},
            specs=specs,
            message=f"closing {nc_id} refused: {reason}",
        )

    if evidence.rejected:
        return refuse(
            f"{untrusted_message(evidence.rejected)}; closing waits until they are resolved "
            "(`aimsflow evidence verify` lists them)"
        )
    if nc is None:
        open_ids = [n.id for n in ledger if n.is_open]
        return refuse(f"no nonconformity {nc_id!r}; open ones: {open_ids}")
    if nc.closure is not None:
        return refuse(f"already closed by {nc.closure.closed_by} in record {nc.closure.record}")
    unauthorized = closing_refusal(triggered_by, closed_by, allow_test)
    if unauthorized:
        return refuse(unauthorized)
    missing = [
        name
        for name, text in (("root_cause", root_cause), ("corrective_action", corrective_action))
        if not text
    ]
    if missing:
        return refuse(f"empty {' and '.join(missing)}")
    passed = closing_evidence(nc, evidence.records, methodology.nonconformities.closing_statuses)
    if passed is None:
        statuses = "/".join(str(s) for s in methodology.nonconformities.closing_statuses)
        return refuse(
            f"no run of {nc.cause.label()} {statuses} after the last occurrence "
            f"({nc.last_record}, run at {nc.last_at.isoformat()})"
        )
    summary = {
        **request,
        "cause": nc.cause.as_dict(),
        "evidence_of_pass": passed.key,
        "occurrences": [o.as_dict() for o in nc.occurrences],
    }
    return JobResult(
        subject,
        Status.passed,
        summary=summary,
        files={"closure.json": record_json(summary)},
        inputs=[
            _record_ref(storage, key)
            for key in (passed.key, *nc.records)
            if storage.exists(f"{key}/{MANIFEST}")  # a record may have been disposed of since
        ],
        specs=specs,
        message=f"{nc_id} closed by {closed_by}; passing run {passed.key}",
    )


def close(
    period: Period,
    *,
    nonconformity: str | None,
    root_cause: str | None,
    corrective_action: str | None,
    closed_by: str | None,
    triggered_by: str | None,
) -> JobResult:
    """The closing DAG's job: the period only dates the record. ``closed_by`` and ``triggered_by`` are
    the run's triggering user and trigger type, as plain values (see ``airflow_glue.trigger_type``)."""
    return close_nonconformity(
        nonconformity,
        root_cause,
        corrective_action,
        closed_by,
        triggered_by=triggered_by,
        allow_test=settings.close_allows_dag_test(),
    )


REASSESS = Job.for_check(REASSESSMENT, SubjectKind.aims, PeriodUse.span, reassess, reads=("*",))
CLOSE = Job.for_check(CLOSURE, SubjectKind.aims, PeriodUse.label, close, reads=("*",))
JOBS = (REASSESS, CLOSE)
