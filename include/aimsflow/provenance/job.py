"""Provenance records per dataset version, and the period's lineage graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.catalog import Inventory
from aimsflow.evidence.storage import LocalStorage
from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.provenance.acquisition import ACQUISITION
from aimsflow.provenance.custody import CustodyIndex, Version, load_index, missing_events
from aimsflow.provenance.graph import build_graph, render_svg
from aimsflow.results import JobResult, SpecRef, Status, Subject, record_json

PROVENANCE_FIELDS = ("source", "collection_method", "legal_basis")
#: The gap a record folder that does not verify is reported as (it is never read into a chain).
UNTRUSTED_GAP = "record folder does not verify against the trusted keys"


# Mapped provenance tasks that share a process (dag.test(), a LocalExecutor slot) would otherwise each
# re-read every manifest and every event file. Provenance records never change a chain of custody
# (no outputs, no acquisitions; acquisition records excepted, see open_index) and event files are
# write-once, so both are cached across tasks.
_index_cache: dict[str, tuple[tuple[Any, ...], CustodyIndex]] = {}
_event_cache: dict[str, dict[str, dict[str, Any]]] = {}


def open_index() -> CustodyIndex:
    """The custody index of the store, rebuilt only when a record folder other than a provenance
    record was added (the provenance tasks' own records would otherwise force a rebuild per task), or
    the trusted keys changed. Acquisition records, filed under ``data_provenance/`` too, do change
    custody and do force a rebuild; so does a folder without a signature (a finding to report)."""
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import record_folders

    storage = LocalStorage(settings.evidence_root())
    own = tuple(f"/{job.check}/" for job in JOBS)
    trusted_path = settings.trusted_keys_path()
    trusted = trusted_path.read_bytes() if trusted_path.is_file() else b""
    folders = tuple(k for k in record_folders(storage)[0] if not any(o in k for o in own))
    keys = (str(trusted_path), trusted, *folders)
    cached = _index_cache.get(str(storage.root))
    if cached is None or cached[0] != keys:
        cached = (keys, load_index(storage, TrustedKeys.load(trusted_path)))
        _index_cache[str(storage.root)] = cached
    return cached[1]


def lineage_events(directory: Path | None = None) -> dict[str, list[Any]] | None:
    """OpenLineage events by run id from the staging folder; None when there is none to read.
    Only files not read before are parsed (event files are written once, never changed)."""
    from aimsflow.lineage.transport import default_staging_dir, event_files, events_by_run_id, read_event_file

    directory = directory or default_staging_dir()
    if not directory.is_dir():
        return None
    seen = _event_cache.setdefault(str(directory), {})
    files = event_files(directory)
    for path in files:
        if path.name not in seen:
            seen[path.name] = read_event_file(path)
    return events_by_run_id([seen[p.name] for p in files])


def _custody_gap(index: CustodyIndex, version: Version, sha: str) -> dict[str, Any]:
    """A version nothing accounts for. When its dataset has acquisition records for other bytes, the
    gap says so: the delivery was changed after it was recorded, or this version was never recorded."""
    gap = {
        "gap": "version produced by no recorded transformation or ingestion",
        "sha256": sha,
        "uri": index.uris.get(sha),
    }
    others = index.acquisitions_of(version.dataset) if sha == version.sha256 else []
    if others:
        gap["gap"] = (
            f"version matches none of the {len(others)} acquisition record(s) of {version.dataset} "
            "(they name other bytes) and no recorded transformation produced it"
        )
        gap["acquisition_records"] = [t.record for t in others]
    elif sha == version.sha256:
        gap["hint"] = (
            "a version delivered from outside is accounted for by an acquisition record: "
            f"aimsflow acquisition record --dataset {version.dataset} --file <delivered file>"
        )
    return gap


def provenance_of_version(
    index: CustodyIndex, inventory: Inventory, version: Version, events_by_run: dict[str, list[Any]] | None
) -> JobResult:
    """Source, collection, legal basis and acquisition (A.7.3), preparation steps (A.7.6) and the
    chain of custody (A.7.5) of one dataset version; every gap makes the record ``failed``."""
    dataset = inventory.datasets.get(version.dataset or "")
    chain, unaccounted = index.chain(version.sha256)
    origin = index.origin(version.sha256)
    gaps: list[dict[str, Any]] = []
    if dataset is None:
        gaps.append({"gap": "dataset not in the catalog", "dataset": version.dataset})
    else:
        for name in PROVENANCE_FIELDS:
            if not str(getattr(dataset.provenance, name, "") or "").strip():
                gaps.append({"gap": f"provenance field '{name}' is empty", "dataset": dataset.id})
    for sha in unaccounted:
        gaps.append(_custody_gap(index, version, sha))
    for u in index.rejected:
        gaps.append({"gap": UNTRUSTED_GAP, "record": u.key, "problem": u.problem})
    acquisitions = [t for t in chain if t.is_acquisition]
    missing = missing_events(chain, events_by_run)
    status = Status.failed if gaps else Status.warning if missing else Status.passed
    doc = {
        "dataset": version.dataset,
        "version": {"sha256": version.sha256, "uri": version.uri},
        "ai_system": dataset.ai_system if dataset else None,
        "provenance": dataset.provenance.model_dump() if dataset else None,
        "acquisition": [t.as_dict() for t in acquisitions],
        "preparation_steps": [
            {"record": t.record, "check": t.check, "steps": t.steps} for t in chain if not t.is_acquisition
        ],
        "chain_of_custody": [t.as_dict() for t in chain],
        "openlineage": {
            "events_available": events_by_run is not None,
            "records_without_events": missing,
        },
        "gaps": gaps,
        "untrusted_records": [u.as_dict() for u in index.rejected],
    }
    # A partition may have several versions (re-runs of changed code): each keeps its own verdict.
    day = origin.subject.get("partition") if origin else None
    partition = f"{day}@{version.sha256[:12]}" if day else version.sha256[:12]
    messages = [f"{len(gaps)} gap(s): " + "; ".join(g["gap"] for g in gaps)] if gaps else []
    if missing:
        messages.append(f"{len(missing)} record(s) of the chain have no OpenLineage event")
    return JobResult(
        subject=Subject(dataset.ai_system if dataset else None, version.dataset, partition),
        status=status,
        summary={
            "version_sha256": version.sha256,
            "chain_length": len(chain),
            "acquisitions": len(acquisitions),
            "gaps": len(gaps),
            "records_without_events": len(missing),
            "untrusted_records": len(index.rejected),
        },
        files={"provenance.json": record_json(doc)},
        inputs=[],
        specs=[SpecRef.of_file(inventory.files["datasets"])],
        message="; ".join(messages) or f"chain of {len(chain)} record(s) back to acquisition",
    )


def lineage_graph(index: CustodyIndex, period: Period) -> JobResult:
    """Every version used in the period with its chain, as lineage.json and lineage.svg."""
    chains: dict[str, Any] = {}
    for version in index.versions_used(period):
        for t in index.chain(version.sha256)[0]:
            chains[t.record] = t
    graph = build_graph(list(chains.values()))
    title = f"Lineage {period.label}: {sum(n['kind'] == 'version' for n in graph['nodes'])} dataset versions"
    untrusted = [u.as_dict() for u in index.rejected]
    message = title
    if untrusted:
        graph = {**graph, "untrusted_records": untrusted}
        shown = ", ".join(u["record"] for u in untrusted[:5]) + (" ..." if len(untrusted) > 5 else "")
        message += f"; {len(untrusted)} record folder(s) do not verify and were not read: {shown}"
    return JobResult(
        subject=Subject(),
        status=Status.failed if untrusted else Status.passed,
        summary={
            "nodes": len(graph["nodes"]),
            "edges": len(graph["edges"]),
            "records": len(chains),
            "untrusted_records": len(untrusted),
        },
        files={"lineage.json": record_json(graph), "lineage.svg": render_svg(graph, title)},
        message=message,
    )


def versions(period: Period) -> list[dict[str, str | None]]:
    """The dataset versions used in ``period`` (read or written by a record of it): one task each."""
    return [
        {"dataset": v.dataset, "sha256": v.sha256, "uri": v.uri} for v in open_index().versions_used(period)
    ]


def version(period: Period, *, dataset: str | None, sha256: str, uri: str) -> JobResult:
    """Provenance and chain of custody of one dataset version."""
    from aimsflow.catalog import load_inventory

    return provenance_of_version(
        open_index(), load_inventory(), Version(dataset=dataset, sha256=sha256, uri=uri), lineage_events()
    )


def graph(period: Period) -> JobResult:
    return lineage_graph(open_index(), period)


_DAG = "data_provenance"
VERSION = Job(
    _DAG,
    "version",
    ("A.7.3", "A.7.5", "A.7.6", "A.6.2.8"),
    SubjectKind.dataset,
    PeriodUse.span,
    version,
    "source, collection, legal basis and acquisition; preparation steps; chain of custody; gaps fail",
    reads=("data_preparation/*", "data_quality/*", "bias_assessment/*"),
)
GRAPH = Job(
    _DAG,
    "lineage_graph",
    ("A.7.5", "A.6.2.8"),
    SubjectKind.aims,
    PeriodUse.span,
    graph,
    "every version used in the period with its chain, as JSON and SVG",
    reads=("data_preparation/*",),
)
JOBS = (VERSION, GRAPH)
CHECKS = (ACQUISITION,)
