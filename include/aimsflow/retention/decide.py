"""The retention decision for one object: delete, keep (with every reason), or error (no policy).

An object may be deleted only when all of these hold:

* it is not a retention record (plans, certificates, tombstones, recoveries and executions are never
  disposed of; seals and the witness are not objects at all);
* its data class has a policy (else: ``error``);
* it has expired: the clock has reached ``anchor + retention`` (00:00 UTC of that day), where the
  anchor is the object's creation date, its AI system's retirement date, or the end of the
  certification cycle it was created in — an anchor that cannot be known means "not expired";
* no legal hold covers it;
* an evidence record is sealed (a tombstone must name the seal that covered it);
* an OpenLineage event file can be read, and for every UTC day of its events a sealed
  ``evidence_seal/lineage_events`` record of that day lists its content (SHA-256) as an input: the
  raw log goes only once its redacted copy is sealed evidence (A.6.2.8). Else it is kept with the
  reason :data:`LINEAGE_NOT_ARCHIVED`;
* a lineage record is not the archive of an event file still on disk (:data:`LINEAGE_STILL_RELIED_ON`):
  files go first, their record at a later run, so no file is ever left without its archive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aimsflow.catalog import Inventory
from aimsflow.evidence.verify import TOMBSTONE
from aimsflow.lineage.archive import CHECK as LINEAGE_CHECK
from aimsflow.periods import to_utc
from aimsflow.results import SpecRef
from aimsflow.retention.objects import Candidate, Kind
from aimsflow.retention.policy import CountsFrom, LegalHold, PolicySet, RetentionPolicy

#: Checks of the records retention itself writes; never disposed of.
# Retention never disposes of its own records (plans, certificates, tombstones).
PROTECTED_CHECK_PREFIX = f"{TOMBSTONE.dag_id}/"
#: First word of the reason an OpenLineage event file is kept for (counted in the plan's summary).
LINEAGE_NOT_ARCHIVED = "lineage_not_archived"
#: First word of the reason a lineage record is kept while event files rely on it.
LINEAGE_STILL_RELIED_ON = "lineage_files_remain"


class Outcome(StrEnum):
    delete = "delete"
    keep = "keep"
    error = "error"


@dataclass(frozen=True)
class Rules:
    """Everything a decision depends on besides the object and the clock."""

    policies: PolicySet
    holds: tuple[LegalHold, ...]
    retirements: Mapping[str, dt.date | None]  # AI system -> retirement date
    cycles: tuple[tuple[str, dt.date, dt.date], ...]  # (id, start, end), half-open
    dataset_systems: Mapping[str, str]  # dataset -> AI system
    specs: tuple[SpecRef, ...] = ()

    @classmethod
    def build(
        cls,
        policies: PolicySet,
        holds: Sequence[LegalHold],
        inventory: Inventory,
        specs: Sequence[SpecRef] = (),
    ) -> Rules:
        return cls(
            policies,
            tuple(holds),
            {k: s.retirement_date for k, s in inventory.ai_systems.items()},
            tuple((c.id, c.start, c.end) for c in inventory.certification_cycles),
            {k: d.ai_system for k, d in inventory.datasets.items()},
            tuple(specs),
        )


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[str, ...]  # every reason the object is kept (or the error)
    holds: tuple[str, ...]  # ids of the legal holds covering it
    expires_on: dt.date | None
    expired: bool
    # The expiry could not be computed because the inventory lacks something (no cycle covers it).
    unresolved: bool = False
    policy: RetentionPolicy | None = None
    protected: bool = False  # a retention record: never disposed of, whatever the policy

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "reasons": list(self.reasons),
            "holds": list(self.holds),
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "expired": self.expired,
            "unresolved": self.unresolved,
        }


def _systems_of(c: Candidate, rules: Rules) -> set[str]:
    return set(c.ai_systems) | {rules.dataset_systems[d] for d in c.datasets if d in rules.dataset_systems}


def hold_covers(hold: LegalHold, c: Candidate, rules: Rules) -> bool:
    """Over-inclusive on purpose: an unknown subject is covered by every dataset/AI-system hold."""
    if hold.dataset is not None:
        return not c.subject_known or hold.dataset in c.datasets
    if hold.ai_system is not None:
        return not c.subject_known or hold.ai_system in _systems_of(c, rules)
    prefix = hold.path_prefix or ""
    if prefix.startswith("/"):
        return False  # absolute prefixes are matched by matching_holds, which knows the roots
    return c.object_id.startswith(prefix) or prefix.startswith(c.object_id.rstrip("/") + "/")


def matching_holds(c: Candidate, rules: Rules, absolute_path: str | None = None) -> list[LegalHold]:
    out = []
    for hold in rules.holds:
        if hold.path_prefix and hold.path_prefix.startswith("/"):
            if absolute_path and (
                absolute_path.startswith(hold.path_prefix) or hold.path_prefix.startswith(absolute_path + "/")
            ):
                out.append(hold)
        elif hold_covers(hold, c, rules):
            out.append(hold)
    return out


def anchor_of(c: Candidate, policy: RetentionPolicy, rules: Rules) -> tuple[dt.date | None, str | None, bool]:
    """(anchor date, why there is none, whether that is an inventory gap)."""
    if policy.counts_from == CountsFrom.created:
        return c.created, None, False
    if policy.counts_from == CountsFrom.certification_cycle_end:
        for _cycle_id, start, end in rules.cycles:
            if start <= c.created < end:
                return end, None, False
        return None, f"no certification cycle covers {c.created} (retention counts from a cycle's end)", True
    systems = _systems_of(c, rules)
    if not systems:
        return (
            None,
            "no AI system known for this object (retention counts from an AI system's retirement)",
            False,
        )
    dates = []
    for system in sorted(systems):
        if system not in rules.retirements:
            return None, f"AI system {system!r} is not in the inventory", True
        retired = rules.retirements[system]
        if retired is None:
            return None, f"AI system {system!r} is not retired (retention counts from its retirement)", False
        dates.append(retired)
    return max(dates), None, False


def decide(c: Candidate, rules: Rules, as_of: dt.datetime, absolute_path: str | None = None) -> Decision:
    """The decision about ``c`` at ``as_of`` (see the module docstring)."""
    today = to_utc(as_of).date()
    if c.kind == Kind.evidence_record and (c.check or "").startswith(PROTECTED_CHECK_PREFIX):
        reason = "retention records (plans, executions, certificates, tombstones) are never disposed of"
        return Decision(Outcome.keep, (reason,), (), None, False, protected=True)
    policy = rules.policies.get(c.data_class)
    holds = tuple(h.id for h in matching_holds(c, rules, absolute_path))
    hold_reasons = tuple(
        f"legal hold {h.id} ({h.scope}, since {h.since}, set by {h.set_by}): {h.reason}"
        for h in rules.holds
        if h.id in holds
    )
    if policy is None:
        why = c.note or (
            f"no retention policy for data class {c.data_class!r}" if c.data_class else "no data class"
        )
        return Decision(Outcome.error, (why, *hold_reasons), holds, None, False)
    anchor, missing, unresolved = anchor_of(c, policy, rules)
    expires_on = policy.duration.after(anchor) if anchor is not None else None
    expired = expires_on is not None and today >= expires_on
    reasons: list[str] = []
    if missing:
        reasons.append(missing)
    elif not expired:
        reasons.append(f"not expired: kept until {expires_on} ({policy.retention} from {policy.counts_from})")
    reasons.extend(hold_reasons)
    if c.kind == Kind.evidence_record and c.sealed_in is None:
        reasons.append("evidence record not sealed yet (a tombstone must name the seal that covered it)")
    if c.kind == Kind.evidence_record and c.archives_files:
        reasons.append(
            f"{LINEAGE_STILL_RELIED_ON}: the archive of {c.archives_files} OpenLineage event file(s) still "
            "on disk (kept until they are disposed of)"
        )
    if c.kind == Kind.openlineage_event and (why := _not_archived(c)):
        reasons.append(f"{LINEAGE_NOT_ARCHIVED}: {why}")
    outcome = Outcome.delete if expired and not reasons else Outcome.keep
    return Decision(outcome, tuple(reasons), holds, expires_on, expired, unresolved, policy)


def _not_archived(c: Candidate) -> str | None:
    if c.event_days is None:
        return (
            "its events cannot be read, so the days they belong to are unknown "
            f"(the {LINEAGE_CHECK} records name unparseable files)"
        )
    if c.unarchived_days:
        return (
            f"no sealed {LINEAGE_CHECK} record of {', '.join(c.unarchived_days)} lists this content "
            "(SHA-256) of the file"
        )
    return None
