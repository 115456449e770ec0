"""Compliance tests: small SoA and crosswalk files, and signed records in a temporary store (the
risk tests' writer: a task try's record as ``glue.run_job`` writes it)."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import yaml

from aimsflow import settings
from aimsflow.evidence.controls import ANNEX_A
from tests.manual.conftest import inbox  # noqa: F401  (fixture: documents go through the manual job)
from tests.risk.conftest import forger, store, write  # noqa: F401  (fixtures used here)

SHIPPED = settings.project_root() / "include" / "config"


def shipped(name: str) -> dict[str, Any]:
    return yaml.safe_load((SHIPPED / name).read_text())


def small_soa(**controls: dict[str, Any]) -> dict[str, Any]:
    """A SoA whose Annex A controls are all excluded (justified) but those given."""
    doc: dict[str, Any] = {
        "version": 1,
        "scope": "test scope",
        "approved_by": "aims-manager@example.com",
        "approved_on": "2026-10-01",
        "controls": {c: {"applicable": False, "justification": "not in the test's scope"} for c in ANNEX_A},
    }
    for cid, entry in controls.items():
        doc["controls"][cid.replace("_", ".")] = copy.deepcopy(entry)
    return doc


def write_yaml(folder: Path, name: str, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def config_with(folder: Path, **files: dict[str, Any]) -> Path:
    """The shipped configuration, with the given files (``soa``, ``crosswalk``) replaced."""
    shutil.copytree(SHIPPED, folder, dirs_exist_ok=True)
    for name, doc in files.items():
        write_yaml(folder, f"{name}.yaml", doc)
    return folder


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)


# --- manual documents, ingested by the manual_evidence job itself -------------------------------------


def sidecar(
    title: str,
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    review_date: dt.date,
    controls: tuple[str, ...] = ("A.2.2",),
) -> str:
    """A sidecar as staff write it (``valid_to`` None: open-ended, until superseded)."""
    lines = [f"title: {title}", "owner: aims-manager@example.com", f"controls: [{', '.join(controls)}]"]
    if valid_from is not None:
        lines.append(f"valid_from: {valid_from.isoformat()}")
    if valid_to is not None:
        lines.append(f"valid_to: {valid_to.isoformat()}")
    lines.append(f"review_date: {review_date.isoformat()}")
    return "\n".join(lines) + "\n"


def ingest(
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    review_date: dt.date,
    *,
    controls: tuple[str, ...] = ("A.2.2",),
    title: str = "AI policy",
    on: dt.date | None = None,
    content: str | None = None,
) -> str:
    """Drop a document with its sidecar in the inbox (the ``inbox`` fixture) and run the
    ``manual_evidence`` job's mapped task on it as a scheduled run of day ``on`` (default
    ``valid_from``) would: the record through ``glue.run_job``, then filing. Returns the record's key;
    raises what the task raised (a bad drop: its ``error`` record is written all the same). The record
    is what the job writes (its period the run's hour, the document's validity in the summary), so
    these tests cannot drift from the job."""
    from aimsflow import airflow_glue as glue
    from aimsflow.manual.job import DOCUMENT, file_away
    from tests.manual.conftest import task_context

    item = _drop(valid_from, valid_to, review_date, controls, title, content)
    day = on or valid_from
    assert day is not None
    outcome = file_away(glue.run_job(task_context(day=day), DOCUMENT, item=item), item)
    return outcome["record"]


def _drop(valid_from, valid_to, review_date, controls, title, content) -> dict[str, Any]:
    from tests.manual.conftest import drop

    folder = settings.manual_inbox()
    folder.mkdir(parents=True, exist_ok=True)
    return drop(
        folder,
        title.casefold().replace(" ", "-") + ".md",
        content if content is not None else f"# {title}\nin force from {valid_from}\n",
        sidecar(title, valid_from, valid_to, review_date, controls),
    )


def ingested_then(
    write_record: Any,
    valid_from: dt.date,
    valid_to: dt.date | None,
    review_date: dt.date,
    *,
    controls: tuple[str, ...] = ("A.2.2",),
    title: str = "AI policy",
    on: dt.date | None = None,
) -> Any:
    """A document ingested by the ``manual_evidence`` job in the past: the job's own result for the
    drop (:func:`aimsflow.manual.job.ingest` with its clock at the run: its summary, status and
    controls), written as ``run_job`` writes it, for a scheduled run of 09:00 on day ``on`` (default
    ``valid_from``; the record's period is that hour) ending then. For tests that judge a past moment
    from the records that existed by it (``aimsflow soa --as-of``, the report); :func:`ingest` runs
    the task itself but its record ends now."""
    from aimsflow.manual.job import ingest as ingest_drop
    from aimsflow.periods import Period

    item = _drop(valid_from, valid_to, review_date, controls, title, None)
    day = on or valid_from
    start = dt.datetime.combine(day, dt.time(9), dt.UTC)
    period = Period(start, start + dt.timedelta(hours=1))
    ended = period.end + dt.timedelta(minutes=1)
    result = ingest_drop(period, item=item, now=ended, config=SHIPPED)
    return write_record(
        "manual_evidence/document",
        day,
        result.status,
        dataset=None,
        ai_system=result.subject.ai_system,
        controls=tuple(result.controls),
        dag_id="manual_evidence",
        task_id="document",
        run_id=f"scheduled__{start.isoformat()}",
        run_after=period.end,
        period=period,
        summary=result.summary,
        ended_at=ended,
    )
