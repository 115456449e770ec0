"""The three jobs of ``retention_disposal``: recover, plan, execute. Each returns a ``JobResult``.

The clock of a run is the end of its period, or now if the period ends later: a scheduled weekly run
decides as of the end of its data interval (a re-run of the interval decides the same way), and a
manual run for a period that has not ended cannot delete anything early.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import Inventory, load_inventory
from aimsflow.configfile import config_path
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import MANIFEST
from aimsflow.evidence.storage import LocalStorage
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period, to_utc
from aimsflow.results import JobError, JobResult, SpecRef, Status, Subject, sha256_bytes
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
    Locations,
    lineage_archives,
    scan_datasets,
    scan_evidence,
    scan_openlineage,
    with_lineage_reliance,
)
from aimsflow.retention.plan import PLAN_FILE, Plan, make_plan
from aimsflow.retention.policy import EVIDENCE_CLASS, load_holds, load_policies

POLICIES_FILE = "policies.yaml"
HOLDS_FILE = "legal_holds.yaml"


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


def scan_all(
    inventory: Inventory, rules: Rules, loc: Locations, storage: LocalStorage
) -> tuple[list[Candidate], list[str]]:
    """Every candidate in the three areas, and the keys of evidence records that cannot be read."""
    evidence, unreadable = scan_evidence(storage, EVIDENCE_CLASS)
    lineage = scan_openlineage(
        loc.openlineage_root,
        rules.policies.lineage_class,
        inventory,
        loc.data_root,
        lineage_archives(storage),
    )
    evidence = with_lineage_reliance(evidence, lineage)
    return [*scan_datasets(inventory, loc.data_root), *lineage, *evidence], unreadable


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
    candidates, unreadable = scan_all(inventory, rules, loc, LocalStorage(loc.evidence_root))
    return make_plan(candidates, rules, as_of_for(period, now), execute, loc, unreadable), rules


def plan_job(
    period: Period,
    execute: bool,
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    now: dt.datetime | None = None,
) -> JobResult:
    """The plan record. Objects whose data class has no policy make it an ``error`` (nothing executes)."""
    plan, rules = build_plan(period, execute, loc=loc, config=config, now=now)
    summary = plan.summary()
    result = JobResult(
        subject=Subject(),
        status=Status.warning if plan.unresolved else Status.passed,
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
    return (
        f"{len(plan.deletions)} object(s) past retention to delete ({mode}); {len(plan.excluded)} excluded"
        + (f", holds {', '.join(holds)}" if holds else "")
    )


def read_plan(storage: LocalStorage, key: str) -> tuple[dict[str, Any], Approval]:
    """The plan document of a plan record (checked against its manifest) and its approval."""
    manifest = storage.get(f"{key}/{MANIFEST}")
    predicate = json.loads(manifest)["predicate"]
    if predicate.get("check") != PLAN.check:
        raise ValueError(f"{key} is a {predicate.get('check')!r} record, not a retention plan")
    body = storage.get(f"{key}/{PLAN_FILE}")
    listed = {f["path"]: f["sha256"] for f in predicate.get("files", [])}
    if listed.get(PLAN_FILE) != sha256_bytes(body):
        raise ValueError(f"{key}/{PLAN_FILE} differs from its manifest: refusing to execute it")
    plan = json.loads(body)
    producer = predicate.get("producer") or {}
    triggered = predicate.get("triggered_by") or {}
    approved_by = {
        "dag_id": producer.get("dag_id"),
        "run_id": producer.get("run_id"),
        "task_id": producer.get("task_id"),
        "try_number": producer.get("try_number"),
        "command": producer.get("command"),
        "user": triggered.get("user") or producer.get("user"),
        "execute_param": bool(plan.get("execute_param")),
    }
    approval = Approval(
        key,
        sha256_bytes(manifest),
        Period.from_dict(predicate["period"]),
        to_utc(dt.datetime.fromisoformat(plan["as_of"])),
        {k: v for k, v in approved_by.items() if v is not None},
    )
    return plan, approval


def _disposer(
    executed_by: dict[str, Any], loc: Locations | None, config: Path | None, signer: Signer | None
) -> tuple[Disposer, Rules]:
    loc = loc or Locations.from_settings()
    rules = load_rules(config)
    storage = LocalStorage(loc.evidence_root)
    return Disposer(loc, storage, signer or Signer.from_settings(), rules, executed_by), rules


def _report_status(report: ExecutionReport) -> Status:
    return (
        Status.warning
        if report.skipped or report.blocked or report.restored or report.refused
        else Status.passed
    )


def recover_job(
    period: Period,
    executed_by: dict[str, Any],
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    signer: Signer | None = None,
) -> JobResult:
    """Finish disposals an interrupted run left behind (certify once, or put back)."""
    disposer, rules = _disposer(executed_by, loc, config, signer)
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
    return JobResult(
        subject=Subject(),
        status=_report_status(report),
        summary=report.as_dict(),
        specs=list(rules.specs),
        message=message,
    )


def execute_job(
    period: Period,
    plan_record: str,
    executed_by: dict[str, Any],
    *,
    loc: Locations | None = None,
    config: Path | None = None,
    signer: Signer | None = None,
) -> JobResult:
    """Delete, verify and certify every approved item of the plan; a dry run deletes nothing."""
    disposer, rules = _disposer(executed_by, loc, config, signer)
    plan, approval = read_plan(disposer.storage, plan_record)
    report = execute_plan(plan, approval, disposer)
    summary = {"plan_record": plan_record, **report.as_dict()}
    approved = len([i for i in plan.get("delete", []) if i.get("approved")])
    if report.refused:
        message = report.refused
    elif not approved:
        message = (
            f"dry run: {len(plan.get('delete', []))} object(s) would be deleted; "
            "set the run's `execute` Param (or a policy's auto_execute) to delete them"
        )
    else:
        message = (
            f"{len(report.deleted)} object(s) deleted, verified and certified"
            + (f"; {len(report.skipped)} skipped" if report.skipped else "")
            + (f"; {len(report.blocked)} blocked" if report.blocked else "")
        )
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
PLAN = Job(
    _DAG,
    "plan",
    _CONTROLS,
    SubjectKind.aims,
    PeriodUse.as_of,
    plan_job,
    "every object past retention, what keeps each kept one (legal hold, not sealed), what would go",
    reads=("evidence_seal/*",),
)
EXECUTE = Job(
    _DAG,
    "execute",
    _CONTROLS,
    SubjectKind.aims,
    PeriodUse.as_of,
    execute_job,
    "delete what the plan approved, verify it is gone, certify each, tombstone evidence records",
    reads=("retention_disposal/plan",),
    also_writes=(CERTIFICATE, TOMBSTONE),
)
JOBS = (RECOVER, PLAN, EXECUTE)
