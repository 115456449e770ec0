"""The fairness policy (YAML, validated) and the verdict on each thresholded figure.

A threshold applies to every grouping (feature or intersection) unless ``overrides`` names the
grouping (``"age_band"``, ``"sex|ethnicity"``) and sets it again; ``null`` in an override switches a
threshold off for that grouping. Every figure gets one verdict: ``pass``, ``breach`` or
``insufficient data``; an undefined figure never breaches (with one exception: an equalized odds
difference whose known half already exceeds the maximum breaches whatever the other half is).

=============================  ==================================================================
threshold                      figure it bounds, per grouping
=============================  ==================================================================
demographic_parity_difference  base-rate difference (label); with predictions also selection rate
demographic_parity_ratio       base-rate ratio (label); with predictions also selection rate
equalized_odds_difference      max(TPR difference, FPR difference); with predictions only
representation_gap             largest |share - reference share| over the reference's groups
missing_rate_difference        missing-value-rate difference of the worst feature column
=============================  ==================================================================
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aimsflow.catalog import Dataset, Inventory, Role
from aimsflow.configfile import ConfigError, Document, config_path, describe, read_mapping
from aimsflow.fairness.metrics import (
    BASE_RATE,
    MISSING_RATE,
    REPRESENTATION_GAP,
    SELECTION_RATE,
    SEPARATOR,
    FairnessReport,
    GroupingResult,
    MetricResult,
    Value,
)
from aimsflow.results import SpecRef, sha256_file

Fraction = Annotated[float, Field(ge=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Bound(_Model):
    # Apply only to groupings of at most this many features (e.g. 1: single features only, where
    # intersections' small groups would make a noisy figure breach by chance).
    max_depth: int | None = Field(default=None, ge=1)

    def applies_to(self, features: int) -> bool:
        return self.max_depth is None or features <= self.max_depth


class AtMost(_Bound):
    max: Fraction


class AtLeast(_Bound):
    min: Fraction


class Thresholds(_Model):
    demographic_parity_difference: AtMost | None = None
    demographic_parity_ratio: AtLeast | None = None
    equalized_odds_difference: AtMost | None = None
    representation_gap: AtMost | None = None
    missing_rate_difference: AtMost | None = None

    def active(self, features: int) -> Thresholds:
        """These thresholds without those whose ``max_depth`` excludes a grouping of ``features``."""
        drop = {
            k: None for k in type(self).model_fields if (b := getattr(self, k)) and not b.applies_to(features)
        }
        return self.model_copy(update=drop) if drop else self

    def merged(self, override: Thresholds) -> Thresholds:
        """These thresholds with every key ``override`` sets (``null`` included) replaced."""
        return self.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})


def _features(grouping: str) -> frozenset[str]:
    return frozenset(grouping.split(SEPARATOR))


def _one_key_per_grouping(overrides: dict[str, Thresholds]) -> dict[str, Thresholds]:
    seen: dict[frozenset[str], str] = {}
    for name in overrides:
        if (other := seen.setdefault(_features(name), name)) != name:
            raise ValueError(f"{other!r} and {name!r} name the same grouping; keep one")
    return overrides


class DatasetPolicy(_Model):
    """One dataset's departures from its AI system's policy. Each key given replaces the system's:
    ``thresholds`` entry by entry (``null`` switches one off), ``overrides`` grouping by grouping."""

    min_group_size: int | None = Field(default=None, ge=1)
    intersection_depth: int | None = Field(default=None, ge=1, le=4)
    thresholds: Thresholds | None = None
    overrides: dict[str, Thresholds] = {}

    @field_validator("overrides")
    @classmethod
    def _unique(cls, overrides: dict[str, Thresholds]) -> dict[str, Thresholds]:
        return _one_key_per_grouping(overrides)


class FairnessPolicy(_Model):
    version: Literal[1] = 1
    min_group_size: int = Field(ge=1)
    intersection_depth: int = Field(ge=1, le=4)
    thresholds: Thresholds
    # grouping name -> thresholds replacing the defaults for that grouping
    overrides: dict[str, Thresholds] = {}
    # grouping name -> group -> share of the reference population (for representation_gap)
    reference_shares: dict[str, dict[str, Fraction]] = {}
    # dataset id -> that dataset's departures from this policy (datasets of this AI system only)
    datasets: dict[str, DatasetPolicy] = {}

    @field_validator("overrides")
    @classmethod
    def _unique(cls, overrides: dict[str, Thresholds]) -> dict[str, Thresholds]:
        return _one_key_per_grouping(overrides)

    @field_validator("reference_shares")
    @classmethod
    def _at_most_one(cls, shares: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for grouping, groups in shares.items():
            total = sum(groups.values())
            if total > 1 + 1e-9:
                raise ValueError(f"shares of {grouping!r} sum to {total:.6g}; expected at most 1")
        return shares

    def thresholds_for(self, grouping: str) -> Thresholds:
        """The thresholds of a grouping; an override matches whatever the order of its features."""
        features = _features(grouping)
        for name, override in self.overrides.items():
            if _features(name) == features:
                return self.thresholds.merged(override)
        return self.thresholds

    def for_dataset(self, dataset: Dataset) -> FairnessPolicy:
        """The policy ``dataset`` is judged by: this one (its AI system's) with the dataset's section
        applied and the catalog's reference shares of the dataset taking precedence over the
        policy's; no ``datasets`` left, so applying it twice changes nothing. A grouping override,
        the dataset's or else the system's, still beats the dataset's default thresholds."""
        shares = {**self.reference_shares, **(dataset.reference_shares or {})}
        section = self.datasets.get(dataset.id)
        if section is None:
            return self.model_copy(update={"datasets": {}, "reference_shares": shares})
        replaced = {_features(name) for name in section.overrides}
        overrides = {k: v for k, v in self.overrides.items() if _features(k) not in replaced}
        thresholds = (
            self.thresholds if section.thresholds is None else self.thresholds.merged(section.thresholds)
        )
        return self.model_copy(
            update={
                "min_group_size": section.min_group_size or self.min_group_size,
                "intersection_depth": section.intersection_depth or self.intersection_depth,
                "thresholds": thresholds,
                "overrides": overrides | section.overrides,
                "reference_shares": shares,
                "datasets": {},
            }
        )

    def reference_for(self, grouping: str) -> Mapping[str, float] | None:
        return self.reference_shares.get(grouping)


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a location in the document is validated against (for 'expected one of' lists)."""
    tp: Any = FairnessPolicy
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _problem(doc: Document, err: Any) -> str:
    """As :func:`aimsflow.configfile.describe`, naming the allowed keys when a key is unknown."""
    if err["type"] == "extra_forbidden":
        model = _model_at(tuple(err["loc"])[:-1])
        allowed = sorted(model.model_fields) if model else []
        return f"{describe(doc, err)}; expected one of {allowed}"
    return describe(doc, err)


def _read(path: Path) -> tuple[FairnessPolicy, SpecRef]:
    """One policy file and the SHA-256 of the very bytes validated (hashed before and after
    reading: a file edited in between is refused rather than recorded with the wrong hash)."""
    before = sha256_file(path) if path.is_file() else None
    doc = read_mapping(path, "policy keys")
    try:
        policy = FairnessPolicy.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError([_problem(doc, e) for e in exc.errors()]) from None
    after = sha256_file(path)
    if before != after:
        raise ConfigError([f"{path}: changed while it was read; run again"])
    return policy, SpecRef(str(path), after)


def load_fairness_policy(path: Path) -> FairnessPolicy:
    """Read and validate one policy file, raising :class:`ConfigError` with every problem (file, path
    inside the document, value, what was expected). No check against the inventory: that is
    :func:`load_fairness_policies`."""
    return _read(Path(path))[0]


def policy_dir(config: Path) -> Path:
    """The folder of the per-AI-system policies in a config folder: ``<ai_system_id>.yaml`` each."""
    return config_path("policies", "fairness", config=Path(config))


def assessed(dataset: Dataset) -> bool:
    """Whether the bias assessment covers a dataset: a training set with a label and sensitive features."""
    return dataset.role == Role.train and bool(dataset.sensitive_features) and bool(dataset.label_column)


@dataclass(frozen=True)
class PolicySet:
    """The fairness policies of a config folder, checked against the inventory. ``problems`` is
    keyed by AI system id, ``None`` holding the folder's own (they concern every system): a broken
    policy of one AI system makes only that system's assessments errors."""

    folder: Path
    policies: dict[str, tuple[FairnessPolicy, SpecRef]]
    problems: dict[str | None, list[str]]

    def for_system(self, ai_system: str) -> tuple[FairnessPolicy, SpecRef]:
        """An AI system's policy and the file it was read from, pinned by the SHA-256 of the bytes
        validated; :class:`ConfigError` with the problems of that system's policy and the folder's."""
        problems = [*self.problems.get(None, []), *self.problems.get(ai_system, [])]
        if problems:
            raise ConfigError(problems)
        if ai_system not in self.policies:
            raise ConfigError([f"{self.folder / f'{ai_system}.yaml'}: file not found: no fairness policy"])
        return self.policies[ai_system]

    def check(self) -> None:
        """Raise :class:`ConfigError` with every problem of every policy file."""
        problems = [p for group in self.problems.values() for p in group]
        if problems:
            raise ConfigError(problems)


def _near(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_features(where: str, names: Sequence[str], known: set[str], owner: str) -> list[str]:
    return [
        f"{where}.{name}: value {name!r}: names {sorted(_features(name) - known)}, not a sensitive "
        f"feature of {owner} ({sorted(known)})"
        for name in names
        if not _features(name) <= known
    ]


def _cross_check(
    path: Path, system: str, policy: FairnessPolicy, inventory: Inventory, folder: Path
) -> list[str]:
    """Dataset sections and grouping names against the inventory: a key that matches nothing would
    otherwise be a silent no-op."""
    own = {d.id: d for d in inventory.datasets.values() if d.ai_system == system and assessed(d)}
    features = {f for d in own.values() for f in d.sensitive_features}
    problems = _unknown_features(
        f"{path}: overrides", list(policy.overrides), features, f"the {system!r} datasets"
    )
    problems += _unknown_features(
        f"{path}: reference_shares", list(policy.reference_shares), features, f"the {system!r} datasets"
    )
    for key, section in policy.datasets.items():
        where = f"{path}: datasets.{key}: value {key!r}"
        dataset = inventory.datasets.get(key)
        if dataset is None:
            problems.append(
                f"{where}: unknown dataset{_near(key, sorted(own))}; expected a dataset of AI system "
                f"{system!r} that the bias assessment covers {sorted(own)}"
            )
        elif dataset.ai_system != system:
            problems.append(
                f"{where}: a dataset of AI system {dataset.ai_system!r}, not {system!r}; its "
                f"departures belong in {folder / f'{dataset.ai_system}.yaml'}"
            )
        elif key not in own:
            problems.append(
                f"{where}: the bias assessment does not cover it (role {dataset.role.value}); only "
                f"training datasets with a label_column and sensitive_features are assessed {sorted(own)}"
            )
        else:
            problems += _unknown_features(
                f"{path}: datasets.{key}.overrides",
                list(section.overrides),
                set(dataset.sensitive_features),
                f"dataset {key!r}",
            )
    return problems


def load_fairness_policies(inventory: Inventory, folder: Path | None = None) -> PolicySet:
    """Read every ``<ai_system_id>.yaml`` in ``folder`` (default: the inventory's config folder's
    ``policies/fairness``) and check it against the inventory. An AI system whose datasets the bias
    assessment covers must have a policy of its own: there is no default policy to fall back on."""
    config = inventory.files["ai_systems"].parent
    folder = Path(folder) if folder is not None else policy_dir(config)
    problems: dict[str | None, list[str]] = {}
    policies: dict[str, tuple[FairnessPolicy, SpecRef]] = {}
    legacy = config_path("policies", "fairness.yaml", config=config)
    if legacy.exists():
        problems.setdefault(None, []).append(
            f"{legacy}: superseded by one policy per AI system, {folder}/<ai_system_id>.yaml; move "
            "its content there and delete it, so that nobody edits a file that is not read"
        )
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    systems = sorted(inventory.ai_systems)
    for path in files:
        if path.suffix == ".yml":
            problems.setdefault(None, []).append(f"{path}: not read: a policy file ends in .yaml")
            continue
        if path.suffix != ".yaml":
            continue
        system = path.stem
        if system not in inventory.ai_systems:
            problems.setdefault(None, []).append(
                f"{path}: value {system!r}: the file name must be the id of an AI system of the "
                f"inventory{_near(system, systems)}; expected one of {systems}"
            )
            continue
        try:
            policy, spec = _read(path)
        except ConfigError as exc:
            problems.setdefault(system, []).extend(exc.problems)
            continue
        found = _cross_check(path, system, policy, inventory, folder)
        if found:
            problems.setdefault(system, []).extend(found)
        policies[system] = (policy, spec)
    for system in systems:
        covered = sorted(d.id for d in inventory.datasets.values() if d.ai_system == system and assessed(d))
        if covered and system not in policies and system not in problems:
            problems.setdefault(system, []).append(
                f"{folder / f'{system}.yaml'}: file not found: AI system {system!r} has datasets the "
                f"bias assessment covers {covered} and no fairness policy; write one for it (there is "
                "no default policy: thresholds are a decision of the system's owner)"
            )
    return PolicySet(folder, policies, problems)


class Outcome(StrEnum):
    passed = "pass"
    breach = "breach"
    insufficient = "insufficient data"


@dataclass(frozen=True)
class Verdict:
    """The verdict on one figure. ``group`` is set when ``value`` is one group's figure (the worst
    representation gap), so that evidence can suppress it for a small group."""

    threshold: str
    grouping: str
    metric: str
    value: float | None
    bound: str
    outcome: Outcome
    detail: str = ""
    group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "grouping": self.grouping,
            "metric": self.metric,
            "value": self.value,
            "bound": self.bound,
            "outcome": self.outcome.value,
            "detail": self.detail,
            **({"group": self.group} if self.group is not None else {}),
        }


def _judge(value: float, bound: AtMost | AtLeast) -> Outcome:
    if isinstance(bound, AtMost):
        return Outcome.breach if value > bound.max else Outcome.passed
    return Outcome.breach if value < bound.min else Outcome.passed


def _bound_text(bound: AtMost | AtLeast) -> str:
    return f"<= {bound.max:g}" if isinstance(bound, AtMost) else f">= {bound.min:g}"


def _spread(metric: MetricResult) -> str:
    values = metric.defined_groups()
    if len(values) < 2:
        return ""
    lo, hi = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
    if values[lo] == values[hi]:
        return f"all {len(values)} groups {values[lo]:.4f}"
    return f"lowest {lo!r} {values[lo]:.4f}, highest {hi!r} {values[hi]:.4f}"


def _verdict(
    threshold: str, grouping: str, metric: str, figure: Value | None, bound: AtMost | AtLeast, detail: str
) -> Verdict:
    if figure is None or not figure.defined or figure.value is None:
        reason = figure.undefined if figure is not None else "not computed"
        return Verdict(
            threshold, grouping, metric, None, _bound_text(bound), Outcome.insufficient, reason or ""
        )
    return Verdict(
        threshold, grouping, metric, figure.value, _bound_text(bound), _judge(figure.value, bound), detail
    )


def evaluate(report: FairnessReport, policy: FairnessPolicy) -> list[Verdict]:
    """One verdict per thresholded figure and grouping, in the report's grouping order."""
    if report.min_group_size < policy.min_group_size:
        raise ValueError(
            f"the report was computed with min_group_size {report.min_group_size}, below the policy's "
            f"{policy.min_group_size}: recompute it with the policy's minimum"
        )
    verdicts: list[Verdict] = []
    for name, grouping in report.groupings.items():
        t = policy.thresholds_for(name).active(len(grouping.features))
        for metric in (BASE_RATE, SELECTION_RATE) if report.predictions else (BASE_RATE,):
            m = grouping.metrics[metric]
            if t.demographic_parity_difference:
                verdicts.append(
                    _verdict(
                        "demographic_parity_difference",
                        name,
                        metric,
                        m.difference,
                        t.demographic_parity_difference,
                        _spread(m),
                    )
                )
            if t.demographic_parity_ratio:
                verdicts.append(
                    _verdict(
                        "demographic_parity_ratio",
                        name,
                        metric,
                        m.ratio,
                        t.demographic_parity_ratio,
                        _spread(m),
                    )
                )
        eod, bound = grouping.equalized_odds_difference, t.equalized_odds_difference
        if bound and eod is not None:
            metric = "true_positive_rate/false_positive_rate"
            if not eod.defined and eod.value is not None and eod.value > bound.max:
                # The known half exceeds the bound already: the full figure can only be larger.
                verdicts.append(
                    Verdict(
                        "equalized_odds_difference",
                        name,
                        metric,
                        eod.value,
                        _bound_text(bound),
                        Outcome.breach,
                        f"at least this much; {eod.undefined}",
                    )
                )
            else:
                verdicts.append(_verdict("equalized_odds_difference", name, metric, eod, bound, ""))
        if t.representation_gap:
            verdicts.extend(_representation_verdict(name, grouping.metrics.get(REPRESENTATION_GAP), t))
        if t.missing_rate_difference and report.columns:
            verdicts.append(_missing_rate_verdict(name, grouping, report.columns, t.missing_rate_difference))
    return verdicts


def _representation_verdict(grouping: str, gap: MetricResult | None, t: Thresholds) -> list[Verdict]:
    bound = t.representation_gap
    assert bound is not None
    if gap is None and SEPARATOR in grouping:  # intersections need reference shares of their own
        return []
    values = gap.defined_groups() if gap is not None else {}
    if not values:
        reason = (
            f"insufficient data: no reference shares for {grouping!r}"
            if gap is None
            else "insufficient data: no group has a reference share"
        )
        return [
            Verdict(
                "representation_gap",
                grouping,
                "share",
                None,
                _bound_text(bound),
                Outcome.insufficient,
                reason,
            )
        ]
    worst = max(values, key=lambda g: abs(values[g]))
    value = abs(values[worst])
    side = "under" if values[worst] < 0 else "over"
    return [
        Verdict(
            "representation_gap",
            grouping,
            "share",
            value,
            _bound_text(bound),
            _judge(value, bound),
            f"largest gap: {worst!r} {side}-represented by {value:.4f}",
            group=worst,
        )
    ]


def _missing_rate_verdict(
    grouping: str, result: GroupingResult, columns: Sequence[str], bound: AtMost
) -> Verdict:
    """One verdict per grouping: the feature column with the largest missing-rate difference."""
    metrics = [result.metrics[MISSING_RATE + c] for c in columns]
    defined = [m for m in metrics if m.difference is not None and m.difference.defined]
    if not defined:
        return _verdict(
            "missing_rate_difference", grouping, MISSING_RATE + "*", metrics[0].difference, bound, ""
        )
    worst = max(defined, key=lambda m: m.difference.value)  # type: ignore[union-attr]
    return _verdict("missing_rate_difference", grouping, worst.name, worst.difference, bound, _spread(worst))
