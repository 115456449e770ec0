"""Retention policies and legal holds: YAML files validated with every problem listed.

``include/config/retention/policies.yaml`` holds one policy per data class: how long objects are kept
(``90 days``, ``6 months``, ``1 year``), the event the period counts from, the legal basis, the disposal
method and whether a plan may execute without the run's ``execute`` Param. ``legal_holds.yaml`` holds
the legal holds, each by dataset, AI system or path prefix.

Three data classes are not dataset classes: ``evidence`` (every evidence record), the class of the
OpenLineage event files (``lineage_events`` unless the file names another) and the class of the raw
files the ingest step quarantined (``quarantined_raw_data`` unless the file names another). When the file has no
``evidence`` policy, :data:`EVIDENCE_DEFAULT` applies: the certification cycle in which a record was
written, plus one year.

A bad file raises :class:`~aimsflow.catalog.ConfigError` naming file, path inside the document, value
and what was expected, for all problems at once. A hold naming a dataset or AI system the inventory
does not know is a problem, not a no-op: a typo must not release what it was meant to hold.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aimsflow.catalog import Inventory
from aimsflow.configfile import ConfigError, Document, describe, read_mapping

EVIDENCE_CLASS = "evidence"
LINEAGE_CLASS = "lineage_events"
QUARANTINE_CLASS = "quarantined_raw_data"
#: Path-prefix holds name objects by area: the data root, the evidence store, the OpenLineage folder.
AREAS = ("data", "evidence", "openlineage")

_DURATION = re.compile(r"^(\d+) (day|week|month|year)s?$")


class CountsFrom(StrEnum):
    """The event a retention period counts from."""

    created = "created"  # partition date / event file date / the day an evidence record was written
    ai_system_retirement = "ai_system_retirement"  # the object's AI system's retirement date
    certification_cycle_end = "certification_cycle_end"  # end of the cycle the object was created in


class Method(StrEnum):
    """Disposal methods. Neither is a media sanitization in NIST SP 800-88's sense on its own: the
    certificate names the method and leaves media-level sanitization to the storage's own controls."""

    delete = "delete"  # unlink / remove the object
    overwrite_and_delete = "overwrite_and_delete"  # overwrite with zeros, fsync, then remove

    @property
    def description(self) -> str:
        if self is Method.delete:
            return "logical deletion: the object is removed from its store (unlink)"
        return "overwrite with zeros and fsync, then unlink (ineffective on copy-on-write or flash media)"


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # day, week, month, year

    @classmethod
    def parse(cls, text: str) -> Duration:
        m = _DURATION.match(text.strip())
        if not m:
            raise ValueError(
                f"expected '<n> days|weeks|months|years' (e.g. '90 days', '1 year'), got {text!r}"
            )
        return cls(int(m[1]), m[2])

    def after(self, day: dt.date) -> dt.date:
        """``day`` plus this duration; month and year arithmetic keeps the day, clamped to the month end."""
        if self.unit == "day":
            return day + dt.timedelta(days=self.amount)
        if self.unit == "week":
            return day + dt.timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "year" else 1)
        index = day.year * 12 + day.month - 1 + months
        year, month = divmod(index, 12)
        month += 1
        return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionPolicy(_Model):
    data_class: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    retention: str
    counts_from: CountsFrom
    legal_basis: str = Field(min_length=1)
    method: Method = Method.delete
    # Execute plans for this class without the run's `execute` Param.
    auto_execute: bool = False
    description: str = ""

    @field_validator("retention")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration = Duration.parse(value)
        if duration.amount < 1:
            raise ValueError(f"expected a retention of at least 1 {duration.unit}, got {value!r}")
        return str(duration)

    @property
    def duration(self) -> Duration:
        return Duration.parse(self.retention)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


EVIDENCE_DEFAULT = RetentionPolicy(
    data_class=EVIDENCE_CLASS,
    retention="1 year",
    counts_from=CountsFrom.certification_cycle_end,
    legal_basis="ISO/IEC 42001 clause 7.5.3: evidence kept for the certification cycle it was written in + 1 year",
    description="built-in default (policies.yaml names no `evidence` policy)",
)


class OpenLineageSource(_Model):
    data_class: str = Field(default=LINEAGE_CLASS, pattern=r"^[a-z][a-z0-9_]*$")


class QuarantineSource(_Model):
    """Raw files the ingest step rejected (``data/quarantine/<dataset>/date=<day>/``)."""

    data_class: str = Field(default=QUARANTINE_CLASS, pattern=r"^[a-z][a-z0-9_]*$")


class LegalHold(_Model):
    id: str = Field(min_length=1)
    dataset: str | None = None
    ai_system: str | None = None
    path_prefix: str | None = None
    reason: str = Field(min_length=1)
    set_by: str = Field(min_length=1)
    since: dt.date

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("/"):
            if ".." in value.split("/"):
                raise ValueError("an absolute prefix must not contain '..'")
            return value
        value = value.removeprefix("./")
        parts = value.split("/")
        if parts[0] not in AREAS or ".." in parts or len(value) <= len(parts[0]) + 1:
            raise ValueError(
                f"expected an absolute path or '<area>/<path>' with area one of {list(AREAS)}, "
                f"e.g. 'data/raw/loan_applications/date=2026-07-01/'"
            )
        return value

    @model_validator(mode="after")
    def _one_scope(self) -> LegalHold:
        scopes = [k for k in ("dataset", "ai_system", "path_prefix") if getattr(self, k) is not None]
        if len(scopes) != 1:
            raise ValueError(
                f"expected exactly one of dataset, ai_system, path_prefix; got {scopes or 'none'}"
            )
        return self

    @property
    def scope(self) -> str:
        if self.dataset is not None:
            return f"dataset {self.dataset}"
        if self.ai_system is not None:
            return f"AI system {self.ai_system}"
        return f"path prefix {self.path_prefix}"

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class PolicySet:
    policies: Mapping[str, RetentionPolicy]
    lineage_class: str
    path: Path
    quarantine_class: str = QUARANTINE_CLASS

    def get(self, data_class: str | None) -> RetentionPolicy | None:
        return self.policies.get(data_class) if data_class else None


def _validate(doc: Document, model: type[_Model], raw: Any, loc: tuple[Any, ...], problems: list[str]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(describe(doc, err, loc))
    return None


def _items(
    doc: Document, key: str, model: type[_Model], problems: list[str], allowed: set[str]
) -> list[tuple[int, Any]]:
    """Validate the top level and each item of ``doc[key]`` on its own, so that every problem of every
    item is listed (and cross-checks still run on the valid ones)."""
    data = doc.data
    for extra in sorted((k for k in data if k not in allowed | {key}), key=str):
        problems.append(
            f"{doc.where((extra,))}: value {repr(data[extra])[:120]}: unknown key; "
            f"expected one of {sorted(allowed | {key})}"
        )
    if data.get("version", 1) != 1:
        problems.append(f"{doc.where(('version',))}: value {data['version']!r}: expected 1")
    raw = data.get(key)
    if not isinstance(raw, list):
        got = "<missing>" if key not in data else repr(raw)[:120]
        problems.append(f"{doc.where((key,))}: value {got}: expected a list")
        return []
    found = [(i, _validate(doc, model, item, (key, i), problems)) for i, item in enumerate(raw)]
    return [(i, item) for i, item in found if item is not None]


def load_policies(path: Path) -> PolicySet:
    """Read and validate the retention policies, raising :class:`ConfigError` with every problem. A
    data class of the catalog without a policy is not a problem of this file: the plan reports its
    objects as errors."""
    path = Path(path)
    doc = read_mapping(path, "the top-level key 'policies'")
    problems: list[str] = []
    data = doc.data
    lineage = _validate(doc, OpenLineageSource, data.get("openlineage", {}), ("openlineage",), problems)
    quarantine = _validate(doc, QuarantineSource, data.get("quarantine", {}), ("quarantine",), problems)
    items = _items(doc, "policies", RetentionPolicy, problems, {"version", "openlineage", "quarantine"})
    if "policies" in data and isinstance(data["policies"], list) and not data["policies"]:
        problems.append(f"{doc.where(('policies',))}: value []: expected at least one policy")
    policies: dict[str, RetentionPolicy] = {}
    first: dict[str, int] = {}
    for index, policy in items:
        if policy.data_class in policies:
            problems.append(
                f"{doc.where(('policies', index, 'data_class'))}: value {policy.data_class!r}: expected a "
                f"unique data class, already defined at policies[{first[policy.data_class]}] "
                f"(line {doc.position(('policies', first[policy.data_class]))[0]})"
            )
            continue
        policies[policy.data_class] = policy
        first[policy.data_class] = index
    if problems:
        raise ConfigError(problems)
    policies.setdefault(EVIDENCE_CLASS, EVIDENCE_DEFAULT)
    return PolicySet(policies, lineage.data_class, path, quarantine.data_class)


def load_holds(path: Path, inventory: Inventory) -> list[LegalHold]:
    """Read and validate the legal holds (the ``holds`` key is required, even when empty); ids must be
    unique, datasets and AI systems must be in the inventory. Every problem is listed."""
    path = Path(path)
    doc = read_mapping(path, "the top-level key 'holds' (a list, possibly empty)")
    problems: list[str] = []
    items = _items(doc, "holds", LegalHold, problems, {"version"})
    seen: dict[str, int] = {}
    raw = doc.data.get("holds") if isinstance(doc.data.get("holds"), list) else []
    for index, item in enumerate(raw):  # ids of invalid holds count too: a duplicate is a duplicate
        hold_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(hold_id, str) and hold_id in seen:
            problems.append(
                f"{doc.where(('holds', index, 'id'))}: value {hold_id!r}: expected a unique id, "
                f"already defined at holds[{seen[hold_id]}] (line {doc.position(('holds', seen[hold_id]))[0]})"
            )
        elif isinstance(hold_id, str):
            seen[hold_id] = index
    for index, hold in items:
        if hold.dataset is not None and hold.dataset not in inventory.datasets:
            problems.append(
                f"{doc.where(('holds', index, 'dataset'))}: value {hold.dataset!r}: "
                f"expected a dataset of the catalog {sorted(inventory.datasets)}"
            )
        if hold.ai_system is not None and hold.ai_system not in inventory.ai_systems:
            problems.append(
                f"{doc.where(('holds', index, 'ai_system'))}: value {hold.ai_system!r}: "
                f"expected an AI system of the inventory {sorted(inventory.ai_systems)}"
            )
    if problems:
        raise ConfigError(sorted(problems, key=_order))
    return [hold for _, hold in items]


def _order(problem: str) -> tuple[int, str]:
    """Problems in document order (holds[2] before holds[10])."""
    m = re.search(r": holds\[(\d+)\]", problem)
    return (int(m[1]) if m else -1, problem)
