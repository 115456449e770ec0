"""Evidence records: one folder per producer, result files plus a signed manifest written last.

Layout (keys relative to the store root)::

    records/<period label>/<check id>/<record id>/
        <result files ...>
        manifest.json        in-toto Statement v1; its predicate is the manifest
        manifest.dsse.json   DSSE envelope whose payload is exactly manifest.json's bytes
    specs/sha256/<hex>       the content of each spec the record names (shared, written first)

The record id is derived from the producer (task try or command invocation), so the same producer
can never write twice and a retry, being another try, writes its own record.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.metadata
import json
import re
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aimsflow import __version__, settings
from aimsflow.evidence.controls import validate_controls
from aimsflow.evidence.dsse import sign_envelope
from aimsflow.evidence.keys import Signer
from aimsflow.evidence.specs import StoredSpec, store_specs
from aimsflow.evidence.storage import Storage
from aimsflow.periods import Period
from aimsflow.results import JobResult, Status, sha256_bytes, sha256_file

FORMAT = "aimsflow-evidence/1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://aimsflow.dev/evidence/record/v1"
MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
RESERVED = {MANIFEST, ENVELOPE}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Producer:
    """Who produced a record: a task try, or a command/job acting outside a task."""

    kind: str  # "task" or "command"
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int = -1
    try_number: int | None = None
    max_tries: int | None = None
    run_type: str | None = None
    run_after: str | None = None
    command: str | None = None
    invocation: str | None = None
    user: str | None = None

    @classmethod
    def command_run(cls, command: str, user: str | None = None) -> Producer:
        return cls(kind="command", command=command, invocation=uuid.uuid4().hex, user=user)

    def identity(self) -> str:
        keys = ("kind", "dag_id", "run_id", "task_id", "map_index", "try_number", "command", "invocation")
        return json.dumps({k: getattr(self, k) for k in keys}, sort_keys=True)

    def record_id(self) -> str:
        """Readable, unique per producer: ``<task>[.<map>].try<n>-<hash>`` or ``<command>-<hash>``."""
        if self.kind == "task":
            readable = (
                f"{self.task_id}{'' if self.map_index < 0 else f'.{self.map_index}'}.try{self.try_number}"
            )
        else:
            readable = str(self.command)
        return f"{_SAFE.sub('_', readable)}-{sha256_bytes(self.identity().encode())[:12]}"

    @property
    def is_final_try(self) -> bool:
        """A command is final; a task try is final when no retry is left."""
        if self.kind != "task" or self.try_number is None or self.max_tries is None:
            return True
        return self.try_number > self.max_tries

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


GIT_TIMEOUT_SECONDS = 5.0


def _git(root: Path, args: list[str], timeout: float) -> str | None:
    """stdout of one git command in ``root``, or None when git is absent, fails or hangs: the code
    version is context for a record and must never stop one from being written."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(root: Path, timeout: float = GIT_TIMEOUT_SECONDS) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding ``root``; (None, None) when it is not one.

    Dirty means a tracked file under ``root`` differs from the commit (staged or not). Untracked files
    are ignored: the outputs written under the project (``evidence/``, ``data/``, ``witness/``,
    ``openlineage/``) are untracked by design and would make every run dirty. ``--no-optional-locks``
    keeps parallel tasks from contending for ``.git/index.lock``."""
    head = _git(root, ["rev-parse", "HEAD"], timeout)
    commit = head.strip() if head else None
    if not commit:
        return None, None
    status = _git(
        root,
        ["--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "--", "."],
        timeout,
    )
    return commit, None if status is None else bool(status.strip())


@functools.cache
def code_version() -> dict[str, Any]:
    """Git commit and dirty flag of the project when known, and versions of the packages that shape
    results. Computed once per process (two git calls, each with a timeout)."""
    commit, dirty = git_state(settings.project_root())
    packages = {}
    for name in (
        "apache-airflow",
        "great-expectations",
        "fairlearn",
        "pandas",
        "pyarrow",
        "openlineage-python",
    ):
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"git_commit": commit, "git_dirty": dirty, "aimsflow": __version__, "packages": packages}


@dataclass(frozen=True)
class RecordRef:
    key: str
    record_id: str
    manifest_sha256: str
    status: Status


@dataclass
class RunContext:
    """What the wrapper knows about the run besides the job's own result."""

    period: Period
    producer: Producer
    started_at: dt.datetime
    ended_at: dt.datetime
    triggered_by: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # OpenLineage run id of the task try and whether its event was sent ({run_id, sent, error, ...}).
    openlineage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def _file_entry(name: str, content: bytes | Path) -> dict[str, Any]:
    if isinstance(content, bytes):
        return {"path": name, "sha256": sha256_bytes(content), "size": len(content)}
    return {"path": name, "sha256": sha256_file(content), "size": Path(content).stat().st_size}


def record_key(period: Period, check: str, record_id: str) -> str:
    parts = [_SAFE.sub("_", p) for p in check.split("/") if p]
    return "/".join(["records", period.label, *parts, record_id])


def build_manifest(
    result: JobResult,
    ctx: RunContext,
    files: dict[str, bytes | Path],
    specs: list[StoredSpec],
) -> bytes:
    """The in-toto statement of a record; ``specs`` are the job's specs as stored by :func:`store_specs`."""
    entries = [_file_entry(name, files[name]) for name in sorted(files)]
    predicate = {
        "format": FORMAT,
        "record_id": ctx.producer.record_id(),
        "check": result.check,
        "subject": result.subject.as_dict(),
        "status": str(result.status),
        "controls": list(validate_controls(result.controls)),
        "period": ctx.period.as_dict(),
        "started_at": ctx.started_at.isoformat(),
        "ended_at": ctx.ended_at.isoformat(),
        "producer": ctx.producer.as_dict(),
        "triggered_by": {"user": ctx.triggered_by, "params": ctx.params},
        "summary": result.summary,
        "message": result.message,
        "error": ctx.error,
        "inputs": [ref.as_dict() for ref in result.inputs],
        "outputs": [ref.as_dict() for ref in result.outputs],
        "specs": [{"path": s.name, "sha256": s.sha256} for s in specs],
        "code": code_version(),
        "openlineage": ctx.openlineage,
        "files": entries,
    }
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": e["path"], "digest": {"sha256": e["sha256"]}} for e in entries],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
    return (json.dumps(statement, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def write_record(storage: Storage, result: JobResult, ctx: RunContext, signer: Signer) -> RecordRef:
    """Write one record atomically and write-once: the content of its specs first (``specs/sha256/``),
    then its files, the signed manifest last."""
    clash = RESERVED & result.files.keys()
    if clash:
        raise ValueError(f"result file names {sorted(clash)} are reserved for the manifest")
    for name in result.files:
        if name.startswith((".", "/")) or ".." in name.split("/"):
            raise ValueError(f"invalid result file name {name!r}")
    # Spec blobs go first: a crash then leaves at most an unreferenced blob, never a record whose
    # spec cannot be retrieved. A spec edited while the job ran is refused here (SpecChangedError).
    specs = store_specs(storage, result.specs)
    manifest = build_manifest(result, ctx, result.files, specs)
    record_id = ctx.producer.record_id()
    key = record_key(ctx.period, result.check, record_id)
    files: dict[str, bytes | Path] = {
        **result.files,
        MANIFEST: manifest,
        ENVELOPE: sign_envelope(manifest, signer),
    }
    storage.put_dir_once(key, files, last=(MANIFEST, ENVELOPE))
    return RecordRef(key, record_id, sha256_bytes(manifest), result.status)


def predicate_of(manifest_bytes: bytes) -> dict[str, Any]:
    return json.loads(manifest_bytes)["predicate"]


def manifest_digest(manifest_bytes: bytes) -> bytes:
    return hashlib.sha256(manifest_bytes).digest()
