"""The inventory: AI systems, certification cycles and datasets, validated with every problem listed.

Three YAML files under the config folder (``ai_systems.yaml``, ``certification.yaml``,
``datasets.yaml``). A bad file raises :class:`ConfigError` naming file, path inside the document,
value and what was expected, for all problems at once rather than the first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

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


NUMERIC_TYPES = frozenset({ColumnType.integer, ColumnType.float})
# The group of a binned value that is NaN, None or infinite: the same name as a missing value in a
# categorical sensitive column (aimsflow.fairness.metrics.MISSING_GROUP, not imported: no pandas here).
MISSING_BAND = "missing"


def _edge(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Column(_Model):
    type: ColumnType
    personal: bool = False
    description: str = ""
    # Sensitive features (bias assessment): a numeric column is grouped into bands by ``bins``,
    # strictly increasing edges, each band closed on the left and open on the right: [18, 25) is
    # "18-24" (integer column and edges) or "[18.5, 25)"; the last edge opens "65+"; values below the
    # first edge are "<18"; NaN, None and ±inf are "missing". ``labels`` names the bands from the
    # first edge on (one per edge). ``categorical: true`` keeps a numeric column's values as groups
    # (codes such as a passenger class 1/2/3), never bands.
    bins: list[int | float] | None = Field(default=None, min_length=1)
    labels: list[str] | None = None
    categorical: bool = False

    @field_validator("bins", mode="before")
    @classmethod
    def _numbers(cls, bins: Any) -> Any:
        if isinstance(bins, list):
            bad = [b for b in bins if isinstance(b, bool) or not isinstance(b, int | float)]
            if bad:
                raise ValueError(f"band edges must be numbers, got {bad}")
        return bins

    @field_validator("bins")
    @classmethod
    def _increasing(cls, bins: list[int | float] | None) -> list[int | float] | None:
        if bins is None:
            return bins
        if not all(math.isfinite(b) for b in bins):
            raise ValueError("band edges must be finite: the last band is open ('65+') already")
        if any(b <= a for a, b in zip(bins, bins[1:], strict=False)):
            raise ValueError(f"band edges must be strictly increasing, got {bins}")
        return bins

    @model_validator(mode="after")
    def _bands(self) -> Column:
        if self.bins is None:
            if self.labels is not None:
                raise ValueError("labels name the bands of `bins`, which is not set")
            return self
        if self.type not in NUMERIC_TYPES:
            raise ValueError(f"bins apply to integer and float columns, this one is {self.type.value}")
        if self.categorical:
            raise ValueError("a column is either binned (bins) or categorical, not both")
        if self.labels is not None:
            if len(self.labels) != len(self.bins):
                raise ValueError(
                    f"{len(self.labels)} label(s) for {len(self.bins)} band(s): one label per edge, "
                    "naming the band that starts at it"
                )
        names = self.band_labels()
        clash = sorted({n for n in names if names.count(n) > 1 or n == MISSING_BAND or "|" in n})
        if clash:
            raise ValueError(
                f"band labels {clash} are repeated, contain '|' or are {MISSING_BAND!r}; "
                "each band needs its own name"
            )
        return self

    def band_labels(self) -> list[str]:
        """The group names of the bands, the one below the first edge first ([] without bins)."""
        if self.bins is None:
            return []
        edges = self.bins
        if self.labels is not None:
            named = list(self.labels)
        elif self.type == ColumnType.integer and all(float(e).is_integer() for e in edges):
            named = [
                _edge(a) if b - 1 == a else f"{_edge(a)}-{_edge(b - 1)}"
                for a, b in zip(edges, edges[1:], strict=False)
            ]
            named.append(f"{_edge(edges[-1])}+")
        else:
            named = [f"[{_edge(a)}, {_edge(b)})" for a, b in zip(edges, edges[1:], strict=False)]
            named.append(f"{_edge(edges[-1])}+")
        return [f"<{_edge(edges[0])}", *named]


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
    # Moved to the AI system's fairness policy (a policy choice, not a fact about the data); kept
    # as a field only to say where it went.
    min_group_size: Any = Field(default=None, description="moved to policies/fairness/<ai_system>.yaml")

    @field_validator("min_group_size")
    @classmethod
    def _moved(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            system = info.data.get("ai_system", "<ai_system>")
            dataset = info.data.get("id", "<dataset id>")
            raise ValueError(
                f"min_group_size moved to the fairness policy: set `datasets: {{{dataset}: "
                f"{{min_group_size: {value}}}}}` in policies/fairness/{system}.yaml"
            )
        return value

    @field_validator("uri")
    @classmethod
    def _has_date(cls, uri: str) -> str:
        if "{date}" not in uri:
            raise ValueError("must contain '{date}' so that the partition of each period is addressable")
        unknown = sorted(set(re.findall(r"{([^}]*)}", uri)) - {"date", "data"})
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; only {{data}} and {{date}} are filled in")
        problem = uri_escape(uri)
        if problem:
            raise ValueError(problem)
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
        problems = [*self._unbinned_numeric(), *self._stray_bins(), *self._unknown_bands()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unbinned_numeric(self) -> list[str]:
        """Numeric sensitive features without bins: every distinct value would be its own group."""
        return [
            f"dataset {self.id!r}: sensitive feature {name!r} is declared {col.type.value} but has no "
            f"bins, so every distinct value would be its own group; add band edges to columns.{name}, "
            f"e.g. `bins: [18, 25, 35, 50, 65]` (bands <18, 18-24, ..., 65+), or `categorical: true` "
            "if its values are codes"
            for name in self.sensitive_features
            if (col := self.columns[name]).type in NUMERIC_TYPES and col.bins is None and not col.categorical
        ]

    def _stray_bins(self) -> list[str]:
        return [
            f"dataset {self.id!r}: column {name!r} has bins but is not a sensitive feature; "
            "add it to sensitive_features or remove its bins"
            for name, col in self.columns.items()
            if col.bins is not None and name not in self.sensitive_features
        ]

    def _unknown_bands(self) -> list[str]:
        """Reference shares of a binned feature must name its bands (a typo would be a fake gap)."""
        out = []
        for feature, shares in (self.reference_shares or {}).items():
            bands = self.columns[feature].band_labels()
            unknown = sorted(set(shares) - set(bands))
            if bands and unknown:
                out.append(
                    f"dataset {self.id!r}: reference_shares.{feature} names {unknown}, which are not "
                    f"bands of {feature!r}; its bands are {bands}"
                )
        return out

    @property
    def personal_columns(self) -> frozenset[str]:
        return frozenset(name for name, col in self.columns.items() if col.personal)

    def partition_uri(self, day: dt.date) -> str:
        """The partition of ``day`` (a file or a folder of versions), with ``{data}`` left unresolved."""
        return self.uri.format(date=day.isoformat(), data="{data}")

    def partition_path(self, day: dt.date, data_root: Path | None = None) -> Path:
        """The partition of ``day`` under the data root; a path that resolves outside it (a symbolic
        link placed after the catalog was loaded) raises ValueError naming dataset, template and target."""
        root = data_root or settings.data_root()
        path = Path(self.uri.format(date=day.isoformat(), data=str(root)))
        escape = linked_out(root, path)
        if escape is not None:
            link, target = escape
            raise ValueError(
                f"dataset {self.id!r}: uri {self.uri!r}: partition {path} resolves to {target}, outside "
                f"the data root {Path(root).resolve()} (through the symbolic link {link}); refusing to use it"
            )
        return path


def uri_escape(uri: str) -> str | None:
    """Why a URI template can leave the data root, or None: it must start with ``{data}/``, name
    ``{data}`` once and have no ``.``/``..`` segment or backslash (the data root is the only place jobs
    read, write and retention deletes; an absolute, relative or climbing path reaches anywhere)."""
    if not uri.startswith("{data}/"):
        return "must start with '{data}/': every dataset lives under the data root (AIMSFLOW_DATA_ROOT)"
    if uri.count("{data}") != 1:
        return "must name '{data}' once, at the start"
    if "\\" in uri:
        return "must not contain a backslash: separate folders with '/'"
    bad = sorted({part for part in uri.split("/") if part in (".", "..")})
    if bad:
        return f"must not contain the path segment(s) {bad}: the path would leave or re-enter the data root"
    return None


def linked_out(root: Path, path: Path) -> tuple[Path, Path] | None:
    """(link, target) when a symbolic link on ``path``'s way from ``root`` leads outside ``root``
    (both resolved), else None. Only existing components can be links; the rest is not looked at."""
    real_root = Path(root).resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        return (path, path.resolve()) if not path.resolve().is_relative_to(real_root) else None
    current = Path(root)
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            target = current.resolve()
            if not target.is_relative_to(real_root):
                return current, target
    return None


def _template_escape(dataset: Dataset, data_root: Path) -> tuple[Path, Path] | None:
    """A symbolic link out of the data root on the fixed part of a dataset's URI template (the folders
    before the first one that holds ``{date}``)."""
    fixed = dataset.uri.split("{date}", 1)[0].rpartition("/")[0]
    return linked_out(data_root, Path(fixed.replace("{data}", str(data_root), 1)))


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
    if not datasets_invalid and datasets_doc is not None:
        data_root = settings.data_root()
        for index, ds in datasets.values():
            escape = _template_escape(ds, data_root)
            if escape is not None:
                link, target = escape
                problems.append(
                    f"{datasets_doc.where(('datasets', index, 'uri'))}: value {ds.uri!r}: resolves outside the "
                    f"data root {data_root}: the symbolic link {link} leads to {target}; datasets must stay "
                    "under the data root (replace the link with a folder, or move the data root)"
                )
    if problems:
        raise ConfigError(problems)
    return Inventory(
        {k: v for k, (_, v) in systems.items()},
        sorted((c for _, c in cycles.values()), key=lambda c: c.start),
        {k: v for k, (_, v) in datasets.items()},
        files,
    )
