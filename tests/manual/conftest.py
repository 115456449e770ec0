"""Fixtures of the manual evidence tests: an inbox in the test's own tree, drops, and runs of the
job through the same wrapper a task uses (a task context stand-in: map index and try per drop)."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

GOOD = """\
title: AI policy
owner: aims-manager@example.com
controls: [A.2.2, A.2.4]
valid_from: 2026-01-01
valid_to: 2027-12-31
review_date: 2099-01-15
"""


@pytest.fixture
def inbox(aims_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = aims_env / "inbox"
    monkeypatch.setenv("AIMSFLOW_MANUAL_INBOX", str(path))
    path.mkdir()
    return path


def drop(
    inbox: Path, document: str, content: bytes | str = b"# AI policy\n", sidecar: str | None = GOOD
) -> dict:
    """Put a document (and its sidecar, unless None) in the inbox, both dated an hour ago (settled)."""
    path = inbox / document
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    names = [path]
    if sidecar is not None:
        side = inbox / f"{document}.evidence.yaml"
        side.write_text(sidecar)
        names.append(side)
    an_hour_ago = dt.datetime.now(dt.UTC).timestamp() - 3600
    for p in names:
        os.utime(p, (an_hour_ago, an_hour_ago))
    return {"document": document, "sidecar": f"{document}.evidence.yaml" if sidecar is not None else None}


def task_context(
    map_index: int = 0, try_number: int = 1, hour: int = 10, day: dt.date = dt.date(2026, 11, 25)
):
    """What ``run_job`` reads of a mapped task's context: a scheduled hourly run of manual_evidence."""
    start = dt.datetime.combine(day, dt.time(hour - 1), dt.UTC)
    dag_run = SimpleNamespace(
        run_type="scheduled",
        run_after=start + dt.timedelta(hours=1),
        data_interval_start=start,
        data_interval_end=start + dt.timedelta(hours=1),
        triggering_user_name=None,
    )
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="manual_evidence",
        run_id=f"scheduled__{start.isoformat()}",
        task_id="document",
        map_index=map_index,
        try_number=try_number,
        max_tries=2,
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
        pushed=pushed,
    )
    return {
        "dag_run": dag_run,
        "ti": ti,
        "params": {"period": None, "settle_minutes": 0},
        "outlet_events": defaultdict(SimpleNamespace),
        "triggering_asset_events": {},
    }


def run_drops(items: list[dict], hour: int = 10, try_number: int = 1) -> list[dict | BaseException]:
    """Each drop as its mapped task would: the record through ``run_job``, then filing; what each
    returned, or the exception it raised (a bad drop's task fails, the others go on)."""
    from aimsflow import airflow_glue as glue
    from aimsflow.manual.job import DOCUMENT, file_away

    out: list[dict | BaseException] = []
    for index, item in enumerate(items):
        try:
            out.append(
                file_away(glue.run_job(task_context(index, try_number, hour), DOCUMENT, item=item), item)
            )
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out.append(exc)
    return out


def manual_records(**filters: Any) -> list:
    from aimsflow import settings
    from aimsflow.evidence.listing import load_summaries
    from aimsflow.evidence.storage import LocalStorage

    records = [
        r
        for r in load_summaries(LocalStorage(settings.evidence_root()))
        if r.check == "manual_evidence/document"
    ]
    return [r for r in records if all(getattr(r, k) == v for k, v in filters.items())]
