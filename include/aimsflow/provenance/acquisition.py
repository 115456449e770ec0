"""Acquisition records: how the bytes of an external dataset came in (A.7.3, A.7.5).

An internal source is acquired by a job (``data_preparation/ingest`` reads each raw batch and records
its SHA-256). An external dataset onboarded by configuration alone (a purchased or public data set, a
partner's delivery) has no such job, so the chain of custody of its versions had no start and every
one of them was a provenance gap. ``aimsflow acquisition record`` gives it one: it hashes the
delivered file(s) and writes a signed record (check ``data_provenance/acquisition``, subject = the
dataset) stating the source, collection method, legal basis, agreement and time of receipt. The
custody index then accepts a version whose SHA-256 an acquisition record names as the start of its
chain; a version with neither a producing record nor an acquisition record of the same bytes stays a
``failed`` gap.

Nothing heavy is imported at module level: the CLI builds its parser from :func:`add_parser`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimsflow.jobs import Check

if TYPE_CHECKING:
    from aimsflow.catalog import Dataset, Inventory
    from aimsflow.evidence.record import RecordRef
    from aimsflow.evidence.storage import Storage
    from aimsflow.periods import Period
    from aimsflow.results import JobResult

#: The record ``aimsflow acquisition record`` writes (a command, not a DAG task; declared here).
ACQUISITION = Check(
    "data_provenance/acquisition",
    ("A.7.3", "A.7.5"),
    "how an external dataset version was acquired: files with SHA-256, source, method, legal basis",
)
ACQUISITION_CHECK = ACQUISITION.id
ACQUISITION_FORMAT = "aimsflow-acquisition/1"
COMMAND = "acquisition"
#: The catalog's provenance fields an acquisition must state, with the flag that overrides each.
REQUIRED = {"source": "--source", "collection_method": "--method", "legal_basis": "--legal-basis"}


class AcquisitionError(ValueError):
    """The acquisition cannot be recorded (unknown dataset, missing file, empty provenance field,
    bad time): nothing is written."""


@dataclass(frozen=True)
class Acquisition:
    """What is stated about one delivery. ``None`` for a provenance field: take the catalog's."""

    dataset: str
    files: tuple[Path, ...]
    source: str | None = None
    collection_method: str | None = None
    legal_basis: str | None = None
    agreement: str | None = None
    received_at: dt.datetime | None = None


def parse_received_at(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO 8601 date (midnight UTC) or date-time with a UTC offset, not in the future."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            moment = dt.datetime.combine(dt.date.fromisoformat(value.strip()), dt.time(), dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise AcquisitionError(
            f"--received-at: value {value!r}: expected an ISO 8601 date or date-time, e.g. "
            "2026-11-25 or 2026-11-25T09:30:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise AcquisitionError(
            f"--received-at: value {value!r}: a date-time needs a UTC offset (e.g. +00:00 or Z)"
        )
    moment = moment.astimezone(dt.UTC)
    if moment > now:
        raise AcquisitionError(
            f"--received-at: value {value!r} lies in the future ({now:%Y-%m-%dT%H:%M}Z now)"
        )
    return moment


def delivered_files(paths: Sequence[Path | str]) -> list[Path]:
    """Every delivered file: a file as given, a folder as every non-hidden file below it (a partition
    folder of versions); sorted, each once. A path that is missing, or names nothing, is refused."""
    if not paths:
        raise AcquisitionError("--file: give at least one delivered file or folder")
    out: dict[Path, None] = {}
    for raw in paths:
        path = Path(str(raw).removeprefix("file://")).expanduser().resolve()
        if path.is_file():
            found = [path]
        elif path.is_dir():
            found = [
                Path(d) / n
                for d, dirs, names in os.walk(path)
                for n in names
                if not n.startswith(".")
                and not any(p.startswith(".") for p in Path(d).relative_to(path).parts)
            ]
            if not found:
                raise AcquisitionError(f"--file: folder {path} holds no file to record")
        else:
            raise AcquisitionError(f"--file: {path} does not exist (or is not a regular file or folder)")
        for f in found:
            if f.stat().st_size == 0:
                raise AcquisitionError(f"--file: {f} is empty; an empty delivery is not an acquisition")
            out.setdefault(f, None)
    return sorted(out)


def partition_of(dataset: Dataset, path: Path, data_root: Path) -> dt.date | None:
    """The partition day of ``path`` when it lies where the catalog's URI template puts partitions
    (the partition file itself, or a version inside a partition folder), else None."""
    template = dataset.uri.replace("{data}", str(data_root))
    before, _, after = template.partition("{date}")
    regex = re.escape(before) + r"(\d{4}-\d{2}-\d{2})" + re.escape(after) + r"(/.+)?"
    m = re.fullmatch(regex, path.as_posix())
    if not m:
        return None
    try:
        return dt.date.fromisoformat(m[1])
    except ValueError:
        return None


def _stated(acq: Acquisition, dataset: Dataset, datasets_file: Path) -> dict[str, str]:
    """The three provenance fields: the flag's value, else the catalog's; an empty one is refused."""
    out: dict[str, str] = {}
    missing: list[str] = []
    for name, flag in REQUIRED.items():
        value = getattr(acq, name)
        value = (value if value is not None else getattr(dataset.provenance, name, "")) or ""
        if not value.strip():
            missing.append(
                f"provenance field '{name}' is empty: give {flag}, or set provenance.{name} of dataset "
                f"{dataset.id!r} in {datasets_file}"
            )
        out[name] = value.strip()
    if missing:
        raise AcquisitionError(f"acquisition of dataset {dataset.id!r} refused: " + "; ".join(missing))
    return out


def acquisition_result(
    inventory: Inventory,
    acq: Acquisition,
    *,
    data_root: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[JobResult, Period]:
    """The acquisition record's result and the period it is filed under: the partition day when every
    file lies in one partition of the dataset, else the UTC day of receipt (of recording when the time
    of receipt is not stated)."""
    from aimsflow import settings
    from aimsflow.periods import Period
    from aimsflow.results import DataRef, JobResult, SpecRef, Status, Subject

    try:
        dataset = inventory.dataset(acq.dataset)
    except KeyError as exc:
        raise AcquisitionError(str(exc.args[0])) from None
    stated = _stated(acq, dataset, inventory.files["datasets"])
    files = delivered_files(acq.files)
    now = now or dt.datetime.now(dt.UTC)
    received_at = acq.received_at  # not stated: left null rather than guessed
    root = (data_root or settings.data_root()).resolve()
    days = {partition_of(dataset, f, root) for f in files}
    day = days.pop() if len(days) == 1 else None
    refs = [DataRef.of_file(f, dataset=dataset.id) for f in files]
    agreement = (acq.agreement or "").strip() or None
    summary: dict[str, Any] = {
        "format": ACQUISITION_FORMAT,
        "dataset": dataset.id,
        **stated,
        "agreement": agreement,
        "received_at": received_at.isoformat() if received_at else None,
        "partition": day.isoformat() if day else None,
        "files": len(refs),
        "bytes": sum(r.size for r in refs),
    }
    result = JobResult(
        check=ACQUISITION_CHECK,
        subject=Subject(dataset.ai_system, dataset.id, day.isoformat() if day else None),
        status=Status.passed,
        controls=ACQUISITION.controls,
        summary=summary,
        inputs=refs,
        specs=[SpecRef.of_file(inventory.files["datasets"])],
        message=(
            f"{len(refs)} file(s) of {dataset.id} from {stated['source']}"
            + (f", received {received_at:%Y-%m-%d %H:%M}Z" if received_at else "")
            + (f", under {agreement}" if agreement else "")
        ),
    )
    return result, Period.day(day or (received_at or now).date())


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return None


def record_acquisition(
    storage: Storage,
    inventory: Inventory,
    acq: Acquisition,
    *,
    data_root: Path | None = None,
    now: dt.datetime | None = None,
) -> RecordRef:
    """Hash the delivery and write its signed acquisition record (a command producer)."""
    from aimsflow.evidence.keys import Signer
    from aimsflow.evidence.record import Producer, RunContext, write_record

    started = now or dt.datetime.now(dt.UTC)
    result, period = acquisition_result(inventory, acq, data_root=data_root, now=started)
    signer = Signer.from_settings()
    producer = Producer.command_run(COMMAND, user=_user())
    ctx = RunContext(period, producer, started, dt.datetime.now(dt.UTC), triggered_by=producer.user)
    return write_record(storage, result, ctx, signer)


# --- command line ------------------------------------------------------------------------------


DESCRIPTION = (
    "Hash the delivered file(s) of a catalog dataset and write a signed acquisition record "
    "(check data_provenance/acquisition). Source, collection method and legal basis default "
    "to the catalog's provenance block; an empty one is refused."
)


def add_arguments(rec: Any) -> None:
    """The options of ``aimsflow acquisition record`` (the CLI registers the command)."""
    rec.add_argument("--dataset", required=True, help="catalog dataset id")
    rec.add_argument(
        "--file",
        "--uri",
        dest="files",
        action="append",
        required=True,
        metavar="PATH",
        help="delivered file or folder (file:// URIs accepted); repeat for several",
    )
    rec.add_argument("--source", help="who delivered it (default: the catalog's provenance.source)")
    rec.add_argument("--method", help="how it was collected (default: provenance.collection_method)")
    rec.add_argument("--legal-basis", help="legal basis of the acquisition (default: provenance.legal_basis)")
    rec.add_argument("--agreement", help="licence, contract or data-sharing agreement reference")
    rec.add_argument(
        "--received-at",
        help="when it was received: ISO 8601 date or date-time with offset (default: not stated)",
    )
    rec.add_argument("--json", action="store_true", help="print the record as JSON")


def cmd_record(args: argparse.Namespace) -> int:
    """Record the acquisition; raises :class:`AcquisitionError`, ``ConfigError`` or the signer's
    ``KeyError_`` on bad input (the CLI turns them into a message and exit code 2)."""
    from aimsflow import settings
    from aimsflow.catalog import load_inventory
    from aimsflow.evidence.storage import LocalStorage

    acq = Acquisition(
        dataset=args.dataset,
        files=tuple(Path(f) for f in args.files),
        source=args.source,
        collection_method=args.method,
        legal_basis=args.legal_basis,
        agreement=args.agreement,
        received_at=parse_received_at(args.received_at) if args.received_at else None,
    )
    ref = record_acquisition(LocalStorage(settings.evidence_root()), load_inventory(), acq)
    from aimsflow.evidence.record import MANIFEST

    predicate = json.loads(LocalStorage(settings.evidence_root()).get(f"{ref.key}/{MANIFEST}"))["predicate"]
    if args.json:
        doc = {
            "record": ref.key,
            "status": str(ref.status),
            "summary": predicate["summary"],
            "files": [{k: i[k] for k in ("uri", "sha256", "size")} for i in predicate["inputs"]],
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"acquisition record {ref.key} ({ref.status}, pending seal)")
    for item in predicate["inputs"]:
        print(f"  {item['sha256']}  {item['size']:>12}  {item['uri']}")
    print(predicate["message"])
    return 0
