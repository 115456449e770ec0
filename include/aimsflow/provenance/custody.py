"""The chain of custody, rebuilt from signed records alone.

Only records whose signature verifies against the trusted keys are read
(:func:`~aimsflow.evidence.listing.load_verified`); every other record folder is listed in
:attr:`CustodyIndex.rejected` and reported by the provenance records as a gap, never counted: a
forged ingestion or acquisition record must not account for a version.

Every transformation (a record with outputs) and every acquisition names its inputs and outputs by
SHA-256. An acquisition is an ingestion record (``data_preparation/ingest``: a job read an internal
source's batch) or an acquisition record (``data_provenance/acquisition``: ``aimsflow acquisition
record`` hashed an external delivery); its inputs are the versions it acquired. A dataset version is
accounted for when an acquisition names its bytes or a recorded transformation wrote them; the chain
of a version walks those records back to acquisition. OpenLineage events are linked by the run id each
manifest stores, and are never required.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimsflow.evidence.listing import RecordSummary, Untrusted, load_verified
from aimsflow.evidence.storage import Storage
from aimsflow.evidence.verify import TOMBSTONE
from aimsflow.periods import Period
from aimsflow.prep.job import INGEST
from aimsflow.provenance.acquisition import ACQUISITION_CHECK

if TYPE_CHECKING:
    from aimsflow.evidence.keys import TrustedKeys

INGEST_CHECK = INGEST.check
ACQUISITION_CHECKS = frozenset({INGEST_CHECK, ACQUISITION_CHECK})
#: What an acquisition record states about the delivery, shown with the chain.
_STATED = ("source", "collection_method", "legal_basis", "agreement", "received_at")
# Checks whose inputs are objects handled, not data used by an AI system: retention lists the
# partitions it would dispose of, which are no "use" needing provenance.
NOT_A_USE = (f"{TOMBSTONE.dag_id}/",)


@dataclass(frozen=True)
class Version:
    dataset: str | None
    sha256: str
    uri: str


@dataclass
class Transformation:
    """One record that acquired or produced dataset versions."""

    record: str
    check: str
    status: str
    period: str
    subject: dict[str, Any]
    producer: dict[str, Any]
    openlineage_run_id: str | None
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    steps: list[str] = field(default_factory=list)
    # For acquisition records: the stated source, collection method, legal basis, agreement, receipt.
    stated: dict[str, Any] | None = None

    @property
    def is_acquisition(self) -> bool:
        return self.check in ACQUISITION_CHECKS

    def as_dict(self) -> dict[str, Any]:
        p = self.producer
        out = {
            "record": self.record,
            "check": self.check,
            "status": self.status,
            "period": self.period,
            "run": {k: p.get(k) for k in ("dag_id", "run_id", "task_id", "map_index", "try_number")},
            "openlineage_run_id": self.openlineage_run_id,
            "steps": self.steps,
            "inputs": [_short(i) for i in self.inputs],
            "outputs": [_short(o) for o in self.outputs],
        }
        if self.stated is not None:
            out["stated"] = self.stated
            out["run"] = {k: p.get(k) for k in ("command", "invocation", "user")}
        return out


def _short(ref: dict[str, Any]) -> dict[str, Any]:
    return {k: ref.get(k) for k in ("dataset", "uri", "sha256", "rows")}


@dataclass
class CustodyIndex:
    records: list[RecordSummary]
    manifests: dict[str, dict[str, Any]]
    produced_by: dict[str, list[Transformation]]
    acquired_by: dict[str, list[Transformation]]
    uris: dict[str, str]  # SHA-256 -> a URI it was seen at
    rejected: list[Untrusted] = field(default_factory=list)  # folders that do not verify: not read

    def versions_used(self, period: Period) -> list[Version]:
        """Dataset versions read or written by the current records of ``period``."""
        seen: dict[str, Version] = {}
        for rec in self.records:
            if rec.superseded or not rec.period.overlaps(period) or rec.check.startswith(NOT_A_USE):
                continue
            predicate = self.manifests[rec.key]
            for ref in [*predicate.get("inputs", []), *predicate.get("outputs", [])]:
                if ref.get("dataset"):
                    seen.setdefault(ref["sha256"], Version(ref["dataset"], ref["sha256"], ref["uri"]))
        return sorted(seen.values(), key=lambda v: (v.dataset or "", v.uri))

    def origin(self, sha256: str) -> Transformation | None:
        """The record that accounts for a version: its acquisition, else the transformation that
        wrote it (the latest passing one when re-runs wrote the same bytes again)."""
        for candidates in (self.acquired_by.get(sha256), self.produced_by.get(sha256)):
            if candidates:
                return max(candidates, key=lambda t: (t.status in ("passed", "warning"), t.record))
        return None

    def chain(self, sha256: str) -> tuple[list[Transformation], list[str]]:
        """Transformations from acquisition to this version, and the hashes nothing accounts for."""
        chain: dict[str, Transformation] = {}
        unaccounted: list[str] = []
        todo, done = [sha256], set()
        while todo:
            current = todo.pop()
            if current in done:
                continue
            done.add(current)
            origin = self.origin(current)
            if origin is None:
                unaccounted.append(current)
                continue
            chain[origin.record] = origin
            if not origin.is_acquisition:
                todo.extend(ref["sha256"] for ref in origin.inputs)
        ordered = sorted(chain.values(), key=lambda t: (t.period, not t.is_acquisition, t.record))
        return ordered, sorted(unaccounted)

    def acquisitions_of(self, dataset: str | None) -> list[Transformation]:
        """Acquisition records of ``dataset`` (by their subject), whatever bytes they name: a version
        none of them names was changed after delivery or never recorded."""
        found = {t.record: t for ts in self.acquired_by.values() for t in ts if t.check == ACQUISITION_CHECK}
        return sorted(
            (t for t in found.values() if dataset and t.subject.get("dataset") == dataset),
            key=lambda t: t.record,
        )


def load_index(storage: Storage, keys: TrustedKeys | None = None) -> CustodyIndex:
    """The custody index of the verified records of ``storage`` (``keys``: default the configured
    trusted-keys file); folders that do not verify are kept aside in ``rejected``."""
    from aimsflow.evidence.keys import TrustedKeys

    loaded = load_verified(storage, keys or TrustedKeys.load())
    records = loaded.records
    manifests: dict[str, dict[str, Any]] = {}
    produced: dict[str, list[Transformation]] = defaultdict(list)
    acquired: dict[str, list[Transformation]] = defaultdict(list)
    uris: dict[str, str] = {}
    for rec in records:
        predicate = loaded.predicates[rec.key]
        manifests[rec.key] = predicate
        for ref in [*predicate.get("inputs", []), *predicate.get("outputs", [])]:
            uris.setdefault(ref["sha256"], ref["uri"])
        if str(rec.status) == "error":
            continue  # a broken try accounts for nothing
        is_acquisition = rec.check in ACQUISITION_CHECKS
        if not predicate.get("outputs") and not is_acquisition:
            continue
        transformation = Transformation(
            record=rec.key,
            check=rec.check,
            status=str(rec.status),
            period=rec.period.label,
            subject=rec.subject,
            producer=rec.producer,
            openlineage_run_id=(predicate.get("openlineage") or {}).get("run_id"),
            inputs=predicate.get("inputs", []),
            outputs=predicate.get("outputs", []),
            steps=list((predicate.get("summary") or {}).get("steps_applied", [])),
            stated=(
                {k: (predicate.get("summary") or {}).get(k) for k in _STATED}
                if rec.check == ACQUISITION_CHECK
                else None
            ),
        )
        if is_acquisition:
            for ref in transformation.inputs:
                acquired[ref["sha256"]].append(transformation)
        for ref in transformation.outputs:
            produced[ref["sha256"]].append(transformation)
    return CustodyIndex(records, manifests, dict(produced), dict(acquired), uris, loaded.rejected)


def missing_events(chain: Iterable[Transformation], events_by_run: dict[str, list[Any]] | None) -> list[str]:
    """Records of the chain whose OpenLineage events are absent (None: events not available)."""
    if events_by_run is None:
        return []
    return [t.record for t in chain if t.openlineage_run_id and t.openlineage_run_id not in events_by_run]
