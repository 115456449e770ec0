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
