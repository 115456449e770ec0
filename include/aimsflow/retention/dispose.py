"""Disposal with proof: delete, verify, certify — exactly once, recoverable after a crash, and only
ever through a verified plan.

Each approved deletion goes through a *marker*, a folder ``<area root>/.retention/<marker id>/`` whose
id is derived from (plan record, object, approved SHA-256). The steps, each durable (fsync) before the
next:

1. ``intent.json`` — the plan item, the approval and the plan's clock (the marker appears atomically);
2. **take**: the object is renamed into the marker as ``payload`` (atomic; it is gone from its URI);
3. ``taken.json`` — the SHA-256 and size of what was taken, measured before deletion, as a DSSE
   envelope signed with the signing key (bound to the marker, the object and the approved hash);
4. ``purging.json`` — from here on the object is never put back;
5. **purge**: ``payload`` is deleted (or overwritten, then deleted);
6. verify: the object is gone from its URI and from the marker;
7. for an evidence record, its **tombstone** record; then the **certificate** record (both at keys
   derived from the marker, so a second write is refused by the store and nothing is certified twice);
8. the marker is removed.

Every run first *recovers* each marker left by a crash — but the marker's files are only a pointer:
they are written by whoever can write the folder. A marker is acted on only when (a) its name is the
marker id of (plan, object, hash) its intent names, (b) that plan record verifies
(:func:`aimsflow.retention.plan.load_plan`) and is the one the intent names by manifest hash, and (c)
the plan lists the object as an approved deletion with the intent's content hash, policy and expiry.
From there on only the plan's item is used, never the folder's copy. Then:

* an object never taken (no payload, no ``taken.json``) is dropped: nothing happened;
* what was taken is measured again from the payload while it is there; once purging has started, only
  a ``taken.json`` whose signature verifies counts (an unsigned one is a claim, not a measurement);
* the object is re-checked against the current policies and legal holds (with the plan's fields) and
  its content against the approved hash; if it may no longer be deleted it is put back when purging
  has not started, and refused — never certified, never purged — when it cannot be put back;
* anything else is purged, verified and certified once.

Whatever fails these checks is *refused*: left in place, reported, and the run's record is ``failed``.
No step follows a symbolic link: a work area, marker, payload or path to the object's URI that is or
holds a link is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimsflow.evidence.dsse import parse_envelope, sign_envelope
from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.record import ENVELOPE, MANIFEST, Producer, RunContext, record_key, write_record
from aimsflow.evidence.storage import LocalStorage, WriteOnceError
from aimsflow.evidence.trust import UntrustedRecord, check_signature
from aimsflow.evidence.verify import TOMBSTONE
from aimsflow.fsutil import atomic_write, fsync_dir
from aimsflow.jobs import Check
from aimsflow.periods import Period, to_utc
from aimsflow.results import DataRef, JobResult, Status, Subject, record_json, sha256_bytes, sha256_file
from aimsflow.retention.decide import Outcome, Rules, decide
from aimsflow.retention.objects import (
    WORK_DIR,
    Candidate,
    Kind,
    Locations,
    SealIndex,
    link_on_path,
    links_under,
    seal_index,
)
from aimsflow.retention.plan import Approval, VerifiedPlan, load_plan
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
TAKEN_PAYLOAD_TYPE = "application/vnd.aimsflow.retention-taken+json"
_STAGING_PREFIX = ".tmp-"
_MARKER_NAME = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1 << 20


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Disposer:
    """What completing a deletion needs: where things are, the store, the key, the current rules, and
    the trusted keys every plan and measurement is verified against."""

    loc: Locations
    storage: LocalStorage
    signer: Signer
    rules: Rules
    executed_by: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = _now
    keys: TrustedKeys | None = None
    _seals: SealIndex | None = field(default=None, repr=False)
    _plans: dict[str, VerifiedPlan | UntrustedRecord] = field(default_factory=dict, repr=False)

    @property
    def trusted(self) -> TrustedKeys:
        if self.keys is None:
            self.keys = TrustedKeys.load()
        return self.keys

    @property
    def seals(self) -> SealIndex:
        if self._seals is None:
            self._seals = seal_index(self.storage, self.trusted)
        return self._seals

    def plan(self, key: str) -> VerifiedPlan:
        """The verified plan record ``key`` (cached per run); raises :class:`UntrustedRecord`."""
        if key not in self._plans:
            try:
                self._plans[key] = load_plan(self.storage, key, self.trusted, self.seals, self.clock())
            except UntrustedRecord as exc:
                self._plans[key] = exc
        found = self._plans[key]
        if isinstance(found, UntrustedRecord):
            raise found
        return found


class Refused(Exception):  # noqa: N818 - an outcome, not a failure of the code
    """A marker or an item that must not be acted on; left in place and reported."""


@dataclass
class ExecutionReport:
    deleted: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)  # markers that cannot finish (yet)
    # markers and items refused (forged, not matching a verified plan, symbolic links): a finding
    refusals: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0  # markers whose object was never taken
    not_approved: int = 0
    refused: str | None = None  # the whole plan was not executed: why

    def merge(self, other: ExecutionReport) -> None:
        self.deleted += other.deleted
        self.skipped += other.skipped
        self.restored += other.restored
        self.blocked += other.blocked
        self.refusals += other.refusals
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
            "refusals": self.refusals,
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


def record_taken(marker: Path, measured: dict[str, Any], signer: Signer) -> None:
    """The measurement of what was taken, signed: recovery certifies from nothing else once the payload
    is being purged (an unsigned file there is anybody's claim)."""
    atomic_write(marker / TAKEN, sign_envelope(record_json(measured), signer, TAKEN_PAYLOAD_TYPE))


def read_taken(marker: Path, keys: TrustedKeys, expected: dict[str, Any]) -> dict[str, Any]:
    """The signed measurement in ``taken.json``, checked against ``expected`` (marker, object); raises
    :class:`Refused` for a missing, unsigned, wrongly signed or misplaced one."""
    path = marker / TAKEN
    if os.path.islink(path) or not path.is_file():
        raise Refused(f"{TAKEN} is missing: nothing the disposal measured and signed")
    try:
        envelope = path.read_bytes()
        _, payload, _ = parse_envelope(envelope)
        measured = json.loads(payload)
        taken_at = to_utc(dt.datetime.fromisoformat(measured["taken_at"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"{TAKEN} is not a signed measurement: {exc}") from None
    problem = check_signature(envelope, payload, TAKEN_PAYLOAD_TYPE, keys, taken_at)
    if problem is not None:
        raise Refused(f"{TAKEN} does not verify: {problem}")
    for name, value in expected.items():
        if measured.get(name) != value:
            raise Refused(f"{TAKEN} is about {name} {measured.get(name)!r}, not {value!r}")
    return measured


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
            for dirpath, _, filenames in os.walk(payload):  # never enters a linked folder
                for name in sorted(filenames):
                    p = Path(dirpath) / name
                    if not p.is_symlink() and p.is_file():
                        _overwrite(p)
        shutil.rmtree(payload)  # unlinks links, never follows them
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
    """SHA-256 and size before deletion: a file's own; a record folder's manifest SHA-256 and total size.
    Raises :class:`Refused` when ``path`` is, or holds, a symbolic link."""
    links = [path] if os.path.islink(path) else links_under(path) if path.is_dir() else []
    if links:
        raise Refused(
            f"symbolic link {links[0]} (to {os.readlink(links[0])}): retention does not follow links"
        )
    if kind == Kind.evidence_record:
        size = sum(os.lstat(os.path.join(d, name)).st_size for d, _, names in os.walk(path) for name in names)
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
    item: dict[str, Any],
    approval: dict[str, Any],
    measured: dict[str, Any],
    verification: dict[str, Any],
    sanitized_at: str,
    executed_by: dict[str, Any],
    recovered: bool,
    tombstone: str | None,
) -> dict[str, Any]:
    """The certificate's fields (after NIST SP 800-88 Rev. 1, Appendix G, certificate of sanitization)."""
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


def write_certificate(
    d: Disposer, item: dict[str, Any], approval: Approval, marker: str, doc: dict[str, Any]
) -> str:
    c = Candidate.from_dict(item)
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


def _started_at(marker: Path) -> str:
    """When purging started (``purging.json``); :class:`Refused` when that file is not ours."""
    try:
        started = str(_read_json(marker / PURGING)["started_at"])
        dt.datetime.fromisoformat(started)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"unreadable {PURGING}: {exc!r}") from None
    return started


def _refuse_links(*paths: Path) -> None:
    for path in paths:
        if os.path.islink(path):
            raise Refused(f"symbolic link {path} (to {os.readlink(path)}): retention does not follow links")


def complete(
    marker: Path, d: Disposer, recheck: bool, item: dict[str, Any], approval: Approval
) -> tuple[str, dict[str, Any]]:
    """Drive one marker to its end, from the plan's ``item`` and ``approval`` (verified by the caller).
    Returns (``deleted`` | ``restored`` | ``dropped`` | ``blocked``, details); raises :class:`Refused`
    when the marker must be left alone. ``recheck``: re-decide with the current rules (recovery)."""
    c = Candidate.from_dict(item)
    root = d.loc.root(c.area)
    source = d.loc.path_of(c.object_id)
    payload = marker / PAYLOAD
    _refuse_links(marker, payload, marker / TAKEN, marker / PURGING)
    present = os.path.lexists(payload)
    purging = (marker / PURGING).exists()
    mid = marker.name
    if not present and not os.path.lexists(marker / TAKEN):
        if purging:
            raise Refused(f"{PURGING} without a payload or a {TAKEN}: nothing the disposal took")
        close_marker(marker)  # interrupted before the object was moved: nothing happened
        return "dropped", {"object": c.object_id}
    expected = {"marker": mid, "object": c.object_id}
    if present and not purging:
        try:
            measured = {**expected, **measure(payload, c.kind), "taken_at": d.clock().isoformat()}
        except OSError as exc:  # not the kind of object the plan approved (a file for a folder, ...)
            raise Refused(
                f"the payload is not the {c.kind} the plan approved: {exc.strerror or exc}"
            ) from None
        try:
            measured = read_taken(marker, d.trusted, {**expected, "sha256": measured["sha256"]})
        except Refused:  # none yet (crash before it), or not ours: measure and sign it now
            record_taken(marker, measured, d.signer)
    else:
        measured = read_taken(marker, d.trusted, expected)
        if not purging:
            raise Refused(
                "the taken object vanished from the work area before purging started (not deleted by "
                "retention)"
            )
    why = _reason_to_keep(c, item, measured, d, approval, recheck, source)
    if why is not None:
        if present and not purging:
            if link_on_path(root, source.parent) is not None:
                raise Refused(f"{why}; cannot put it back: a symbolic link is on the way to {source}")
            if os.path.lexists(source):
                return "blocked", {
                    "object": c.object_id,
                    "reason": f"{why}; cannot put it back: URI occupied",
                }
            restore(marker, source)
            close_marker(marker)
            return "restored", {"object": c.object_id, "reason": why}
        state = "purging had started" if purging else "it is no longer in the work area"
        raise Refused(f"{why}; {state}, so it cannot be put back and is not certified")
    if not purging:
        mark_purging(marker, d.clock())
    started = _started_at(marker)  # checked before anything is purged
    if os.path.lexists(payload):
        purge(marker, Method(item["policy"]["method"]))
    if os.path.lexists(payload):
        return "blocked", {"object": c.object_id, "reason": "payload still present after purge"}
    absent = not os.path.lexists(source)
    verification = {
        "result": "verified: gone from its URI and from the retention work area"
        if absent
        else "purged; its URI now holds another object written after the disposal",
        "absent_at_uri": absent,
        "payload_purged": True,
        "checked_at": d.clock().isoformat(),
    }
    cert_key = certificate_key(approval, mid)
    tomb = None
    if c.kind == Kind.evidence_record:
        tomb = write_tombstone(d, c, approval, cert_key, started)
    existed = d.storage.exists(f"{cert_key}/{ENVELOPE}")  # interrupted after certifying: not again
    doc = certificate_doc(
        item, approval.as_dict(), measured, verification, started, d.executed_by, recheck, tomb
    )
    written = write_certificate(d, item, approval, mid, doc)
    assert written == cert_key
    close_marker(marker)
    details = {"object": c.object_id, "certificate": cert_key, "tombstone": tomb, "recovered": recheck}
    return "deleted", {**details, "certified_earlier": existed}


def _reason_to_keep(
    c: Candidate,
    item: dict[str, Any],
    measured: dict[str, Any],
    d: Disposer,
    approval: Approval,
    recheck: bool,
    source: Path,
) -> str | None:
    if measured["sha256"] != item["sha256"]:
        return f"content {measured['sha256'][:12]} differs from the approved {item['sha256'][:12]}"
    if not recheck:
        return None
    decision = decide(c, d.rules, approval.as_of, str(source))
    if decision.outcome != Outcome.delete:
        return "no longer to be deleted under the current policies and holds: " + "; ".join(decision.reasons)
    return None


def vet(marker: Path, d: Disposer) -> tuple[dict[str, Any], Approval]:
    """The plan's item and approval a marker may be recovered through (see the module docstring);
    raises :class:`Refused` for anything else."""
    _refuse_links(marker, marker / INTENT)
    if not _MARKER_NAME.match(marker.name):
        raise Refused("not a disposal folder (its name is not a marker id)")
    try:
        intent = _read_json(marker / INTENT)
        named = intent["item"]
        plan_key = str(intent["approval"]["plan_record"])
        plan_sha = str(intent["approval"]["plan_manifest_sha256"])
        object_id, sha = str(named["object_id"]), str(named["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"unreadable {INTENT}: {exc!r}") from None
    if marker.name != marker_id(plan_key, object_id, sha):
        raise Refused(f"the folder's name is not the marker id of plan {plan_key}, {object_id}, {sha[:12]}")
    try:
        plan = d.plan(plan_key)
    except UntrustedRecord as exc:
        raise Refused(f"plan {plan_key} does not verify: {exc.problem}") from None
    if plan.manifest_sha256 != plan_sha:
        raise Refused(f"plan {plan_key} is not the plan the intent names (manifest {plan_sha[:12]})")
    if not plan.executable or plan.doc.get("errors"):
        raise Refused(f"plan {plan_key} is {plan.status!r} with {len(plan.doc.get('errors') or [])} error(s)")
    item = plan.item(object_id)
    if item is None:
        raise Refused(f"plan {plan_key} does not list {object_id} for deletion")
    if not item.get("approved"):
        raise Refused(f"plan {plan_key} lists {object_id} but did not approve its deletion (a dry run)")
    for name in ("sha256", "policy", "expires_on"):
        if named.get(name) != item.get(name):
            raise Refused(f"the intent's {name} differs from the plan's item for {object_id}")
    if marker.parent != d.loc.work_dir(Candidate.from_dict(item).area):
        raise Refused(f"a marker for {object_id} in another area's work folder")
    return item, plan.approval


def markers(loc: Locations) -> list[Path]:
    """Every marker folder in the work areas (symbolic links are not markers: see :func:`work_area_links`)."""
    out = []
    for area in AREAS:
        work = loc.work_dir(area)
        if work.is_dir() and not work.is_symlink():
            out.extend(sorted(p for p in work.iterdir() if p.is_dir() and not p.is_symlink()))
    return out


def work_area_links(loc: Locations) -> list[Path]:
    """Work areas that are symbolic links, and links inside the work areas: never entered."""
    out = []
    for area in AREAS:
        work = loc.work_dir(area)
        if work.is_symlink():
            out.append(work)
        elif work.is_dir():
            out.extend(sorted(p for p in work.iterdir() if p.is_symlink()))
    return out


def _refusal(report: ExecutionReport, marker: Path, reason: str, object_id: str | None = None) -> None:
    report.refusals.append({"marker": str(marker), "object": object_id, "reason": reason})


def recover(d: Disposer) -> ExecutionReport:
    """Finish whatever an interrupted run left in the work areas (see the module docstring)."""
    report = ExecutionReport()
    for link in work_area_links(d.loc):
        _refusal(report, link, f"symbolic link (to {os.readlink(link)}): retention does not follow links")
    for marker in markers(d.loc):
        if marker.name.startswith(_STAGING_PREFIX):  # an intent never placed: nothing was taken
            if all(p.name == INTENT or p.name.endswith(".tmp") for p in marker.iterdir()):
                shutil.rmtree(marker)
            else:
                _refusal(report, marker, "an unplaced intent folder holding more than an intent")
            continue
        object_id = None
        try:
            item, approval = vet(marker, d)
            object_id = item["object_id"]
            _tally(report, *complete(marker, d, True, item, approval))
        except Refused as refused:
            _refusal(report, marker, str(refused), object_id)
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
    """Delete one approved plan item, re-checked against the current rules and the object itself;
    raises :class:`Refused` when a symbolic link is on the object's path or in it."""
    c = Candidate.from_dict(item)
    source = d.loc.path_of(c.object_id)
    mid = marker_id(approval.plan_record, c.object_id, item["sha256"])
    work = d.loc.work_dir(c.area)
    marker = work / mid
    if d.storage.exists(f"{certificate_key(approval, mid)}/{ENVELOPE}"):
        return "skipped", {"object": c.object_id, "reason": "already disposed of under this plan"}
    if os.path.lexists(
        marker
    ):  # recovery ran first: a marker still here is blocked (see the recovery record)
        return "skipped", {"object": c.object_id, "reason": f"an earlier disposal is blocked: {marker}"}
    decision = decide(c, d.rules, approval.as_of, str(source))
    if decision.outcome != Outcome.delete:
        why = "; ".join(decision.reasons) or str(decision.outcome)
        return "skipped", {"object": c.object_id, "reason": f"no longer to be deleted: {why}"}
    link = link_on_path(d.loc.root(c.area), source) or link_on_path(d.loc.root(c.area), work)
    if link is not None:
        raise Refused(f"symbolic link {link} (to {os.readlink(link)}): retention does not follow links")
    if source.is_dir() and (inside := links_under(source)):
        raise Refused(
            f"symbolic link {inside[0]} (to {os.readlink(inside[0])}): retention does not follow links"
        )
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
    return complete(marker, d, False, item, approval)


def execute_plan(plan: dict[str, Any], approval: Approval, d: Disposer) -> ExecutionReport:
    """Recover first, then delete every approved item of ``plan`` (the ``plan.json`` of a plan record
    the caller verified). A plan with errors is not executed."""
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
        try:
            outcome, details = execute_item(item, approval, d)
        except Refused as refused:
            report.refusals.append({"marker": None, "object": item.get("object_id"), "reason": str(refused)})
            continue
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
    "Refused",
    "execute_plan",
    "recover",
]
