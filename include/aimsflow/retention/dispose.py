"""Disposal with proof: delete, verify, certify — exactly once, recoverable after a crash.

Each approved deletion goes through a *marker*, a folder ``<area root>/.retention/<marker id>/`` whose
id is derived from (plan record, object, approved SHA-256). The steps, each durable (fsync) before the
next:

1. ``intent.json`` — the plan item, the approval and the plan's clock (the marker appears atomically);
2. **take**: the object is renamed into the marker as ``payload`` (atomic; it is gone from its URI);
3. ``taken.json`` — the SHA-256 and size of what was taken, measured before deletion;
4. ``purging.json`` — from here on the object is never put back;
5. **purge**: ``payload`` is deleted (or overwritten, then deleted);
6. verify: the object is gone from its URI and from the marker;
7. for an evidence record, its **tombstone** record; then the **certificate** record (both at keys
   derived from the marker, so a second write is refused by the store and nothing is certified twice);
8. the marker is removed.

Every run first *recovers*: it drives each marker left by a crash to its end. A marker whose object was
never taken is dropped. A taken object not yet purging is re-checked against the current policies and
legal holds (and its content against the approved SHA-256) and put back if it may no longer be
deleted. Anything else is purged, verified and certified once. An object is taken only by the run
that planned it, after checking it is still there with the approved content, so nothing is deleted
twice; a crash anywhere leaves a marker, so every deletion is certified.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimsflow.evidence.keys import Signer
from aimsflow.evidence.record import ENVELOPE, MANIFEST, Producer, RunContext, record_key, write_record
from aimsflow.evidence.storage import LocalStorage, WriteOnceError
from aimsflow.evidence.verify import TOMBSTONE
from aimsflow.fsutil import atomic_write, fsync_dir
from aimsflow.jobs import Check
from aimsflow.periods import Period, to_utc
from aimsflow.results import DataRef, JobResult, Status, Subject, record_json, sha256_bytes, sha256_file
from aimsflow.retention.decide import Outcome, Rules, decide
from aimsflow.retention.objects import WORK_DIR, Candidate, Kind, Locations
from aimsflow.retention.policy import AREAS, Method

CERTIFICATE = Check(
    "retention_disposal/certificate",
    ("7.5.3",),
    "one disposal: what was deleted, how, verified gone (NIST SP 800-88 certificate fields)",
)
CERTIFICATE_CHECK = CERTIFICATE.id
TOMBSTONE_CHECK = TOMBSTONE.id
CERTIFICATE_FORMAT = "aimsflow-disposal-certificate/1"
TOMBSTONE_FORMAT = "aimsflow-tombstone/1"
CERTIFICATE_FILE = "certificate.json"
TOMBSTONE_FILE = "tombstone.json"
PRODUCER_COMMAND = "retention"

INTENT = "intent.json"
PAYLOAD = "payload"
TAKEN = "taken.json"
PURGING = "purging.json"
_STAGING_PREFIX = ".tmp-"
_CHUNK = 1 << 20


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


@dataclass
class Disposer:
    """What completing a deletion needs: where things are, the store, the key, the current rules."""

    loc: Locations
    storage: LocalStorage
    signer: Signer
    rules: Rules
    executed_by: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = _now


@dataclass
class ExecutionReport:
    deleted: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)  # markers that cannot finish (yet)
    dropped: int = 0  # markers whose object was never taken
    not_approved: int = 0
    refused: str | None = None

    def merge(self, other: ExecutionReport) -> None:
        self.deleted += other.deleted
        self.skipped += other.skipped
        self.restored += other.restored
        self.blocked += other.blocked
        self.dropped += other.dropped

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": len(self.deleted),
            "recovered": len([d for d in self.deleted if d.get("recovered")]),
            "certified_earlier": len([d for d in self.deleted if d.get("certified_earlier")]),
            "certificates": [d["certificate"] for d in self.deleted],
            "tombstones": [d["tombstone"] for d in self.deleted if d.get("tombstone")],
            "objects": [d["object"] for d in self.deleted],
            "skipped": self.skipped,
            "restored": self.restored,
            "blocked": self.blocked,
            "dropped_markers": self.dropped,
            "not_approved": self.not_approved,
            "refused": self.refused,
        }


# --- names ---------------------------------------------------------------------------------------


def marker_id(plan_record: str, object_id: str, sha256: str) -> str:
    return sha256_bytes(f"{plan_record}\n{object_id}\n{sha256}".encode())[:32]


def certificate_producer(marker: str, user: str | None = None) -> Producer:
    return Producer(kind="command", command=PRODUCER_COMMAND, invocation=f"certificate-{marker}", user=user)


def certificate_key(approval: Approval, marker: str) -> str:
    return record_key(approval.period, CERTIFICATE_CHECK, certificate_producer(marker).record_id())


def tombstone_producer(record: str, manifest_sha256: str, user: str | None = None) -> Producer:
    ident = sha256_bytes(f"{record}\n{manifest_sha256}".encode())[:32]
    return Producer(kind="command", command=PRODUCER_COMMAND, invocation=f"tombstone-{ident}", user=user)


def tombstone_key(c: Candidate) -> str:
    assert c.record_key and c.manifest_sha256 and c.record_period
    producer = tombstone_producer(c.record_key, c.manifest_sha256)
    return record_key(Period.from_dict(c.record_period), TOMBSTONE_CHECK, producer.record_id())


# --- durable file-system steps (module level, so that tests can inject crashes between them) ---------


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, record_json(doc))


def write_intent(marker: Path, intent: dict[str, Any]) -> None:
    """Create the marker with its intent atomically (staged, then renamed into place)."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    staging = marker.parent / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    _write_json(staging / INTENT, intent)
    os.rename(staging, marker)  # fails if the marker exists: one intent per marker
    fsync_dir(marker.parent)


def take(source: Path, marker: Path) -> None:
    """Move the object into the marker: one atomic rename, after which it is gone from its URI."""
    os.rename(source, marker / PAYLOAD)
    fsync_dir(marker)
    fsync_dir(source.parent)


def record_taken(marker: Path, measured: dict[str, Any]) -> None:
    _write_json(marker / TAKEN, measured)


def mark_purging(marker: Path, started_at: dt.datetime) -> None:
    _write_json(marker / PURGING, {"started_at": started_at.isoformat()})


def _overwrite(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        zeros = bytes(min(size, _CHUNK))
        left = size
        while left > 0:
            fh.write(zeros[: min(left, _CHUNK)])
            left -= _CHUNK
        fh.flush()
        os.fsync(fh.fileno())


def purge(marker: Path, method: Method) -> None:
    """Delete the taken object (a file or a record folder)."""
    payload = marker / PAYLOAD
    if payload.is_dir() and not payload.is_symlink():
        if method == Method.overwrite_and_delete:
            for p in sorted(payload.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    _overwrite(p)
        shutil.rmtree(payload)
    else:
        if method == Method.overwrite_and_delete and payload.is_file():
            _overwrite(payload)
        payload.unlink()
    fsync_dir(marker)


def restore(marker: Path, source: Path) -> None:
    source.parent.mkdir(parents=True, exist_ok=True)
    os.rename(marker / PAYLOAD, source)
    fsync_dir(source.parent)


def close_marker(marker: Path) -> None:
    shutil.rmtree(marker)
    fsync_dir(marker.parent)


# --- measuring ---------------------------------------------------------------------------------------


def measure(path: Path, kind: Kind) -> dict[str, Any]:
    """SHA-256 and size before deletion: a file's own; a record folder's manifest SHA-256 and total size."""
    if kind == Kind.evidence_record:
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return {"sha256": sha256_file(path / MANIFEST), "size": size}
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"sha256": digest, "size": path.stat().st_size}


def current_sha256(source: Path, kind: Kind) -> str | None:
    """The content now at ``source`` in the terms a plan approves (None if absent or incomplete)."""
    if not os.path.lexists(source):
        return None
    if kind == Kind.evidence_record:
        if not (source / MANIFEST).is_file() or not (source / ENVELOPE).is_file():
            return None
        return sha256_file(source / MANIFEST)
    return sha256_file(source) if source.is_file() else None


def _prune_empty(start: Path, stop: Path) -> None:
    """Remove empty folders from ``start`` up to (not including) ``stop``."""
    try:
        start.relative_to(stop)
    except ValueError:
        return
    while start != stop:
        try:
            start.rmdir()
        except OSError:
            return
        start = start.parent


def _prune_stop(loc: Locations, area: str) -> Path | None:
    if area == "data":
        return loc.data_root
    if area == "evidence":
        return loc.evidence_root / "records"
    return None  # the OpenLineage folder's layout belongs to its transport


# --- records -----------------------------------------------------------------------------------------


def _write_record_once(
    d: Disposer, result: JobResult, period: Period, producer: Producer, user: str | None
) -> str:
    key = record_key(period, result.check, producer.record_id())
    if d.storage.exists(f"{key}/{ENVELOPE}"):
        return key
    now = d.clock()
    ctx = RunContext(period, producer, now, now, triggered_by=user)
    try:
        write_record(d.storage, result, ctx, d.signer)
    except WriteOnceError:
        pass  # written by an earlier, interrupted completion
    return key


def _subject(c: Candidate) -> Subject:
    return Subject(
        c.ai_systems[0] if c.ai_systems else None, c.datasets[0] if c.datasets else None, c.partition
    )


def write_tombstone(d: Disposer, c: Candidate, approval: Approval, certificate: str, disposed_at: str) -> str:
    user = approval.approved_by.get("user")
    producer = tombstone_producer(c.record_key or "", c.manifest_sha256 or "", user)
    doc = {
        "format": TOMBSTONE_FORMAT,
        "disposed_record": c.record_key,
        "manifest_sha256": c.manifest_sha256,
        "sealed_in": c.sealed_in,
        "record_period": c.record_period,
        "record_check": c.check,
        "subject": _subject(c).as_dict(),
        "disposed_at": disposed_at,
        "plan_record": approval.plan_record,
        "certificate": certificate,
    }
    result = JobResult(
        check=TOMBSTONE.id,
        subject=_subject(c),
        status=Status.passed,
        controls=TOMBSTONE.controls,
        summary=doc,
        files={TOMBSTONE_FILE: record_json(doc)},
        specs=list(d.rules.specs),
        message=f"evidence record {c.record_key} (sealed in seal {c.sealed_in}) lawfully disposed of",
    )
    assert c.record_period is not None
    return _write_record_once(d, result, Period.from_dict(c.record_period), producer, user)


def certificate_doc(
    intent: dict[str, Any],
    measured: dict[str, Any],
    verification: dict[str, Any],
    sanitized_at: str,
    executed_by: dict[str, Any],
    recovered: bool,
    tombstone: str | None,
) -> dict[str, Any]:
    """The certificate's fields (after NIST SP 800-88 Rev. 1, Appendix G, certificate of sanitization)."""
    item, approval = intent["item"], intent["approval"]
    policy = item["policy"]
    method = Method(policy["method"])
    return {
        "format": CERTIFICATE_FORMAT,
        "object": item["object_id"],
        "uri": item["uri"],
        "kind": item["kind"],
        "dataset": item["datasets"][0] if item["datasets"] else None,
        "ai_system": item["ai_systems"][0] if item["ai_systems"] else None,
        "partition": item.get("partition"),
        "sha256_before": measured["sha256"],
        "size_before": measured["size"],
        "sha256_approved": item["sha256"],
        "data_class": item["data_class"],
        "policy": {k: policy[k] for k in ("data_class", "retention", "counts_from", "legal_basis", "method")},
        "created": item["created"],
        "expired_on": item["expires_on"],
        "method": str(method),
        "method_description": method.description,
        "sanitized_at": sanitized_at,
        "verification": verification,
        "approved_by": {
            **approval["approved_by"],
            "approval": item.get("approval"),
            "plan_record": approval["plan_record"],
            "plan_manifest_sha256": approval["plan_manifest_sha256"],
        },
        "executed_by": executed_by,
        "recovered_after_interruption": recovered,
        "tombstone": tombstone,
    }


def write_certificate(d: Disposer, intent: dict[str, Any], marker: str, doc: dict[str, Any]) -> str:
    approval = Approval.from_dict(intent["approval"])
    c = Candidate.from_dict(intent["item"])
    user = approval.approved_by.get("user")
    result = JobResult(
        check=CERTIFICATE.id,
        subject=_subject(c),
        status=Status.passed,
        controls=CERTIFICATE.controls,
        summary=doc,
        files={CERTIFICATE_FILE: record_json(doc)},
        inputs=[DataRef(doc["uri"], doc["sha256_before"], int(doc["size_before"]), dataset=doc["dataset"])],
        specs=list(d.rules.specs),
        message=f"disposed of {doc['object']} ({doc['data_class']}): {doc['verification']['result']}",
    )
    return _write_record_once(d, result, approval.period, certificate_producer(marker, user), user)


# --- driving a marker to its end ---------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


def complete(marker: Path, d: Disposer, recheck: bool) -> tuple[str, dict[str, Any]]:
    """Drive one marker to its end. Returns (``deleted`` | ``restored`` | ``dropped`` | ``blocked``,
    details). ``recheck``: re-decide with the current rules before purging (recovery)."""
    intent = _read_json(marker / INTENT)
    item = intent["item"]
    c = Candidate.from_dict(item)
    source = d.loc.path_of(c.object_id)
    payload = marker / PAYLOAD
    taken = (marker / TAKEN).exists() or os.path.lexists(payload)
    if not taken:
        close_marker(marker)  # interrupted before the object was moved: nothing happened
        return "dropped", {"object": c.object_id}
    if not (marker / PURGING).exists():
        if os.path.lexists(payload):
            if not (marker / TAKEN).exists():
                record_taken(marker, {**measure(payload, c.kind), "taken_at": d.clock().isoformat()})
            why = _reason_to_put_back(c, item, _read_json(marker / TAKEN), d, intent, recheck, source)
            if why is not None:
                if os.path.lexists(source):
                    return "blocked", {
                        "object": c.object_id,
                        "reason": f"{why}; cannot put it back: URI occupied",
                    }
                restore(marker, source)
                close_marker(marker)
                return "restored", {"object": c.object_id, "reason": why}
        mark_purging(marker, d.clock())
    if os.path.lexists(payload):
        purge(marker, Method(item["policy"]["method"]))
    if os.path.lexists(payload):
        return "blocked", {"object": c.object_id, "reason": "payload still present after purge"}
    measured = _read_json(marker / TAKEN)
    started = _read_json(marker / PURGING)["started_at"]
    absent = not os.path.lexists(source)
    verification = {
        "result": "verified: gone from its URI and from the retention work area"
        if absent
        else "purged; its URI now holds another object written after the disposal",
        "absent_at_uri": absent,
        "payload_purged": True,
        "checked_at": d.clock().isoformat(),
    }
    approval = Approval.from_dict(intent["approval"])
    mid = marker.name
    cert_key = certificate_key(approval, mid)
    tomb = None
    if c.kind == Kind.evidence_record:
        tomb = write_tombstone(d, c, approval, cert_key, started)
    existed = d.storage.exists(f"{cert_key}/{ENVELOPE}")  # interrupted after certifying: not again
    doc = certificate_doc(intent, measured, verification, started, d.executed_by, recheck, tomb)
    written = write_certificate(d, intent, mid, doc)
    assert written == cert_key
    close_marker(marker)
    details = {"object": c.object_id, "certificate": cert_key, "tombstone": tomb, "recovered": recheck}
    return "deleted", {**details, "certified_earlier": existed}


def _reason_to_put_back(
    c: Candidate,
    item: dict[str, Any],
    measured: dict[str, Any],
    d: Disposer,
    intent: dict[str, Any],
    recheck: bool,
    source: Path,
) -> str | None:
    if measured["sha256"] != item["sha256"]:
        return f"content {measured['sha256'][:12]} differs from the approved {item['sha256'][:12]}"
    if not recheck:
        return None
    decision = decide(c, d.rules, Approval.from_dict(intent["approval"]).as_of, str(source))
    if decision.outcome != Outcome.delete:
        return "no longer to be deleted under the current policies and holds: " + "; ".join(decision.reasons)
    return None


def markers(loc: Locations) -> list[Path]:
    out = []
    for area in AREAS:
        work = loc.work_dir(area)
        if work.is_dir():
            out.extend(sorted(p for p in work.iterdir() if p.is_dir()))
    return out


def recover(d: Disposer) -> ExecutionReport:
    """Finish whatever an interrupted run left in the work areas (see the module docstring)."""
    report = ExecutionReport()
    for marker in markers(d.loc):
        if marker.name.startswith(_STAGING_PREFIX):  # an intent never placed: nothing was taken
            shutil.rmtree(marker)
            continue
        _tally(report, *complete(marker, d, recheck=True))
    return report


def _tally(report: ExecutionReport, outcome: str, details: dict[str, Any]) -> None:
    if outcome == "deleted":
        report.deleted.append(details)
    elif outcome == "restored":
        report.restored.append(details)
    elif outcome == "blocked":
        report.blocked.append(details)
    else:
        report.dropped += 1


def execute_item(item: dict[str, Any], approval: Approval, d: Disposer) -> tuple[str, dict[str, Any]]:
    """Delete one approved plan item, re-checked against the current rules and the object itself."""
    c = Candidate.from_dict(item)
    source = d.loc.path_of(c.object_id)
    mid = marker_id(approval.plan_record, c.object_id, item["sha256"])
    marker = d.loc.work_dir(c.area) / mid
    if d.storage.exists(f"{certificate_key(approval, mid)}/{ENVELOPE}"):
        return "skipped", {"object": c.object_id, "reason": "already disposed of under this plan"}
    if marker.exists():  # recovery ran first: a marker still here is blocked (see the recovery record)
        return "skipped", {"object": c.object_id, "reason": f"an earlier disposal is blocked: {marker}"}
    decision = decide(c, d.rules, approval.as_of, str(source))
    if decision.outcome != Outcome.delete:
        why = "; ".join(decision.reasons) or str(decision.outcome)
        return "skipped", {"object": c.object_id, "reason": f"no longer to be deleted: {why}"}
    now_sha = current_sha256(source, c.kind)
    if now_sha is None:
        return "skipped", {
            "object": c.object_id,
            "reason": "gone before execution (not deleted by retention)",
        }
    if now_sha != item["sha256"]:
        return "skipped", {"object": c.object_id, "reason": "content changed since the plan"}
    write_intent(marker, {"item": item, "approval": approval.as_dict()})
    take(source, marker)
    stop = _prune_stop(d.loc, c.area)
    if stop is not None:
        _prune_empty(source.parent, stop)
    return complete(marker, d, recheck=False)


def execute_plan(plan: dict[str, Any], approval: Approval, d: Disposer) -> ExecutionReport:
    """Recover first, then delete every approved item of ``plan`` (the plan.json document). A plan
    with errors is not executed."""
    report = recover(d)
    if plan.get("errors"):
        report.refused = (
            f"the plan has {len(plan['errors'])} error(s): nothing is deleted until they are fixed"
        )
        return report
    for item in plan.get("delete", []):
        if not item.get("approved"):
            report.not_approved += 1
            continue
        outcome, details = execute_item(item, approval, d)
        if outcome == "skipped":
            report.skipped.append(details)
        else:
            _tally(report, outcome, details)
    return report


__all__ = [
    "CERTIFICATE",
    "CERTIFICATE_CHECK",
    "TOMBSTONE_CHECK",
    "WORK_DIR",
    "Approval",
    "Disposer",
    "ExecutionReport",
    "execute_plan",
    "recover",
]
