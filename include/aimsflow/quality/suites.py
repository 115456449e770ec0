"""Expectation suites as data: GX 1.x JSON in ``expectations/``, checked against the catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow.catalog import Dataset
from aimsflow.results import SpecRef, sha256_bytes

SEVERITIES = ("critical", "warning", "info")


class SuiteError(ValueError):
    """A suite is unusable (configuration error); the message names the file and the problem."""


@dataclass(frozen=True)
class Suite:
    path: Path
    doc: dict[str, Any]
    spec: SpecRef

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.doc["expectations"]


def expectation_columns(expectation: dict[str, Any]) -> list[str]:
    kwargs = expectation.get("kwargs", {})
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return columns + list(kwargs.get("column_list", []))


def load_suite(path: Path, dataset: Dataset) -> Suite:
    """Parse and check a suite: valid JSON in GX's shape, known severities, declared columns only."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SuiteError(f"{path}: suite file not found (dataset {dataset.id!r}, field 'suite')") from None
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: invalid suite JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list) or not doc.get("name"):
        raise SuiteError(f"{path}: expected an object with 'name' and a list 'expectations'")
    problems = []
    for index, expectation in enumerate(doc["expectations"]):
        where = f"expectations[{index}]"
        if not isinstance(expectation, dict) or not isinstance(expectation.get("type"), str):
            problems.append(f"{where}: expected an object with a 'type'")
            continue
        severity = expectation.get("severity", "critical")
        if severity not in SEVERITIES:
            problems.append(f"{where}.severity: value {severity!r}: expected one of {list(SEVERITIES)}")
        for column in expectation_columns(expectation):
            if column not in dataset.columns:
                problems.append(
                    f"{where}.kwargs: column {column!r} is not declared for dataset {dataset.id!r} "
                    f"(declared: {sorted(dataset.columns)})"
                )
    if problems:
        raise SuiteError(f"{path}: " + "; ".join(problems))
    return Suite(path, doc, SpecRef(str(path), sha256_bytes(raw)))
