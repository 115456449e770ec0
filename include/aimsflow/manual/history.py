"""Earlier drops, from the verified records of ``manual_evidence/document`` only.

A drop is compared with what was ingested before: the same document with the same metadata is a
duplicate, a document with the title (and AI system) of an earlier one is its new version, and a bad
drop already reported unchanged is not reported again within :data:`REPORT_AGAIN_AFTER`. Nothing is
decided from a record whose signature does not verify (:func:`aimsflow.evidence.listing.load_verified`);
such records are counted, logged and otherwise ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from aimsflow import settings
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.listing import Untrusted, load_verified
from aimsflow.evidence.record import record_key
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.periods import Period
from aimsflow.results import Status

log = logging.getLogger(__name__)

#: The sidecar fields two drops must share (besides the document's bytes) to be the same drop.
METADATA_FIELDS = (
    "title",
    "owner",
    "controls",
    "valid_from",
    "valid_to",
    "review_date",
    "ai_system",
    "version",
)
#: A bad drop left unchanged in the inbox gets its ``error`` record again after this long (a daily
#: reminder), not at every hourly run.
REPORT_AGAIN_AFTER = dt.timedelta(hours=24)


def document_id(title: str, ai_system: str | None) -> str:
    """The identity of a document across its versions: its AI system (``aims`` for the management
    system as a whole) and its title, folded (``loan_approval/ai-system-impact-assessment``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-") or "untitled"
    return f"{ai_system or 'aims'}/{slug}"


@dataclass(frozen=True)
class Earlier:
    """One verified earlier record of the check."""

    key: str
    record_id: str
    status: Status
    ended_at: dt.datetime
    position: tuple[Any, ...]
    summary: dict[str, Any]

    @property
    def ingested(self) -> bool:
        """The record took a document in (a duplicate or an error record did not)."""
        return self.status in (Status.passed, Status.warning) and not self.summary.get("duplicate_of")

    def metadata(self) -> tuple[Any, ...]:
        return tuple(_canonical(self.summary.get(f)) for f in METADATA_FIELDS)


def _canonical(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def metadata_key(metadata: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_canonical(metadata.get(f)) for f in METADATA_FIELDS)


@dataclass
class History:
    """The check's verified records in the order of the evidence log, and those that did not verify."""

    records: list[Earlier] = field(default_factory=list)
    rejected: list[Untrusted] = field(default_factory=list)

    def _ingested(self) -> list[Earlier]:
        return [r for r in self.records if r.ingested]

    def same_drop(self, document_sha256: str, metadata: dict[str, Any]) -> Earlier | None:
        """The latest record that ingested these document bytes with this metadata."""
        want = metadata_key(metadata)
        found = [
            r
            for r in self._ingested()
            if r.summary.get("document_sha256") == document_sha256 and r.metadata() == want
        ]
        return found[-1] if found else None

    def same_files(self, document_sha256: str | None, sidecar_sha256: str | None) -> Earlier | None:
        """The latest record that ingested exactly these two files (byte for byte)."""
        found = [
            r
            for r in self._ingested()
            if r.summary.get("document_sha256") == document_sha256
            and r.summary.get("sidecar_sha256") == sidecar_sha256
        ]
        return found[-1] if found else None

    def latest_version(self, doc_id: str) -> Earlier | None:
        """The current version of a document: the latest record that ingested one with this id."""
        found = [r for r in self._ingested() if r.summary.get("document_id") == doc_id]
        return found[-1] if found else None

    def superseded_by(self, key: str) -> Earlier | None:
        return next((r for r in self._ingested() if r.summary.get("supersedes") == key), None)

    def reported(
        self, document_sha256: str | None, sidecar_sha256: str | None, since: dt.datetime
    ) -> Earlier | None:
        """The latest ``error`` record, ended after ``since``, about exactly these files (a lone file:
        the other hash None)."""
        found = [
            r
            for r in self.records
            if r.status == Status.error
            and r.ended_at >= since
            and r.summary.get("document_sha256") == document_sha256
            and r.summary.get("sidecar_sha256") == sidecar_sha256
        ]
        return found[-1] if found else None


def _check_folder(check: str) -> str:
    """``records/<label>/<this part>/<record id>`` of the check's records."""
    return "/".join(record_key(Period.day(dt.date(2000, 1, 1)), check, "x").split("/")[2:-1])


def load_history(
    check: str,
    storage: Storage | None = None,
    keys: TrustedKeys | None = None,
    now: dt.datetime | None = None,
) -> History:
    """The verified records of ``check`` (only its folders are read), in the evidence log's order."""
    storage = storage or LocalStorage(settings.evidence_root())
    keys = keys or TrustedKeys.load()
    folder = _check_folder(check)

    def mine(key: str) -> bool:
        return "/".join(key.split("/")[2:-1]) == folder

    loaded = load_verified(storage, keys, now=now, only=mine)
    records = sorted(
        (r for r in loaded.records if r.check == check),
        key=lambda r: r.log_position,
    )
    rejected = [u for u in loaded.rejected if mine(u.key)]
    for bad in rejected:
        log.warning("earlier record not used, it does not verify: %s: %s", bad.key, bad.problem)
    return History(
        [Earlier(r.key, r.record_id, r.status, r.ended_at, r.log_position, r.summary) for r in records],
        rejected,
    )
