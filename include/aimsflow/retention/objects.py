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

* A quarantined raw file is a file under ``data/quarantine/<dataset>/date=<day>/`` (where the ingest
  step copies a rejected batch beside its ``reason.json``), of the quarantine data class, created on
  the partition date, about the dataset of its folder.

Hidden files and folders (``.tmp-*`` orphans, the ``.retention`` work area) are never objects.

Only records whose signature verifies against the trusted keys are candidates, and a record counts as
sealed only when a seal whose signature verifies lists its manifest's SHA-256
(:func:`seal_index`); any other folder is a :class:`Findings` entry, never an object. No scan follows
a symbolic link: a link found below an area root (a linked file, a linked folder, a link on the path
to a partition) is a finding too, and nothing behind it is ever an object.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import Inventory
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.seal import SEAL_ENVELOPE, SEAL_PAYLOAD_TYPE, read_seal, seal_key, seal_sequences
from aimsflow.evidence.storage import LocalStorage, Storage
from aimsflow.evidence.trust import UntrustedRecord, check_signature, read_verified
from aimsflow.lineage import archive
from aimsflow.periods import Period
from aimsflow.results import sha256_bytes

#: Work area of the disposal protocol, one per area root (hidden: never an object, never evidence).
WORK_DIR = ".retention"
#: Where the ingest step (:func:`aimsflow.prep.steps.ingest_batch`) copies a rejected raw batch, under
#: the data root: ``quarantine/<dataset>/date=<day>/``.
QUARANTINE_DIR = "quarantine"
_DAY_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_EVENT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})T")


class Kind(StrEnum):
    dataset_file = "dataset_file"
    quarantined_file = "quarantined_file"
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


@dataclass
class Findings:
    """What a scan refused to count: symbolic links (object id -> link target) and record or seal
    folders whose signature does not verify (store key -> problem)."""

    links: dict[str, str] = field(default_factory=dict)
    untrusted: dict[str, str] = field(default_factory=dict)

    def link(self, object_id: str, path: Path) -> None:
        try:
            target = os.readlink(path)  # reads the link itself, never follows it
        except OSError as exc:
            target = f"<unreadable: {exc.strerror}>"
        self.links.setdefault(object_id, target)


def link_on_path(root: Path, path: Path) -> Path | None:
    """The first symbolic link on the way from ``root`` (not itself: the configured area root may be a
    link) down to ``path`` (included), or None. Each component is ``lstat``-ed, never followed."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return Path(path)  # not under the area at all: treat as refused
    current = Path(root)
    for part in rel.parts:
        current = current / part
        if os.path.islink(current):
            return current
    return None


def links_under(folder: Path) -> list[Path]:
    """Every symbolic link inside ``folder`` (any depth; linked folders are not entered)."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            if os.path.islink(os.path.join(dirpath, name)):
                out.append(Path(dirpath) / name)
    return sorted(out)


def _object_id(area: str, root: Path, path: Path) -> str:
    try:
        return f"{area}/{Path(path).relative_to(root).as_posix()}"
    except ValueError:  # outside the area root: named by its path
        return f"{area}/{path}"


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _files_under(path: Path, on_link: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """``path`` itself if a file, else every non-hidden file below it. Symbolic links are never
    followed nor yielded: each one met (not hidden) goes to ``on_link``."""
    if os.path.islink(path):
        if on_link is not None:
            on_link(path)
        return
    if path.is_file():
        yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            if not name.startswith(".") and os.path.islink(os.path.join(dirpath, name)):
                if on_link is not None:
                    on_link(Path(dirpath) / name)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            if not name.startswith(".") and not os.path.islink(os.path.join(dirpath, name)):
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


def scan_datasets(inventory: Inventory, data_root: Path, findings: Findings | None = None) -> list[Candidate]:
    """Every file of every partition of every catalog dataset under ``data_root``. A partition the
    glob reaches through a symbolic link (the link anywhere between the data root and a file) is
    not scanned: the link goes to ``findings``."""
    data_root = Path(data_root)
    findings = findings if findings is not None else Findings()

    def on_link(path: Path) -> None:
        findings.link(_object_id("data", data_root, path), path)

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
            if (link := link_on_path(data_root, Path(match))) is not None:
                on_link(link)
                continue
            for path in _files_under(Path(match), on_link):
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


@dataclass(frozen=True)
class Sealed:
    """Where a record was first sealed: the seal, the manifest SHA-256 it covers and the seal's time
    (the moment a record's key validity is judged at once it is sealed)."""

    sequence: int
    manifest_sha256: str
    sealed_at: dt.datetime


SealIndex = Mapping[str, Sealed]


def seal_index(storage: Storage, keys: TrustedKeys, findings: Findings | None = None) -> dict[str, Sealed]:
    """Record key -> its first seal, from the seals whose signature verifies against ``keys`` at their
    own time. A seal that does not verify seals nothing here (``findings`` names it; verify reports
    it): a forged seal must not make a record look sealed, hence disposable."""
    out: dict[str, Sealed] = {}
    for seq in seal_sequences(storage):
        key = seal_key(seq)
        try:
            body, doc = read_seal(storage, seq)
            sealed_at = dt.datetime.fromisoformat(doc["sealed_at"])
            problem = check_signature(
                storage.get(f"{key}/{SEAL_ENVELOPE}"), body, SEAL_PAYLOAD_TYPE, keys, sealed_at
            )
            leaves = [(str(leaf["record"]), str(leaf["manifest_sha256"])) for leaf in doc.get("leaves", [])]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problem = f"unreadable seal: {exc!r}"
        if problem is not None:
            if findings is not None:
                findings.untrusted[key] = problem
            continue
        for record, sha in leaves:
            out.setdefault(record, Sealed(seq, sha, sealed_at))
    return out


def read_sealed_or_verified(
    storage: Storage, key: str, keys: TrustedKeys, seals: SealIndex
) -> tuple[dict[str, Any], str, Sealed | None]:
    """(predicate, manifest SHA-256, seal) of a record whose signature verifies — judged at its seal's
    time when sealed (and its manifest must be the sealed one), else now — or
    :class:`UntrustedRecord`."""
    sealed = seals.get(key)
    record = read_verified(storage, key, keys, sealed.sealed_at if sealed else None)
    sha = sha256_bytes(record.manifest)
    if sealed is not None and sha != sealed.manifest_sha256:
        raise UntrustedRecord(key, f"manifest differs from the one sealed in seal {sealed.sequence}")
    return record.predicate, sha, sealed


def lineage_archives(
    storage: Storage, keys: TrustedKeys | None = None, seals: SealIndex | None = None
) -> dict[str, dict[str, str]]:
    """What sealed lineage records archive: for each UTC day, the SHA-256 of every event file one of
    that day's ``evidence_seal/lineage_events`` records lists as input. A record counts only if its
    signature verifies, its manifest is the one a verified seal covers (same SHA-256), it is for one
    UTC day and its status is passed or warning (an ``error`` record archived nothing)."""
    keys = keys or TrustedKeys.load()
    seals = seals if seals is not None else seal_index(storage, keys)
    check_parts = archive.CHECK.split("/")
    out: dict[str, dict[str, str]] = {}
    for key in sorted(seals):
        if key.split("/")[2:-1] != check_parts:
            continue
        try:
            predicate, _, _ = read_sealed_or_verified(storage, key, keys, seals)
            day = Period.from_dict(predicate["period"]).single_day().isoformat()
            if predicate.get("check") != archive.CHECK or predicate.get("status") not in {
                str(s) for s in archive.ARCHIVING_STATUSES
            }:
                continue
            digests = [str(ref["sha256"]) for ref in predicate.get("inputs") or []]
        except (UntrustedRecord, OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # gone, forged or not the sealed content: it archives nothing (verify reports it)
        for digest in digests:
            out.setdefault(day, {}).setdefault(digest, key)
    return out


def scan_openlineage(
    root: Path,
    data_class: str,
    inventory: Inventory,
    data_root: Path,
    archives: LineageArchives | None = None,
    findings: Findings | None = None,
) -> list[Candidate]:
    """Every event file under the OpenLineage folder (any depth; hidden files and folders skipped;
    symbolic links go to ``findings``), with the days of its events and whether ``archives``
    (:func:`lineage_archives`; none given: nothing is archived) covers each of them."""
    root = Path(root)
    if not root.is_dir():
        return []
    archives = archives or {}
    findings = findings if findings is not None else Findings()
    out = []
    for path in _files_under(root, lambda p: findings.link(_object_id("openlineage", root, p), p)):
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


def scan_quarantine(
    inventory: Inventory, data_root: Path, data_class: str, findings: Findings | None = None
) -> list[Candidate]:
    """Every file the ingest step quarantined: ``<data root>/quarantine/<dataset>/date=<day>/*``
    (other entries there are not the ingest step's and are left alone). The subject is the dataset
    of the folder and its AI system; a folder naming no catalog dataset has an unknown subject, which
    every dataset and AI-system hold covers. Symbolic links go to ``findings``."""
    data_root = Path(data_root)
    findings = findings if findings is not None else Findings()

    def on_link(path: Path) -> None:
        findings.link(_object_id("data", data_root, path), path)

    base = data_root / QUARANTINE_DIR
    if os.path.islink(base):
        on_link(base)
        return []
    if not base.is_dir():
        return []
    out = []
    for folder in sorted(base.iterdir()):
        if folder.name.startswith("."):
            continue
        if folder.is_symlink():
            on_link(folder)
            continue
        if not folder.is_dir():
            continue
        dataset = inventory.datasets.get(folder.name)
        for day_folder in sorted(folder.iterdir()):
            m = _DAY_FOLDER.match(day_folder.name)
            if day_folder.is_symlink():
                on_link(day_folder)
                continue
            if not m or not day_folder.is_dir():
                continue
            try:
                day = dt.date.fromisoformat(m[1])
            except ValueError:
                continue
            for path in _files_under(day_folder, on_link):
                out.append(
                    Candidate(
                        _object_id("data", data_root, path),
                        Kind.quarantined_file,
                        data_class,
                        day,
                        path.stat().st_size,
                        (dataset.id,) if dataset else (),
                        (dataset.ai_system,) if dataset else (),
                        subject_known=dataset is not None,
                        partition=day.isoformat(),
                        note=None
                        if dataset
                        else f"quarantine folder {folder.name!r} names no catalog dataset",
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
    storage: LocalStorage,
    key: str,
    data_class: str,
    keys: TrustedKeys,
    seals: SealIndex,
) -> Candidate:
    """The candidate of one record whose signature verifies (see :func:`read_sealed_or_verified`);
    raises :class:`UntrustedRecord` for any other folder."""
    predicate, sha, sealed = read_sealed_or_verified(storage, key, keys, seals)
    try:
        written = dt.datetime.fromisoformat(predicate["ended_at"]).astimezone(dt.UTC).date()
        subject = predicate.get("subject") or {}
        size = record_size(storage, key, predicate)
        check = str(predicate.get("check", ""))
        period = Period.from_dict(predicate["period"]).as_dict()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UntrustedRecord(key, f"unreadable manifest: {exc!r}") from None
    return Candidate(
        f"evidence/{key}",
        Kind.evidence_record,
        data_class,
        written,
        size,
        (subject["dataset"],) if subject.get("dataset") else (),
        (subject["ai_system"],) if subject.get("ai_system") else (),
        partition=subject.get("partition"),
        check=check,
        manifest_sha256=sha,
        sealed_in=sealed.sequence if sealed else None,
        record_period=period,
    )


def walk_records(storage: LocalStorage, findings: Findings) -> list[str]:
    """Keys of every record folder (one holding a signed manifest) under ``records/``, without entering
    a symbolic link: a link met on the way, or among a record's own files, goes to ``findings``."""
    out: list[str] = []
    root = storage.root

    def walk(folder: str, key: str) -> None:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        names = {e.name for e in entries if e.is_file(follow_symlinks=False)}
        is_record = ENVELOPE in names
        for entry in entries:
            if entry.is_symlink():
                findings.link(f"evidence/{key}/{entry.name}", Path(entry.path))
            elif not is_record and entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                walk(entry.path, f"{key}/{entry.name}")
        if is_record:
            out.append(key)

    base = root / "records"
    if os.path.islink(base):
        findings.link("evidence/records", base)
    elif base.is_dir():
        walk(str(base), "records")
    return sorted(out)


def scan_evidence(
    storage: LocalStorage,
    data_class: str,
    keys: TrustedKeys | None = None,
    findings: Findings | None = None,
    seals: SealIndex | None = None,
) -> list[Candidate]:
    """Every record whose signature verifies, as a candidate; every other record folder goes to
    ``findings`` (untrusted) and is never a candidate."""
    keys = keys or TrustedKeys.load()
    findings = findings if findings is not None else Findings()
    seals = seals if seals is not None else seal_index(storage, keys, findings)
    found = walk_records(storage, findings)

    def batch(chunk: list[str]) -> list[Candidate | UntrustedRecord]:
        out: list[Candidate | UntrustedRecord] = []
        for key in chunk:
            try:
                out.append(evidence_candidate(storage, key, data_class, keys, seals))
            except UntrustedRecord as exc:
                out.append(exc)
        return out

    # Ed25519 and file reads release the GIL: signatures are checked on all cores, in batches.
    chunks = [found[i : i + _VERIFY_BATCH] for i in range(0, len(found), _VERIFY_BATCH)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = [got for part in pool.map(batch, chunks) for got in part]
    candidates = []
    for key, got in zip(found, results, strict=True):
        if isinstance(got, UntrustedRecord):
            findings.untrusted[key] = got.problem
        else:
            candidates.append(got)
    return candidates


_VERIFY_BATCH = 64  # records per pool task: amortises the hand-off, still spreads over the cores
