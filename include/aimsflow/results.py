"""What a job returns. Jobs are plain functions that return a :class:`JobResult`; one wrapper
(:mod:`aimsflow.airflow_glue`) turns it into a signed evidence record, the same way for every job."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


class Status(StrEnum):
    """Record statuses, ordered from best to worst."""

    passed = "passed"
    warning = "warning"  # findings below the critical level; the task succeeds
    failed = "failed"  # a finding: the check ran and the data or policy fell short; no retry
    error = "error"  # the job broke: bad input, misconfiguration, exception; retries apply

    @property
    def rank(self) -> int:
        return list(Status).index(self)

    @classmethod
    def worst(cls, *statuses: Status) -> Status:
        return max(statuses, key=lambda s: s.rank, default=cls.passed)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_json(doc: Any) -> bytes:
    """The one way a JSON file of a record is written: sorted keys (equal documents, equal bytes),
    UTF-8, no NaN or Infinity (not JSON; a figure that is undefined is ``null``), dates as ISO text."""
    return (
        json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False, default=str) + "\n"
    ).encode()


@dataclass(frozen=True)
class Subject:
    """What a check is about: an AI system, a dataset and its partition (each optional)."""

    ai_system: str | None = None
    dataset: str | None = None
    partition: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"ai_system": self.ai_system, "dataset": self.dataset, "partition": self.partition}


@dataclass(frozen=True)
class DataRef:
    """An input or output object, identified by content: URI, SHA-256, size, and rows/schema if tabular."""

    uri: str
    sha256: str
    size: int
    rows: int | None = None
    schema: dict[str, str] | None = None
    dataset: str | None = None

    @classmethod
    def of_file(
        cls,
        path: Path,
        *,
        rows: int | None = None,
        schema: dict[str, str] | None = None,
        dataset: str | None = None,
    ) -> DataRef:
        path = Path(path)
        return cls(path.resolve().as_uri(), sha256_file(path), path.stat().st_size, rows, schema, dataset)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uri": self.uri, "sha256": self.sha256, "size": self.size}
        for key in ("rows", "schema", "dataset"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class SpecRef:
    """A specification a check ran against (suite, policy, config file), pinned by its SHA-256."""

    path: str
    sha256: str

    @classmethod
    def of_file(cls, path: Path) -> SpecRef:
        return cls(str(path), sha256_file(Path(path)))


@dataclass(frozen=True)
class AssetEventSpec:
    """An Asset event the wrapper emits after a ``passed``/``warning`` record (``extra['period']`` added)."""

    name: str
    uri: str
    extra: dict[str, Any] = field(default_factory=dict)
    # Set for events of mapped tasks, whose Assets are only known at run time (AssetAlias).
    alias: str | None = None


@dataclass
class JobResult:
    """The outcome of one job for one subject and period.

    ``check`` and ``controls`` come from the job's declaration (:mod:`aimsflow.jobs`):
    :func:`aimsflow.airflow_glue.run_job` stamps them, so job code never spells a check id. A job may
    narrow ``controls`` to a subset of its declared ones (drift is evidence only for operational data).
    """

    subject: Subject
    status: Status
    check: str = ""
    controls: tuple[str, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)
    # Result files to store in the record: name -> content (bytes) or an existing file to copy.
    files: dict[str, bytes | Path] = field(default_factory=dict)
    inputs: list[DataRef] = field(default_factory=list)
    outputs: list[DataRef] = field(default_factory=list)
    specs: list[SpecRef] = field(default_factory=list)
    asset_events: list[AssetEventSpec] = field(default_factory=list)
    message: str = ""
    # Data quality assertions for the OpenLineage event (type, success, column, severity, dataset).
    assertions: list[dict[str, Any]] = field(default_factory=list)


def partial_result(subject: Subject, **known: Any) -> JobResult:
    """The one builder of what a job knew when it broke (subject, ``inputs=``, ``specs=``, ...): an
    ``error`` result that a :class:`JobError` carries, and to which a job may add as it goes."""
    return JobResult(subject, Status.error, **known)


class JobError(Exception):
    """A job broke on bad input or configuration. ``result`` carries what is known (subject, inputs,
    specs) so the ``error`` record is as complete as possible; build it with :meth:`partial`."""

    def __init__(self, message: str, result: JobResult | None = None):
        super().__init__(message)
        self.result = result

    @classmethod
    def partial(cls, message: str, subject: Subject, **known: Any) -> JobError:
        """The one way to raise with what a job knew before it broke (``inputs=``, ``specs=``, ...)."""
        return cls(message, partial_result(subject, message=message, **known))
