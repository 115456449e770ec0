"""The three jobs of ``retention_disposal``: recover, plan, execute. Each returns a ``JobResult``.

The clock of a run is the end of its period, or now if the period ends later: a scheduled weekly run
decides as of the end of its data interval (a re-run of the interval decides the same way), and a
manual run for a period that has not ended cannot delete anything early.

Recovery and execution change the store (they take records out of it and write tombstones and
certificates), so they hold the store lock sealing holds (:func:`aimsflow.evidence.lock.store_lock`):
the two never overlap. Execution takes no plan key from outside (XCom is writable by whoever can edit
it): it finds its own run's plan record in the store and acts only once it verifies
(:func:`aimsflow.retention.plan.plan_of_run`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import Inventory, load_inventory
from aimsflow.configfile import config_path
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.lock import store_lock
from aimsflow.evidence.storage import LocalStorage
from aimsflow.evidence.trust import UntrustedRecord
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period, to_utc
from aimsflow.results import JobError, JobResult, SpecRef, Status, Subject
from aimsflow.retention.decide import Rules
from aimsflow.retention.dispose import (
    CERTIFICATE,
    TOMBSTONE,
    Approval,
    Disposer,
    ExecutionReport,
    execute_plan,
    recover,
)
from aimsflow.retention.objects import (
    Candidate,
    Findings,
    Locations,
    lineage_archives,
    scan_datasets,
    scan_evidence,
    scan_openlineage,
    scan_quarantine,
    seal_index,
    with_lineage_reliance,
)
from aimsflow.retention.plan import PLAN_CHECK, PLAN_FILE, Plan, load_plan, make_plan, plan_of_run
from aimsflow.retention.policy import EVIDENCE_CLASS, load_holds, load_policies

POLICIES_FILE = "policies.yaml"
HOLDS_FILE = "legal_holds.yaml"
#: How long recovery and execution wait for the store lock (a seal in progress) before they give up.
LOCK_TIMEOUT_SECONDS = 600.0


def retention_config_dir(config: Path | None = None) -> Path:
    return config_path("retention", config=config)


def load_rules(config: Path | None = None, inventory: Inventory | None = None) -> Rules:
    """Policies, holds and the inventory facts decisions need, with the SHA-256 of every file read."""
    config = config or settings.config_dir()
    inventory = inventory or load_inventory(config)
    folder = retention_config_dir(config)
    policies = load_policies(folder / POLICIES_FILE)
    holds = load_holds(folder / HOLDS_FILE, inventory)
    files = [folder / POLICIES_FILE, folder / HOLDS_FILE, *inventory.files.values()]
    return Rules.build(policies, holds, inventory, [SpecRef.of_file(p) for p in files])


def as_of_for(period: Period, now: dt.datetime | None = None) -> dt.datetime:
    now = to_utc(now or dt.datetime.now(dt.UTC))
    return min(period.end, now)


@dataclass(frozen=True)
class Scan:
    """Every candidate in the three areas, and what the scan refused to count."""

    candidates: list[Candidate]
    findings: Findings


def scan_all(
    inventory: Inventory,
    rules: Rules,
    loc: Locations,
    storage: LocalStorage,
    keys: TrustedKeys | None = None,
) -> Scan:
    """Every candidate in the three areas (datasets, quarantine, OpenLineage, evidence records that
    verify), with the symbolic links and untrusted folders met on the way."""
    keys = keys or TrustedKeys.load()
    findings = Findings()
    seals = seal_index(storage, keys, findings)
    evidence = scan_evidence(storage, EVIDENCE_CLASS, keys, findings, seals)
    lineage = scan_openlineage(
        loc.openlineage_root,
        rules.policies.lineage_class,
        inventory,
        loc.data_root,
        lineage_archives(storage, keys, seals),
        findings,
    )
    evidence = with_lineage_reliance(evidence, lineage)
    data = [
        *scan_datasets(inventory, loc.data_root, findings),
        *scan_quarantine(inventory, loc.data_root, rules.policies.quarantine_class, findings),
    ]
    return Scan([*data, *lineage, *evidence], findings)


def build_plan(
    period: Period,
    execute: bool,
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[Plan, Rules]:
    loc = loc or Locations.from_settings()
    config = config or settings.config_dir()
    inventory = load_inventory(config)
    rules = load_rules(config, inventory)
    scan = scan_all(inventory, rules, loc, LocalStorage(loc.evidence_root))
    return make_plan(scan.candidates, rules, as_of_for(period, now), execute, loc, scan.findings), rules


def plan_job(
    period: Period,
    execute: bool,
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    now: dt.datetime | None = None,
) -> JobResult:
    """The plan record. Objects whose data class has no policy make it an ``error``; symbolic links or
    record folders that do not verify make it ``failed`` (a finding). Either way nothing executes."""
    plan, rules = build_plan(period, execute, loc=loc, config=config, now=now)
    summary = plan.summary()
    status = Status.warning if plan.unresolved else Status.passed
    if plan.links or plan.untrusted:
        status = Status.failed
    result = JobResult(
        subject=Subject(),
        status=status,
        summary=summary,
        files={PLAN_FILE: plan.to_json()},
        inputs=[i.to_ref() for i in plan.deletions],
        specs=list(rules.specs),
        message=_plan_message(plan),
    )
    if plan.errors:
        result.status = Status.error
        raise JobError(
            f"{len(plan.errors)} object(s) of data class(es) {summary['error_classes']} have no retention "
            "policy: add one to include/config/retention/policies.yaml; nothing is deleted until then",
            result,
        )
    return result


def _plan_message(plan: Plan) -> str:
    mode = (
        "approved for execution"
        if plan.approved and len(plan.approved) == len(plan.deletions)
        else f"{len(plan.approved)} approved"
        if plan.approved
        else "dry run"
    )
    holds = plan.summary()["holds_applied"]
    findings = []
    if plan.links:
        first = plan.links[0][0]
        findings.append(f"{len(plan.links)} symbolic link(s) refused, never followed (first: {first})")
    if plan.untrusted:
        key, problem = plan.untrusted[0]
        findings.append(f"{len(plan.untrusted)} folder(s) whose signature does not verify ({key}: {problem})")
    return ("; ".join(findings) + ("; nothing of this plan is executed. " if findings else "")) + (
        f"{len(plan.deletions)} object(s) past retention to delete ({mode}); {len(plan.excluded)} excluded"
        + (f", holds {', '.join(holds)}" if holds else "")
    )


def read_plan(
    storage: LocalStorage, key: str, keys: TrustedKeys | None = None, now: dt.datetime | None = None
) -> tuple[dict[str, Any], Approval]:
    """The ``plan.json`` of a plan record and its approval, once the record verifies
    (:func:`aimsflow.retention.plan.load_plan`); raises :class:`UntrustedRecord` otherwise."""
    keys = keys or TrustedKeys.load()
    plan = load_plan(storage, key, keys, seal_index(storage, keys), now or dt.datetime.now(dt.UTC))
    return plan.doc, plan.approval


def _disposer(
    executed_by: dict[str, Any], loc: Locations | None, config: Path | None, signer: Signer | None
) -> tuple[Disposer, Rules]:
    loc = loc or Locations.from_settings()
    rules = load_rules(config)
    storage = LocalStorage(loc.evidence_root)
    return Disposer(loc, storage, signer or Signer.from_settings(), rules, executed_by), rules


def _report_status(report: ExecutionReport) -> Status:
    if report.refusals:
        return Status.failed
    return (
        Status.warning
        if report.skipped or report.blocked or report.restored or report.refused
        else Status.passed
    )


def _holder(job: str, executed_by: dict[str, Any]) -> str:
    return f"{PLAN_CHECK.id.split('/')[0]}/{job} {executed_by.get('run_id') or executed_by.get('invocation') or ''}"


def _refusals_message(report: ExecutionReport) -> str:
    first = report.refusals[0]
    return (
        f"{len(report.refusals)} refused, left untouched (first: {first.get('marker') or first.get('object')}: "
        f"{first['reason']}); "
    )


def recover_job(
    period: Period,
    executed_by: dict[str, Any],
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    signer: Signer | None = None,
) -> JobResult:
    """Finish disposals an interrupted run left behind (certify once, or put back), holding the store
    lock; a folder that does not match a verified plan is refused (``failed``)."""
    disposer, rules = _disposer(executed_by, loc, config, signer)
    with store_lock(disposer.loc.evidence_root, _holder("recover", executed_by), LOCK_TIMEOUT_SECONDS):
        report = recover(disposer)
    earlier = len([x for x in report.deleted if x.get("certified_earlier")])
    acted = report.deleted or report.restored or report.blocked or report.dropped
    message = (
        f"{len(report.deleted) - earlier} interrupted disposal(s) certified ({earlier} certified earlier, "
        f"marker closed), {len(report.restored)} put back, {len(report.blocked)} blocked, "
        f"{report.dropped} never started"
        if acted
        else "nothing to recover"
    )
    if report.refusals:
        message = _refusals_message(report) + message
    return JobResult(
        subject=Subject(),
        status=_report_status(report),
        summary=report.as_dict(),
        specs=list(rules.specs),
        message=message,
    )


def execute_job(
    period: Period,
    executed_by: dict[str, Any],
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    signer: Signer | None = None,
) -> JobResult:
    """Delete, verify and certify every approved item of this run's plan (found in the store by the
    run's id, verified); a dry run deletes nothing. Holds the store lock throughout. A plan that is
    missing or does not verify is refused: a ``failed`` record, nothing deleted."""
    disposer, rules = _disposer(executed_by, loc, config, signer)
    with store_lock(disposer.loc.evidence_root, _holder("execute", executed_by), LOCK_TIMEOUT_SECONDS):
        try:
            plan = plan_of_run(
                disposer.storage,
                period,
                str(executed_by.get("dag_id") or _DAG),
                str(executed_by.get("run_id")),
                disposer.trusted,
                disposer.seals,
                disposer.clock(),
            )
        except (UntrustedRecord, LookupError) as exc:
            report = recover(disposer)  # interrupted disposals still go only through verified plans
            return JobResult(
                subject=Subject(),
                status=Status.failed,
                summary={"plan_record": None, "plan_refused": str(exc), **report.as_dict()},
                specs=list(rules.specs),
                message=f"plan refused, nothing of it executed: {exc}",
            )
        report = execute_plan(plan.doc, plan.approval, disposer)
    summary = {"plan_record": plan.key, **report.as_dict()}
    approved = len([i for i in plan.doc.get("delete", []) if i.get("approved")])
    if report.refused:
        message = report.refused
    elif not approved:
        message = (
            f"dry run: {len(plan.doc.get('delete', []))} object(s) would be deleted; "
            "set the run's `execute` Param (or a policy's auto_execute) to delete them"
        )
    else:
        message = (
            f"{len(report.deleted)} object(s) deleted, verified and certified"
            + (f"; {len(report.skipped)} skipped" if report.skipped else "")
            + (f"; {len(report.blocked)} blocked" if report.blocked else "")
        )
    if report.refusals:
        message = _refusals_message(report) + message
    return JobResult(
        subject=Subject(),
        status=_report_status(report),
        summary=summary,
        specs=list(rules.specs),
        message=message,
    )


_DAG = "retention_disposal"
_CONTROLS = ("7.5.3",)
RECOVER = Job(
    _DAG,
    "recover",
    _CONTROLS,
    SubjectKind.aims,
    PeriodUse.as_of,
    recover_job,
    "finish disposals an interrupted run left behind: certify each once, or put it back",
    also_writes=(CERTIFICATE, TOMBSTONE),
)
PLAN = Job.for_check(PLAN_CHECK, SubjectKind.aims, PeriodUse.as_of, plan_job, reads=("evidence_seal/*",))
EXECUTE = Job(
    _DAG,
    "execute",
    _CONTROLS,
    SubjectKind.aims,
    PeriodUse.as_of,
    execute_job,
    "delete what the plan approved, verify it is gone, certify each, tombstone evidence records",
    reads=(PLAN_CHECK.id,),
    also_writes=(CERTIFICATE, TOMBSTONE),
)
JOBS = (RECOVER, PLAN, EXECUTE)
