"""The retention plan: every object past retention or under a hold, what keeps each kept one, what
would be deleted (with its SHA-256 and size now), and which deletions are approved.

A deletion is approved by the run's ``execute`` Param, or by its policy's ``auto_execute``. The plan
is always written as a record (``retention_disposal/plan``) before anything is deleted: it is the intent the
execution and any later recovery refer to.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aimsflow.periods import to_utc
from aimsflow.results import DataRef, record_json, sha256_file
from aimsflow.retention.decide import (
    LINEAGE_NOT_ARCHIVED,
    LINEAGE_STILL_RELIED_ON,
    Decision,
    Outcome,
    Rules,
    decide,
)
from aimsflow.retention.objects import Candidate, Kind, Locations

PLAN_FORMAT = "aimsflow-retention-plan/1"
PLAN_FILE = "plan.json"
APPROVAL_PARAM = "execute Param"
APPROVAL_POLICY = "auto_execute policy"


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
    unreadable_records: tuple[str, ...] = ()

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
            "unreadable_records": len(self.unreadable_records),
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
            "unreadable_records": list(self.unreadable_records),
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
    unreadable_records: Iterable[str] = (),
) -> Plan:
    """Decide about every candidate. Objects that are neither past retention nor held are counted
    per class (with the next expiry), not listed. Deletions are hashed now."""
    as_of = to_utc(as_of)
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
        policy = decision.policy
        assert policy is not None
        approval = APPROVAL_PARAM if execute else APPROVAL_POLICY if policy.auto_execute else None
        items.append(PlanItem(c, decision, uri, content_sha256(c, loc), approval))
    return Plan(as_of, execute, tuple(items), dict(sorted(retained.items())), tuple(unreadable_records))
