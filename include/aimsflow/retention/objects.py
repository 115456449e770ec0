"""What retention considers: dataset partition files, OpenLineage event files and evidence records.

Every object has an id in one namespace, ``<area>/<path>`` with area ``data`` (the data root),
``openlineage`` (the OpenLineage folder) or ``evidence`` (the evidence store, ``evidence/records/...``).
Path-prefix legal holds are written in the same namespace.

* A dataset partition is a file (``.../date=2026-07-01/applications.csv``) or a folder of write-once
  versions (``.../date=2026-07-01/part-*.parquet``); each file is one object, created on the partition
  date.
* An OpenLineage event file is created on the UTC date its name starts with
  (``20261121T000512.123456Z-...json``), else on its modification date. Its datasets and AI systems
  come from the ``aimsflow`` run facet and from input/output names under a dataset's partition path;
  an unreadable event has an unknown subject, which every dataset and AI-system hold covers. It
  also carries the UTC days of its events (by ``eventTime``) and which of those days no sealed
  ``evidence_seal/lineage_events`` record archives *this content* of it (its SHA-256 among the
  record's inputs): such a file is never disposed of (:mod:`aimsflow.retention.decide`).
* An evidence record is its whole folder, created on the day it was written (``ended_at``); its
  "SHA-256 before deletion" is its manifest's, which pins every file of the record. A lineage record
  counts the event files on disk that rely on it as their archive (kept while there are any).

Hidden files and folders (``.tmp-*`` orphans, the ``.retention`` work area) are never objects.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import Inventory
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.seal import read_seal, record_keys, seal_sequences, sealed_keys
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.lineage import archive
from aimsflow.periods import Period
from aimsflow.results import sha256_bytes

#: Work area of the disposal protocol, one per area root (hidden: never an object, never evidence).
WORK_DIR = ".retention"
_EVENT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})T")


class Kind(StrEnum):
    dataset_file = "dataset_file"
    openlineage_event = "openlineage_event"
    evidence_record = "evidence_record"


@dataclass(frozen=True)
class Locations:
    data_root: Path
    evidence_root: Path
    openlineage_root: Path

    @classmethod
    def from_settings(cls) -> Locations:
        return cls(settings.data_root(), settings.evidence_root(), settings.openlineage_root())

    def root(self, area: str) -> Path:
        roots = {"data": self.data_root, "evidence": self.evidence_root, "openlineage": self.openlineage_root}
        try:
            return roots[area]
        except KeyError:
            raise ValueError(f"unknown area {area!r}; expected one of {sorted(roots)}") from None

    def path_of(self, object_id: str) -> Path:
        area, _, rel = object_id.partition("/")
        if not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"invalid object id {object_id!r}")
        return self.root(area) / rel

    def work_dir(self, area: str) -> Path:
        return self.root(area) / WORK_DIR


@dataclass(frozen=True)
class Candidate:
    """One object retention decides about."""

    object_id: str
    kind: Kind
    data_class: str | None
    created: dt.date
    size: int
    datasets: tuple[str, ...] = ()
    ai_systems: tuple[str, ...] = ()
    # False when the object's datasets/AI systems cannot be read: every such hold then covers it.
    subject_known: bool = True
    partition: str | None = None
    note: str | None = None  # why the data class is missing or ambiguous
    # evidence records only
    check: str | None = None
    manifest_sha256: str | None = None
    sealed_in: int | None = None
    record_period: dict[str, str] | None = None
    # OpenLineage event files only: the UTC days of its events (None: some part cannot be read), the
    # days no sealed lineage record archives this content in, and the records that do archive it.
    event_days: tuple[str, ...] | None = None
    unarchived_days: tuple[str, ...] = ()
    archived_in: tuple[str, ...] = ()
    # Lineage records only: how many event files still on disk rely on this record as their archive.
    archives_files: int = 0

    @property
    def area(self) -> str:
        return self.object_id.split("/", 1)[0]

    @property
    def record_key(self) -> str | None:
        return self.object_id.removeprefix("evidence/") if self.kind == Kind.evidence_record else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = str(self.kind)
        out["created"] = self.created.isoformat()
        out["datasets"], out["ai_systems"] = list(self.datasets), list(self.ai_systems)
        for name in _LINEAGE_FIELDS:
            value = getattr(self, name)
            out[name] = None if value is None else list(value)
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Candidate:
        names = set(cls.__dataclass_fields__)
        data = {k: v for k, v in doc.items() if k in names}
        data["kind"] = Kind(data["kind"])
        data["created"] = dt.date.fromisoformat(data["created"])
        data["datasets"], data["ai_systems"] = (
            tuple(data.get("datasets", ())),
            tuple(data.get("ai_systems", ())),
        )
        for name in _LINEAGE_FIELDS:
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        return cls(**data)


_LINEAGE_FIELDS = ("event_days", "unarchived_days", "archived_in")


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _files_under(path: Path) -> Iterator[Path]:
    """``path`` itself if a file, else every non-hidden file below it."""
    if path.is_file():
        yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def _partition_pattern(uri: str, data_root: Path) -> tuple[str, re.Pattern[str]]:
    """A glob for every partition of a dataset URI template, and a regex that extracts the date."""
    template = uri.replace("{data}", str(data_root))
    before, _, after = template.partition("{date}")
    pattern = glob.escape(before) + "*" + glob.escape(after)
    regex = re.compile(re.escape(before) + r"(\d{4}-\d{2}-\d{2})" + re.escape(after) + "$")
    return pattern, regex


@dataclass
class _Found:
    candidate: Candidate
    classes: set[str] = field(default_factory=set)


def scan_datasets(inventory: Inventory, data_root: Path) -> list[Candidate]:
    """Every file of every partition of every catalog dataset under ``data_root``."""
    data_root = Path(data_root)
    found: dict[str, _Found] = {}
    for ds in sorted(inventory.datasets.values(), key=lambda d: d.id):
        pattern, regex = _partition_pattern(ds.uri, data_root)
        for match in sorted(glob.glob(pattern)):
            m = regex.match(match)
            if not m:
                continue
            try:
                day = dt.date.fromisoformat(m[1])
            except ValueError:
                continue
            for path in _files_under(Path(match)):
                rel = path.relative_to(data_root)
                if _hidden(rel):
                    continue
                object_id = f"data/{rel.as_posix()}"
                if object_id in found:  # claimed by two datasets: union of subjects, class must agree
                    prev = found[object_id]
                    prev.classes.add(ds.data_class)
                    c = prev.candidate
                    prev.candidate = Candidate(
                        object_id,
                        c.kind,
                        c.data_class,
                        c.created,
                        c.size,
                        tuple(sorted({*c.datasets, ds.id})),
                        tuple(sorted({*c.ai_systems, ds.ai_system})),
                        partition=c.partition,
                    )
                    continue
                cand = Candidate(
                    object_id,
                    Kind.dataset_file,
                    ds.data_class,
                    day,
                    path.stat().st_size,
                    (ds.id,),
                    (ds.ai_system,),
                    partition=day.isoformat(),
                )
                found[object_id] = _Found(cand, {ds.data_class})
    out = []
    for item in found.values():
        c = item.candidate
        if len(item.classes) > 1:
            note = (
                f"claimed by datasets {list(c.datasets)} with different data classes {sorted(item.classes)}"
            )
            c = Candidate(
                c.object_id,
                c.kind,
                None,
                c.created,
                c.size,
                c.datasets,
                c.ai_systems,
                partition=c.partition,
                note=note,
            )
        out.append(c)
    return sorted(out, key=lambda c: c.object_id)


def _event_day(path: Path) -> dt.date:
    m = _EVENT_DAY.match(path.name)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _event_subject(
    values: Iterator[object] | list[object], inventory: Inventory, data_root: Path
) -> tuple[set[str], set[str]] | None:
    """(datasets, AI systems) the decoded JSON values of an event file are about, or None when
    they cannot be read as events."""
    datasets: set[str] = set()
    systems: set[str] = set()
    names: list[str] = []
    try:
        for event in values:
            if not isinstance(event, dict):
                return None
            run = event.get("run") or {}
            facet = (run.get("facets") or {}).get("aimsflow") or {}
            names += [
                str(d.get("name", "")) for d in [*(event.get("inputs") or []), *(event.get("outputs") or [])]
            ]
            if facet.get("dataset"):
                datasets.add(str(facet["dataset"]))
            if facet.get("ai_system"):
                systems.add(str(facet["ai_system"]))
    except (ValueError, AttributeError, TypeError):
        return None
    for ds in inventory.datasets.values():
        base = ds.uri.replace("{data}", str(data_root)).partition("{date}")[0]
        relative = base.removeprefix(str(data_root)).strip("/")
        if any(base in name or (relative and relative in name) for name in names):
            datasets.add(ds.id)
    for dataset_id in datasets:
        if dataset_id in inventory.datasets:
            systems.add(inventory.datasets[dataset_id].ai_system)
    return datasets, systems


#: UTC day (ISO) -> SHA-256 of an event file's content -> key of a sealed lineage record listing it.
LineageArchives = Mapping[str, Mapping[str, str]]


def _sealed_manifests(storage: Storage) -> dict[str, str]:
    """Record key -> the manifest SHA-256 its (first) seal covers."""
    out: dict[str, str] = {}
    for seq in seal_sequences(storage):
        _, body = read_seal(storage, seq)
        for leaf in body.get("leaves", []):
            out.setdefault(leaf["record"], leaf["manifest_sha256"])
    return out


def lineage_archives(storage: Storage) -> dict[str, dict[str, str]]:
    """What sealed lineage records archive: for each UTC day, the SHA-256 of every event file one of
    that day's ``evidence_seal/lineage_events`` records lists as input. A record counts only if
    its manifest is the one a seal covers (same SHA-256), it is for one UTC day and its status
    is passed or warning (an ``error`` record archived nothing)."""
    check_parts = archive.CHECK.split("/")
    sealed = _sealed_manifests(storage)
    out: dict[str, dict[str, str]] = {}
    for key in record_keys(storage):
        if key.split("/")[2:-1] != check_parts or key not in sealed:
            continue
        try:
            manifest = storage.get(f"{key}/{MANIFEST}")
            if sha256_bytes(manifest) != sealed[key]:
                continue  # not the sealed content: verify reports it; it archives nothing here
            predicate = json.loads(manifest)["predicate"]
            day = Period.from_dict(predicate["period"]).single_day().isoformat()
            if predicate.get("check") != archive.CHECK or predicate.get("status") not in {
                str(s) for s in archive.ARCHIVING_STATUSES
            }:
                continue
            digests = [str(ref["sha256"]) for ref in predicate.get("inputs") or []]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        for digest in digests:
            out.setdefault(day, {}).setdefault(digest, key)
    return out


def scan_openlineage(
    root: Path,
    data_class: str,
    inventory: Inventory,
    data_root: Path,
    archives: LineageArchives | None = None,
) -> list[Candidate]:
    """Every event file under the OpenLineage folder (any depth; hidden files and folders skipped),
    with the days of its events and whether ``archives`` (:func:`lineage_archives`; none given:
    nothing is archived) covers each of them."""
    root = Path(root)
    if not root.is_dir():
        return []
    archives = archives or {}
    out = []
    for path in _files_under(root):
        rel = path.relative_to(root)
        if _hidden(rel):
            continue
        source = archive.read_source(path, rel.as_posix())
        # A file only partly decoded may name other datasets in the part that is not: subject unknown.
        decoded = source.decoded and source.values
        subject = _event_subject(list(source.values), inventory, Path(data_root)) if decoded else None
        datasets, systems = subject if subject is not None else (set(), set())
        days = source.days
        event_days = None if days is None else tuple(sorted(d.isoformat() for d in days))
        covered = {d: archives.get(d, {}).get(source.sha256) for d in event_days or ()}
        out.append(
            Candidate(
                f"openlineage/{rel.as_posix()}",
                Kind.openlineage_event,
                data_class,
                _event_day(path),
                path.stat().st_size,
                tuple(sorted(datasets)),
                tuple(sorted(systems)),
                subject_known=subject is not None,
                note=None if subject is not None else "unreadable event: datasets and AI systems unknown",
                event_days=event_days,
                unarchived_days=tuple(d for d, key in covered.items() if key is None),
                archived_in=tuple(sorted({key for key in covered.values() if key is not None})),
            )
        )
    return out


def with_lineage_reliance(evidence: list[Candidate], lineage: list[Candidate]) -> list[Candidate]:
    """``evidence`` with each lineage record's count of event files still on disk that rely on it
    (their ``archived_in``): such a record outlives them, so that no event file ever loses the
    archive its disposal depends on — not when the record's retention is shorter, not when a run
    is interrupted between disposing of the record and of its files."""
    relied: Counter[str] = Counter(key for c in lineage for key in c.archived_in)
    return [
        replace(c, archives_files=relied[c.record_key]) if c.record_key and relied[c.record_key] else c
        for c in evidence
    ]


def record_size(storage: LocalStorage, key: str, predicate: dict[str, Any]) -> int:
    listed = sum(int(f["size"]) for f in predicate.get("files", []))
    return listed + storage.size(f"{key}/{MANIFEST}") + storage.size(f"{key}/{ENVELOPE}")


def evidence_candidate(
    storage: LocalStorage, key: str, sealed_in: int | None, data_class: str
) -> Candidate | None:
    """The candidate of one record, or None when its manifest cannot be read (verify reports it)."""
    try:
        manifest = storage.get(f"{key}/{MANIFEST}")
        predicate = json.loads(manifest)["predicate"]
        written = dt.datetime.fromisoformat(predicate["ended_at"]).astimezone(dt.UTC).date()
        subject = predicate.get("subject") or {}
        size = record_size(storage, key, predicate)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Candidate(
        f"evidence/{key}",
        Kind.evidence_record,
        data_class,
        written,
        size,
        (subject["dataset"],) if subject.get("dataset") else (),
        (subject["ai_system"],) if subject.get("ai_system") else (),
        partition=subject.get("partition"),
        check=str(predicate.get("check", "")),
        manifest_sha256=sha256_bytes(manifest),
        sealed_in=sealed_in,
        record_period=predicate.get("period"),
    )


def scan_evidence(storage: LocalStorage, data_class: str) -> tuple[list[Candidate], list[str]]:
    """Every complete record as a candidate, and the keys of records whose manifest is unreadable."""
    sealed = sealed_keys(storage)
    out, unreadable = [], []
    for key in record_keys(storage):
        cand = evidence_candidate(storage, key, sealed.get(key), data_class)
        if cand is None:
            unreadable.append(key)
        else:
            out.append(cand)
    return out, unreadable
