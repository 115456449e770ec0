"""The retention plan: every object past retention or under a hold, what keeps each kept one, what
would be deleted (with its SHA-256 and size now), and which deletions are approved.

A deletion is approved by the run's ``execute`` Param, or by its policy's ``auto_execute``. The plan
is always written as a record (``retention_disposal/plan``) before anything is deleted: it is the intent the
execution and any later recovery refer to.

Nothing acts on a plan it has not verified (:func:`load_plan`): its DSSE signature must verify against
the trusted keys — judged at the time of the seal that covers it, or, not sealed yet, at the moment of
use (a key retired since cannot vouch for it) — its manifest must be the sealed one, it must be at
the place its manifest names, its ``plan.json`` must be the file the manifest lists, and its status
``passed`` or ``warning``. Execution finds the plan of its own run in the store (:func:`plan_of_run`)
and takes no plan key from outside.

A plan is ``failed`` when the scan met symbolic links or record folders that do not verify: they are
listed (``symlinks``, ``untrusted_records``), never counted, and nothing of that plan is executed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.record import Producer, record_key
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.trust import UntrustedRecord, read_verified
from aimsflow.evidence.verify import TOMBSTONE
from aimsflow.jobs import Check
from aimsflow.periods import Period, to_utc
from aimsflow.results import DataRef, Status, record_json, sha256_bytes, sha256_file
from aimsflow.retention.decide import (
    LINEAGE_NOT_ARCHIVED,
    LINEAGE_STILL_RELIED_ON,
    Decision,
    Outcome,
    Rules,
    decide,
)
from aimsflow.retention.objects import (
    Candidate,
    Findings,
    Kind,
    Locations,
    SealIndex,
    link_on_path,
    links_under,
)

PLAN_FORMAT = "aimsflow-retention-plan/1"
PLAN_FILE = "plan.json"
APPROVAL_PARAM = "execute Param"
APPROVAL_POLICY = "auto_execute policy"
#: The plan record (declared here, where execution and recovery read it; the job is declared from it).
PLAN_CHECK = Check(
    f"{TOMBSTONE.dag_id}/plan",
    ("7.5.3",),
    "every object past retention, what keeps each kept one (legal hold, not sealed), what would go",
)
PLAN_TASK = PLAN_CHECK.id.split("/")[1]
_EXECUTABLE = {str(Status.passed), str(Status.warning)}


@dataclass(frozen=True)
class Approval:
    """The plan a deletion was approved in and the run that approved it."""

    plan_record: str
    plan_manifest_sha256: str
    period: Period  # the plan's period: certificates are filed under it
    as_of: dt.datetime  # the plan's clock: re-checks use it
    approved_by: dict[str, Any]  # dag_id, run_id, task_id, try_number, user, execute_param

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_record": self.plan_record,
            "plan_manifest_sha256": self.plan_manifest_sha256,
            "period": self.period.as_dict(),
            "as_of": self.as_of.isoformat(),
            "approved_by": self.approved_by,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Approval:
        return cls(
            doc["plan_record"],
            doc["plan_manifest_sha256"],
            Period.from_dict(doc["period"]),
            to_utc(dt.datetime.fromisoformat(doc["as_of"])),
            dict(doc["approved_by"]),
        )


@dataclass(frozen=True)
class PlanItem:
    candidate: Candidate
    decision: Decision
    uri: str
    sha256: str | None = None  # for deletions: the content approved for deletion
    approval: str | None = None  # APPROVAL_PARAM / APPROVAL_POLICY, None: not approved

    @property
    def approved(self) -> bool:
        return self.approval is not None

    def to_ref(self) -> DataRef:
        c = self.candidate
        return DataRef(self.uri, self.sha256 or "", c.size, dataset=c.datasets[0] if c.datasets else None)

    def as_dict(self) -> dict[str, Any]:
        policy = self.decision.policy
        out = {
            **self.candidate.as_dict(),
            "uri": self.uri,
            **self.decision.as_dict(),
            "policy": policy.as_dict() if policy else None,
        }
        if self.decision.outcome == Outcome.delete:
            out.update(sha256=self.sha256, approved=self.approved, approval=self.approval)
        return out


@dataclass(frozen=True)
class Plan:
    as_of: dt.datetime
    execute_param: bool
    items: tuple[PlanItem, ...]
    retained: dict[str, dict[str, Any]]  # data class -> {objects, next_expiry}
    untrusted: tuple[tuple[str, str], ...] = ()  # (store key, problem): never counted
    links: tuple[tuple[str, str], ...] = ()  # (object id, link target): never followed

    @property
    def deletions(self) -> list[PlanItem]:
        return [i for i in self.items if i.decision.outcome == Outcome.delete]

    @property
    def approved(self) -> list[PlanItem]:
        return [i for i in self.deletions if i.approved]

    @property
    def excluded(self) -> list[PlanItem]:
        return [i for i in self.items if i.decision.outcome == Outcome.keep]

    @property
    def errors(self) -> list[PlanItem]:
        return [i for i in self.items if i.decision.outcome == Outcome.error]

    @property
    def unresolved(self) -> list[PlanItem]:
        return [i for i in self.excluded if i.decision.unresolved]

    def summary(self) -> dict[str, Any]:
        def count(items: Iterable[PlanItem]) -> dict[str, int]:
            return dict(sorted(Counter(str(i.candidate.data_class) for i in items).items()))

        return {
            "as_of": self.as_of.isoformat(),
            "execute_param": self.execute_param,
            "to_delete": len(self.deletions),
            "approved": len(self.approved),
            "to_delete_bytes": sum(i.candidate.size for i in self.deletions),
            "to_delete_by_class": count(self.deletions),
            "excluded": len(self.excluded),
            "excluded_by_class": count(self.excluded),
            "held": len([i for i in self.items if i.decision.holds]),
            "holds_applied": sorted({h for i in self.items for h in i.decision.holds}),
            "errors": len(self.errors),
            "error_classes": sorted({str(i.candidate.data_class) for i in self.errors}),
            "unresolved": len(self.unresolved),
            LINEAGE_NOT_ARCHIVED: self._kept_for(LINEAGE_NOT_ARCHIVED),
            LINEAGE_STILL_RELIED_ON: self._kept_for(LINEAGE_STILL_RELIED_ON),
            "retained": self.retained,
            "untrusted_records": [{"key": k, "problem": p} for k, p in self.untrusted],
            "symlinks": [{"object": o, "target": t} for o, t in self.links],
        }

    def _kept_for(self, code: str) -> int:
        return len([i for i in self.excluded if any(r.startswith(code) for r in i.decision.reasons)])

    def to_json(self) -> bytes:
        doc = {
            "format": PLAN_FORMAT,
            "as_of": self.as_of.isoformat(),
            "execute_param": self.execute_param,
            "summary": self.summary(),
            "delete": [i.as_dict() for i in self.deletions],
            "excluded": [i.as_dict() for i in self.excluded],
            "errors": [i.as_dict() for i in self.errors],
            "untrusted_records": [{"key": k, "problem": p} for k, p in self.untrusted],
            "symlinks": [{"object": o, "target": t} for o, t in self.links],
        }
        return record_json(doc)


def content_sha256(c: Candidate, loc: Locations) -> str:
    """What a deletion approves: a file's SHA-256, an evidence record's manifest SHA-256."""
    if c.kind == Kind.evidence_record:
        assert c.manifest_sha256 is not None
        return c.manifest_sha256
    return sha256_file(loc.path_of(c.object_id))


def make_plan(
    candidates: Iterable[Candidate],
    rules: Rules,
    as_of: dt.datetime,
    execute: bool,
    loc: Locations,
    findings: Findings | None = None,
) -> Plan:
    """Decide about every candidate. Objects that are neither past retention nor held are counted
    per class (with the next expiry), not listed. Deletions are hashed now; a deletion with a symbolic
    link on its path or inside it is not a deletion but a finding (``findings`` gathers them)."""
    as_of = to_utc(as_of)
    findings = findings if findings is not None else Findings()
    items: list[PlanItem] = []
    retained: dict[str, dict[str, Any]] = defaultdict(lambda: {"objects": 0, "next_expiry": None})
    for c in sorted(candidates, key=lambda c: c.object_id):
        path = loc.path_of(c.object_id)
        decision = decide(c, rules, as_of, str(path))
        if decision.outcome == Outcome.keep and not decision.expired and not decision.holds:
            if not decision.unresolved:
                entry = retained["retention records" if decision.protected else str(c.data_class)]
                entry["objects"] += 1
                nxt = decision.expires_on.isoformat() if decision.expires_on else None
                if nxt and (entry["next_expiry"] is None or nxt < entry["next_expiry"]):
                    entry["next_expiry"] = nxt
                continue
        uri = path.resolve().as_uri()
        if decision.outcome != Outcome.delete:
            items.append(PlanItem(c, decision, uri))
            continue
        root = loc.root(c.area)
        link = link_on_path(root, path)
        inside = links_under(path) if link is None and path.is_dir() else []
        if link is not None or inside:
            for found in [link] if link is not None else inside:
                findings.link(f"{c.area}/{found.relative_to(root).as_posix()}", found)
            continue
        policy = decision.policy
        assert policy is not None
        approval = APPROVAL_PARAM if execute else APPROVAL_POLICY if policy.auto_execute else None
        items.append(PlanItem(c, decision, uri, content_sha256(c, loc), approval))
    return Plan(
        as_of,
        execute,
        tuple(items),
        dict(sorted(retained.items())),
        tuple(sorted(findings.untrusted.items())),
        tuple(sorted(findings.links.items())),
    )


# --- reading a plan back: only verified --------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedPlan:
    """A plan record whose signature verified (see :func:`load_plan`)."""

    key: str
    manifest_sha256: str
    status: str
    doc: dict[str, Any]  # plan.json
    approval: Approval
    sealed_in: int | None

    @property
    def executable(self) -> bool:
        return self.status in _EXECUTABLE

    def item(self, object_id: str) -> dict[str, Any] | None:
        """The plan's deletion item for ``object_id``, or None."""
        return next((i for i in self.doc.get("delete", []) if i.get("object_id") == object_id), None)


def load_plan(
    storage: Storage, key: str, keys: TrustedKeys, seals: SealIndex, now: dt.datetime
) -> VerifiedPlan:
    """The plan record ``key`` once verified (see the module docstring); raises
    :class:`~aimsflow.evidence.trust.UntrustedRecord` naming what is wrong."""
    sealed = seals.get(key)
    record = read_verified(storage, key, keys, sealed.sealed_at if sealed else to_utc(now))
    sha = sha256_bytes(record.manifest)
    predicate = record.predicate
    if sealed is not None and sha != sealed.manifest_sha256:
        raise UntrustedRecord(key, f"manifest differs from the one sealed in seal {sealed.sequence}")
    try:
        period = Period.from_dict(predicate["period"])
        ended_at = to_utc(dt.datetime.fromisoformat(predicate["ended_at"]))
        at = record_key(period, str(predicate.get("check")), str(predicate.get("record_id")))
        listed = {f["path"]: f["sha256"] for f in predicate.get("files", [])}
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedRecord(key, f"unreadable manifest: {exc!r}") from None
    if predicate.get("check") != PLAN_CHECK.id:
        raise UntrustedRecord(key, f"a {predicate.get('check')!r} record, not a retention plan")
    if at != key:
        raise UntrustedRecord(key, "not at the place its manifest names (moved or renamed)")
    if sealed is None and ended_at > to_utc(now):
        raise UntrustedRecord(key, f"signed for {ended_at.isoformat()}, later than now")
    try:
        body = storage.get(f"{key}/{PLAN_FILE}")
    except OSError as exc:
        raise UntrustedRecord(key, f"{PLAN_FILE} unreadable: {exc.strerror or exc}") from None
    if listed.get(PLAN_FILE) != sha256_bytes(body):
        raise UntrustedRecord(key, f"{PLAN_FILE} differs from its signed manifest (edited after signing)")
    try:
        doc = json.loads(body)
        if doc.get("format") != PLAN_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {PLAN_FORMAT!r}")
        as_of = to_utc(dt.datetime.fromisoformat(doc["as_of"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise UntrustedRecord(key, f"unreadable {PLAN_FILE}: {exc}") from None
    producer = predicate.get("producer") or {}
    triggered = predicate.get("triggered_by") or {}
    approved_by = {
        "dag_id": producer.get("dag_id"),
        "run_id": producer.get("run_id"),
        "task_id": producer.get("task_id"),
        "try_number": producer.get("try_number"),
        "command": producer.get("command"),
        "user": triggered.get("user") or producer.get("user"),
        "execute_param": bool(doc.get("execute_param")),
    }
    approval = Approval(key, sha, period, as_of, {k: v for k, v in approved_by.items() if v is not None})
    status = str(predicate.get("status"))
    return VerifiedPlan(key, sha, status, doc, approval, sealed.sequence if sealed else None)


_TRY = re.compile(rf"^{PLAN_TASK}\.try(\d+)-[0-9a-f]{{12}}$")


def plan_keys_of_run(storage: Storage, period: Period, dag_id: str, run_id: str) -> list[tuple[int, str]]:
    """(try number, key) of every folder in the period's plan folder whose name is the record id the
    plan task of run ``run_id`` has in that try — found by run id and check id, not read from it."""
    folder = record_key(period, PLAN_CHECK.id, "_").rsplit("/", 1)[0]
    names = {rel.split("/", 1)[0] for rel in storage.list_files(folder)} if storage.exists(folder) else set()
    out = []
    for name in sorted(names):
        m = _TRY.match(name)
        if not m:
            continue
        producer = Producer(
            kind="task", dag_id=dag_id, run_id=run_id, task_id=PLAN_TASK, try_number=int(m[1])
        )
        if producer.record_id() == name:
            out.append((int(m[1]), f"{folder}/{name}"))
    return sorted(out)


def plan_of_run(
    storage: Storage,
    period: Period,
    dag_id: str,
    run_id: str,
    keys: TrustedKeys,
    seals: SealIndex,
    now: dt.datetime,
) -> VerifiedPlan:
    """The plan the run ``run_id`` wrote: its latest try. Every try's folder must verify (one that does
    not is refused with the whole run: a forged try must not hide behind a genuine one), and the latest
    must be ``passed`` or ``warning``. Raises :class:`UntrustedRecord` or ``LookupError``."""
    found = plan_keys_of_run(storage, period, dag_id, run_id)
    if not found:
        raise LookupError(f"no plan record of run {run_id} under {PLAN_CHECK.id} for {period.label}")
    plans = [load_plan(storage, key, keys, seals, now) for _, key in found]
    latest = plans[-1]
    if not latest.executable:
        raise UntrustedRecord(latest.key, f"the run's plan is {latest.status!r}: not executed")
    return latest
