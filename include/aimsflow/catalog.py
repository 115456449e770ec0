"""The inventory: AI systems, certification cycles and datasets, validated with every problem listed.

Three YAML files under the config folder (``ai_systems.yaml``, ``certification.yaml``,
``datasets.yaml``). A bad file raises :class:`ConfigError` naming file, path inside the document,
value and what was expected, for all problems at once rather than the first.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aimsflow import settings
from aimsflow.configfile import ConfigError, Document, config_path, describe, read_yaml


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifecycleStage(StrEnum):
    design = "design"
    development = "development"
    validation = "validation"
    deployment = "deployment"
    operation = "operation"
    retired = "retired"


class RiskClass(StrEnum):
    minimal = "minimal"
    limited = "limited"
    high = "high"
    unacceptable = "unacceptable"


class AISystem(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    purpose: str
    ai_type: str
    owner: str
    lifecycle_stage: LifecycleStage
    decisions_influenced: list[str] = Field(min_length=1)
    affected_stakeholders: list[str] = Field(min_length=1)
    risk_class: RiskClass
    retirement_date: dt.date | None = None


class CertificationCycle(_Model):
    id: str
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> CertificationCycle:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class ColumnType(StrEnum):
    string = "string"
    integer = "integer"
    float = "float"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"


class Column(_Model):
    type: ColumnType
    personal: bool = False
    description: str = ""


class Role(StrEnum):
    train = "train"
    eval = "eval"
    operational = "operational"


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"


class Provenance(_Model):
    source: str
    collection_method: str
    legal_basis: str


class Dataset(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    uri: str
    format: Format
    columns: dict[str, Column] = Field(min_length=1)
    owner: str
    ai_system: str
    role: Role
    label_column: str | None = None
    sensitive_features: list[str] = []
    data_class: str
    provenance: Provenance
    # Great Expectations suite (JSON, relative to the expectations folder); None: not validated.
    suite: str | None = None
    # Training dataset an operational dataset is compared with for drift (A.6.2.6).
    drift_reference: str | None = None
    # Bias assessment (training datasets): a column with the model's 0/1 predictions, if any;
    # reference population shares per sensitive feature; a minimum group size overriding the policy's.
    predictions: str | None = None
    reference_shares: dict[str, dict[str, float]] | None = None
    min_group_size: int | None = Field(default=None, ge=1)

    @field_validator("uri")
    @classmethod
    def _has_date(cls, uri: str) -> str:
        if "{date}" not in uri:
            raise ValueError("must contain '{date}' so that the partition of each period is addressable")
        unknown = sorted(set(re.findall(r"{([^}]*)}", uri)) - {"date", "data"})
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; only {{data}} and {{date}} are filled in")
        return uri

    @model_validator(mode="after")
    def _columns_declared(self) -> Dataset:
        missing = [
            c
            for c in [self.label_column, self.predictions, *self.sensitive_features]
            if c and c not in self.columns
        ]
        if missing:
            raise ValueError(
                f"label/predictions/sensitive columns {missing} are not among the declared columns"
            )
        unknown = sorted(set(self.reference_shares or {}) - set(self.sensitive_features))
        if unknown:
            raise ValueError(f"reference_shares for {unknown}, which are not sensitive features")
        return self

    @property
    def personal_columns(self) -> frozenset[str]:
        return frozenset(name for name, col in self.columns.items() if col.personal)

    def partition_uri(self, day: dt.date) -> str:
        """The partition of ``day`` (a file or a folder of versions), with ``{data}`` left unresolved."""
        return self.uri.format(date=day.isoformat(), data="{data}")

    def partition_path(self, day: dt.date, data_root: Path | None = None) -> Path:
        root = data_root or settings.data_root()
        return Path(self.uri.format(date=day.isoformat(), data=str(root)))


@dataclass(frozen=True)
class Inventory:
    ai_systems: dict[str, AISystem]
    certification_cycles: list[CertificationCycle]
    datasets: dict[str, Dataset]
    files: dict[str, Path]

    def dataset(self, dataset_id: str) -> Dataset:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            raise KeyError(
                f"unknown dataset {dataset_id!r}; the catalog has {sorted(self.datasets)}"
            ) from None

    def cycle_of(self, day: dt.date) -> CertificationCycle | None:
        return next((c for c in self.certification_cycles if c.start <= day < c.end), None)


def validate_list(
    doc: Document | None, key: str, model: type[_Model], problems: list[str]
) -> list[tuple[int, Any]]:
    """The valid items, each with its index in the document's list (none if ``doc`` is None: the
    file could not be read, which is reported already). ``key`` is the document's only top-level key:
    another one is a problem, not ignored (a misplaced block would otherwise vanish silently)."""
    if doc is None:
        return []
    data = doc.data
    others = [k for k in data if k != key] if isinstance(data, dict) and key in data else []
    for extra in others:
        problems.append(
            f"{doc.where((extra,))}: value {repr(data[extra])[:120]}: unknown key; expected only '{key}'"
        )
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        if isinstance(data, dict) and key not in data:
            got = f"no such key (top-level keys: {sorted(map(str, data))})"
        else:
            got = type(data.get(key) if isinstance(data, dict) else data).__name__
        problems.append(f"{doc.where((key,))}: expected a list under the top-level key '{key}', got {got}")
        return []
    items = []
    for index, raw in enumerate(data[key]):
        try:
            items.append((index, model.model_validate(raw)))
        except ValidationError as exc:
            problems.extend(describe(doc, err, (key, index)) for err in exc.errors())
    return items


def unique_ids(
    doc: Document | None, key: str, items: list[tuple[int, Any]], problems: list[str]
) -> dict[str, tuple[int, Any]]:
    """Id -> (index, item); a repeated id is a problem (the first definition is kept)."""
    out: dict[str, tuple[int, Any]] = {}
    for index, item in items:
        if item.id in out and doc is not None:  # items come from a document
            line, _ = doc.position((key, out[item.id][0]))
            problems.append(
                f"{doc.where((key, index, 'id'))}: value {item.id!r}: expected a unique id, "
                f"already defined at {key}[{out[item.id][0]}] (line {line})"
            )
            continue
        out[item.id] = (index, item)
    return out


def _declared_ids(doc: Document | None, key: str) -> set[str] | None:
    """The ids the document's list declares (None when it has no such list)."""
    items = doc.data.get(key) if doc is not None and isinstance(doc.data, dict) else None
    if not isinstance(items, list):
        return None
    return {raw["id"] for raw in items if isinstance(raw, dict) and isinstance(raw.get("id"), str)}


def load_inventory(config: Path | None = None) -> Inventory:
    """Load and cross-check the inventory, raising :class:`ConfigError` with every problem."""
    files = {
        name: config_path(f"{name}.yaml", config=config)
        for name in ("ai_systems", "certification", "datasets")
    }
    problems: list[str] = []
    docs = {name: read_yaml(path, problems) for name, path in files.items()}
    systems = unique_ids(
        docs["ai_systems"],
        "ai_systems",
        validate_list(docs["ai_systems"], "ai_systems", AISystem, problems),
        problems,
    )
    cycles = unique_ids(
        docs["certification"],
        "certification_cycles",
        validate_list(docs["certification"], "certification_cycles", CertificationCycle, problems),
        problems,
    )
    datasets = unique_ids(
        docs["datasets"],
        "datasets",
        validate_list(docs["datasets"], "datasets", Dataset, problems),
        problems,
    )
    # Against every id declared in ai_systems.yaml, valid or not: an AI system with a bad field is
    # reported once, not once more for each of its datasets. An unreadable file is reported already.
    declared = _declared_ids(docs["ai_systems"], "ai_systems")
    datasets_invalid = any(p.startswith(f"{files['datasets']}:") for p in problems)
    datasets_doc = docs["datasets"]
    for index, ds in datasets.values():
        assert datasets_doc is not None  # datasets were read from it
        if declared is not None and ds.ai_system not in declared:
            problems.append(
                f"{datasets_doc.where(('datasets', index, 'ai_system'))}: value {ds.ai_system!r}: "
                f"expected one of the AI systems {sorted(declared)}"
            )
        # Checked only when datasets.yaml is otherwise valid: a reference to a dataset that is itself
        # broken or renamed would be a second, misleading report of one mistake.
        ref = ds.drift_reference
        if (
            ref is not None
            and not datasets_invalid
            and (ref not in datasets or datasets[ref][1].role != Role.train)
        ):
            trains = sorted(k for k, (_, d) in datasets.items() if d.role == Role.train)
            problems.append(
                f"{datasets_doc.where(('datasets', index, 'drift_reference'))}: value {ref!r}: "
                f"expected a training dataset of the catalog {trains}"
            )
    if problems:
        raise ConfigError(problems)
    return Inventory(
        {k: v for k, (_, v) in systems.items()},
        sorted((c for _, c in cycles.values()), key=lambda c: c.start),
        {k: v for k, (_, v) in datasets.items()},
        files,
    )
