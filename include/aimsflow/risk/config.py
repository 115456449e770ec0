"""The risk register and the risk methodology: YAML under ``<config>/risk/``, validated with every
problem listed (file, path in the document, value, what was expected), like the inventory.

* ``methodology.yaml`` — likelihood and impact scales, the score, risk levels, acceptance criteria
  (appetite, the most an owner may accept), the level that notifies, the changes each signal state
  makes, and which statuses may close a nonconformity;
* ``register.yaml`` — the risks: id, AI system, category, description, likelihood and impact on the
  methodology's scales, owner, treatment with its controls, review interval and last review, an
  optional formal acceptance, and the signals that move the risk, each with its own window.

Cross-checks: likelihood and impact on the scales, control ids from the evidence vocabulary, AI
systems and datasets from the catalog, unique risk ids and unique signal ids within a risk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

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
from aimsflow.catalog import Inventory, load_inventory, unique_ids, validate_list
from aimsflow.configfile import ConfigError, Document, config_path, describe, read_yaml
from aimsflow.evidence.controls import CLAUSES, CONTROLS
from aimsflow.results import SpecRef, Status

REGISTER_FILE = "register.yaml"
METHODOLOGY_FILE = "methodology.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(StrEnum):
    bias_and_fairness = "bias_and_fairness"
    transparency_and_explainability = "transparency_and_explainability"
    safety_and_reliability = "safety_and_reliability"
    privacy = "privacy"
    accountability = "accountability"
    societal_impact = "societal_impact"
    security = "security"
    data_quality = "data_quality"


class Treatment(StrEnum):
    accept = "accept"
    mitigate = "mitigate"
    transfer = "transfer"
    avoid = "avoid"


class Dimension(StrEnum):
    likelihood = "likelihood"
    impact = "impact"


class SignalState(StrEnum):
    """What a signal measured, best to worst; ``no_data``: no evidence in its window."""

    ok = "ok"
    warning = "warning"
    critical = "critical"
    no_data = "no_data"


def _known_controls(ids: list[str]) -> list[str]:
    unknown = sorted(set(ids) - CONTROLS.keys())
    if unknown:
        raise ValueError(
            f"unknown control id(s) {unknown}; expected Annex A ids (A.x.y) or clauses {sorted(CLAUSES)}"
        )
    return ids


# --- methodology -------------------------------------------------------------------------------


class ScalePoint(_Model):
    value: int = Field(ge=1)
    name: str = Field(min_length=1)
    description: str = ""


class Scales(_Model):
    likelihood: list[ScalePoint] = Field(min_length=2)
    impact: list[ScalePoint] = Field(min_length=2)

    @field_validator("likelihood", "impact")
    @classmethod
    def _contiguous(cls, points: list[ScalePoint]) -> list[ScalePoint]:
        values = [p.value for p in points]
        if values != list(range(1, len(points) + 1)):
            raise ValueError(f"scale values must be 1, 2, ... {len(points)} in order, got {values}")
        return points


class Level(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    min_score: int = Field(ge=1)
    description: str = ""


class AcceptanceCriteria(_Model):
    # A current score up to the appetite is acceptable without a formal acceptance.
    appetite: int = Field(ge=1)
    # Above the appetite an owner may formally accept a risk up to this score; above it, never.
    max_acceptable: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> AcceptanceCriteria:
        if self.max_acceptable < self.appetite:
            raise ValueError(
                f"max_acceptable {self.max_acceptable} must be at least appetite {self.appetite}"
            )
        return self


class SignalChanges(_Model):
    """Steps on a risk's likelihood or impact scale per signal state."""

    ok: int = Field(0, ge=-4, le=4)
    warning: int = Field(ge=-4, le=4)
    critical: int = Field(ge=-4, le=4)
    no_data: int = Field(ge=-4, le=4)

    def of(self, state: SignalState) -> int:
        return int(getattr(self, state.value))


class SignalRules(_Model):
    # "worst": on each dimension the signal with the largest change sets it (no double counting).
    combination: Literal["worst"] = "worst"
    changes: SignalChanges


class NonconformityRules(_Model):
    closing_statuses: list[Status] = Field(default=[Status.passed], min_length=1)

    @field_validator("closing_statuses")
    @classmethod
    def _succeeding(cls, statuses: list[Status]) -> list[Status]:
        bad = [str(s) for s in statuses if s not in (Status.passed, Status.warning)]
        if bad:
            raise ValueError(f"only passed or warning can close a nonconformity, got {bad}")
        return statuses


class Methodology(_Model):
    version: Literal[1]
    scales: Scales
    score: Literal["likelihood_x_impact"]
    levels: list[Level] = Field(min_length=1)
    acceptance: AcceptanceCriteria
    notify_from_level: str
    signals: SignalRules
    nonconformities: NonconformityRules = NonconformityRules()

    @field_validator("levels")
    @classmethod
    def _ascending(cls, levels: list[Level]) -> list[Level]:
        mins, names = [lv.min_score for lv in levels], [lv.name for lv in levels]
        if mins[0] != 1 or any(b <= a for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError(f"levels' min_score must start at 1 and increase strictly, got {mins}")
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        return levels

    # Fields are validated in order, so these see the scales and levels when those are valid; a
    # problem is reported per field rather than once everything else holds.
    @field_validator("acceptance")
    @classmethod
    def _within_scale(cls, acceptance: AcceptanceCriteria, info: ValidationInfo) -> AcceptanceCriteria:
        scales = info.data.get("scales")
        if scales is not None:
            top = len(scales.likelihood) * len(scales.impact)
            if acceptance.max_acceptable > top:
                raise ValueError(f"max_acceptable {acceptance.max_acceptable} exceeds the top score {top}")
        return acceptance

    @field_validator("notify_from_level")
    @classmethod
    def _a_level(cls, name: str, info: ValidationInfo) -> str:
        levels = info.data.get("levels")
        if levels is not None and name not in [lv.name for lv in levels]:
            raise ValueError(
                f"notify_from_level {name!r} is not one of the levels {[lv.name for lv in levels]}"
            )
        return name

    @property
    def max_likelihood(self) -> int:
        return len(self.scales.likelihood)

    @property
    def max_impact(self) -> int:
        return len(self.scales.impact)

    @property
    def max_score(self) -> int:
        return self.max_likelihood * self.max_impact

    def scale_max(self, dimension: Dimension) -> int:
        return self.max_likelihood if dimension == Dimension.likelihood else self.max_impact

    def scale_name(self, dimension: Dimension, value: int) -> str:
        points = self.scales.likelihood if dimension == Dimension.likelihood else self.scales.impact
        return points[value - 1].name

    @staticmethod
    def score_of(likelihood: int, impact: int) -> int:
        return likelihood * impact

    def level_of(self, score: int) -> Level:
        return [lv for lv in self.levels if lv.min_score <= score][-1]

    def level_rank(self, name: str) -> int:
        return [lv.name for lv in self.levels].index(name)

    def notifies(self, level: str) -> bool:
        return self.level_rank(level) >= self.level_rank(self.notify_from_level)


# --- signals -----------------------------------------------------------------------------------

_CHECK_PATTERN = r"^[A-Za-z0-9_.*?/\[\]-]+$"


class _SignalBase(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    moves: Dimension
    description: str = ""


class _Thresholds(_Model):
    """``warning`` (optional) and ``critical`` on the bad side of ``direction``."""

    def _check_order(self, direction: str) -> None:
        warning, critical = getattr(self, "warning", None), self.critical  # type: ignore[attr-defined]
        if warning is None:
            return
        if direction == "above" and warning > critical:
            raise ValueError(f"warning {warning} must not exceed critical {critical} (bad values are high)")
        if direction == "below" and warning < critical:
            raise ValueError(f"warning {warning} must not be under critical {critical} (bad values are low)")


class _RecordSignal(_SignalBase, _Thresholds):
    # Check id, or a glob over check ids (``data_quality/*``); ``dataset`` narrows to one subject.
    check: str = Field(pattern=_CHECK_PATTERN)
    dataset: str | None = None
    window_days: int = Field(ge=1, le=3660)


class StatusRateSignal(_RecordSignal):
    """Share of the window's current verdicts whose status is one of ``statuses``."""

    kind: Literal["status_rate"]
    statuses: list[Status] = Field(default=[Status.failed, Status.error], min_length=1)
    warning: float | None = Field(None, ge=0, le=1)
    critical: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _order(self) -> StatusRateSignal:
        self._check_order("above")
        return self


class SummaryValueSignal(_RecordSignal):
    """A figure of the records' summaries (``field``: dotted path; a list counts its items, a mapping
    gives its worst number, true/false give 1/0), aggregated over the window's current verdicts."""

    kind: Literal["summary_value"]
    field: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
    aggregate: Literal["worst", "latest", "mean", "share_nonzero"]
    direction: Literal["above", "below"] = "above"
    warning: float | None = None
    critical: float

    @model_validator(mode="after")
    def _order(self) -> SummaryValueSignal:
        if self.aggregate == "share_nonzero" and self.direction != "above":
            raise ValueError("aggregate share_nonzero measures a share of records: direction must be 'above'")
        self._check_order(self.direction)
        return self


class GapDaysSignal(_RecordSignal):
    """Days of the window (from the first day the check ever reported on) without a passing record."""

    kind: Literal["gap_days"]
    statuses: list[Status] = Field(default=[Status.passed, Status.warning], min_length=1)
    warning: int | None = Field(None, ge=1)
    critical: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> GapDaysSignal:
        self._check_order("above")
        return self


class ControlWithoutPassSignal(_SignalBase):
    """``critical`` when no record naming ``control`` has one of ``statuses`` within the window.

    The window is the control's cadence in the Statement of Applicability (``soa.yaml``
    ``max_age_days``) when ``window_days`` is not set; when set, it must agree with the SoA."""

    kind: Literal["control_without_pass"]
    control: str
    window_days: int | None = Field(None, ge=1, le=3660)
    statuses: list[Status] = Field(default=[Status.passed, Status.warning], min_length=1)

    @field_validator("control")
    @classmethod
    def _known(cls, control: str) -> str:
        _known_controls([control])
        return control


class OpenNonconformitiesSignal(_SignalBase, _Thresholds):
    """Open nonconformities whose cause matches, counting those open longer than ``older_than_days``."""

    kind: Literal["open_nonconformities"]
    check: str = Field("*", pattern=_CHECK_PATTERN)
    dataset: str | None = None
    older_than_days: int = Field(0, ge=0, le=3660)
    warning: int | None = Field(None, ge=1)
    critical: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> OpenNonconformitiesSignal:
        self._check_order("above")
        return self


Signal = Annotated[
    StatusRateSignal
    | SummaryValueSignal
    | GapDaysSignal
    | ControlWithoutPassSignal
    | OpenNonconformitiesSignal,
    Field(discriminator="kind"),
]


# --- the register ------------------------------------------------------------------------------


class Acceptance(_Model):
    """A risk owner's formal acceptance of a risk above the appetite, up to ``max_score``."""

    accepted_by: str = Field(min_length=1)
    accepted_on: dt.date
    max_score: int = Field(ge=1)
    rationale: str = Field(min_length=1)


class Risk(_Model):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    ai_system: str
    category: Category
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    likelihood: int
    impact: int
    owner: str = Field(min_length=1)
    treatment: Treatment
    controls: list[str] = Field(min_length=1)
    review_interval_days: int = Field(ge=1, le=3660)
    last_reviewed: dt.date
    acceptance: Acceptance | None = None
    signals: list[Signal] = []

    @field_validator("controls")
    @classmethod
    def _known(cls, controls: list[str]) -> list[str]:
        return _known_controls(controls)

    @model_validator(mode="after")
    def _consistent(self) -> Risk:
        if self.treatment == Treatment.accept and self.acceptance is None:
            raise ValueError(
                "treatment 'accept' needs an acceptance (accepted_by, accepted_on, max_score, rationale)"
            )
        ids = [s.id for s in self.signals]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"signal ids must be unique within a risk, repeated: {repeated}")
        return self

    @property
    def review_due(self) -> dt.date:
        return self.last_reviewed + dt.timedelta(days=self.review_interval_days)


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskConfig:
    methodology: Methodology
    risks: list[Risk]
    files: dict[str, Path]
    inventory: Inventory

    def specs(self) -> list[SpecRef]:
        """Every file the register was validated against, pinned by SHA-256 (the SoA when a
        signal took its window from it)."""
        paths = [self.files["register"], self.files["methodology"], *self.inventory.files.values()]
        if "soa" in self.files:
            paths.append(self.files["soa"])
        return [SpecRef.of_file(p) for p in paths]


def risk_config_dir(config: Path | None = None) -> Path:
    return config_path("risk", config=config)


def _validate_doc(doc: Document | None, model: type[_Model], problems: list[str]) -> Any:
    if doc is None:
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(describe(doc, err) for err in exc.errors())
    return None


def _cross_check(
    doc: Document,
    index: int,
    risk: Risk,
    methodology: Methodology | None,
    inventory: Inventory | None,
    problems: list[str],
) -> None:

    def where(*loc: Any) -> str:
        return doc.where(("risks", index, *loc))

    if methodology is not None:
        for dim, top in (("likelihood", methodology.max_likelihood), ("impact", methodology.max_impact)):
            value = getattr(risk, dim)
            if not 1 <= value <= top:
                problems.append(
                    f"{where(dim)}: value {value}: expected a value on the methodology's {dim} scale 1..{top}"
                )
        acc = risk.acceptance
        crit = methodology.acceptance
        if acc is not None and not crit.appetite < acc.max_score <= crit.max_acceptable:
            problems.append(
                f"{where('acceptance', 'max_score')}: value {acc.max_score}: expected above the appetite "
                f"{crit.appetite} and at most max_acceptable {crit.max_acceptable}"
            )
    from aimsflow.jobs import matching_checks

    for n, signal in enumerate(risk.signals):
        check = getattr(signal, "check", None)
        if check and check != "*" and not matching_checks(check):
            problems.append(
                f"{where('signals', n, 'check')}: value {check!r}: matches no declared check; "
                "declared checks: `python -m aimsflow.jobs` (docs/controls.md)"
            )
    if inventory is not None:
        if risk.ai_system not in inventory.ai_systems:
            problems.append(
                f"{where('ai_system')}: value {risk.ai_system!r}: expected one of the AI systems "
                f"{sorted(inventory.ai_systems)}"
            )
        for j, signal in enumerate(risk.signals):
            dataset = getattr(signal, "dataset", None)
            if dataset is not None and dataset not in inventory.datasets:
                problems.append(
                    f"{where('signals', j, 'dataset')}: value {dataset!r}: expected a dataset of the catalog "
                    f"{sorted(inventory.datasets)}"
                )


def _control_windows(
    doc: Document,
    risks: dict[str, tuple[int, Risk]],
    config: Path,
    files: dict[str, Path],
    problems: list[str],
) -> None:
    """Give every ``control_without_pass`` signal the cadence of its control in the Statement of
    Applicability (``soa.yaml``), or check that the window it sets agrees with it: one cadence, one
    place, so the register never calls ``ok`` what the SoA calls stale. Replaces the risks in
    ``risks`` with the resolved ones."""
    from aimsflow.compliance.soa import Soa, load_soa, soa_path

    wanted = [
        (rid, n)
        for rid, (_, risk) in risks.items()
        for n, s in enumerate(risk.signals)
        if isinstance(s, ControlWithoutPassSignal)
    ]
    if not wanted:
        return
    soa: Soa | None = None
    path = soa_path(config)
    if path.exists():
        try:
            soa = load_soa(config)
            files["soa"] = path
        except ConfigError as exc:
            problems.extend(exc.problems)
            return
    for rid, n in wanted:
        index, risk = risks[rid]
        signal = risk.signals[n]
        assert isinstance(signal, ControlWithoutPassSignal)
        where = doc.where(("risks", index, "signals", n, "window_days"))
        entry = soa.control(signal.control) if soa is not None else None
        if entry is not None and not entry.applicable:
            problems.append(
                f"{doc.where(('risks', index, 'signals', n, 'control'))}: value {signal.control!r}: "
                f"{path} excludes this control; a signal cannot watch an excluded control"
            )
            continue
        cadence = entry.max_age_days if entry is not None else None
        if signal.window_days is None and cadence is None:
            why = f"{path} does not list {signal.control}" if soa is not None else f"there is no {path}"
            problems.append(
                f"{where}: value <missing>: {why}, so the window must be set here (days within which a "
                "record naming the control must pass)"
            )
        elif signal.window_days is not None and cadence is not None and signal.window_days != cadence:
            problems.append(
                f"{where}: value {signal.window_days}: disagrees with max_age_days {cadence} of "
                f"{signal.control} in {path}; remove window_days (the SoA's cadence is used) or make "
                "them agree"
            )
        elif signal.window_days is None:
            signals = list(risk.signals)
            signals[n] = signal.model_copy(update={"window_days": cadence})
            risks[rid] = (index, risk.model_copy(update={"signals": signals}))


def load_risk_config(config: Path | None = None) -> RiskConfig:
    """Load the methodology and the register, raising :class:`ConfigError` with every problem."""
    config = config or settings.config_dir()
    folder = risk_config_dir(config)
    files = {"register": folder / REGISTER_FILE, "methodology": folder / METHODOLOGY_FILE}
    problems: list[str] = []
    inventory: Inventory | None
    try:
        inventory = load_inventory(config)
    except ConfigError as exc:
        problems.extend(exc.problems)
        inventory = None
    methodology = _validate_doc(read_yaml(files["methodology"], problems), Methodology, problems)
    doc = read_yaml(files["register"], problems)
    risks = unique_ids(doc, "risks", validate_list(doc, "risks", Risk, problems), problems)
    for index, risk in risks.values():
        assert doc is not None  # the risks were read from it
        _cross_check(doc, index, risk, methodology, inventory, problems)
    if doc is not None:
        _control_windows(doc, risks, config, files, problems)
    if problems or methodology is None or inventory is None:
        raise ConfigError(problems or ["risk configuration could not be loaded"])
    return RiskConfig(
        methodology, [r for _, r in sorted(risks.values(), key=lambda x: x[0])], files, inventory
    )


def load_methodology(config: Path | None = None) -> tuple[Methodology, Path]:
    """The methodology alone (closing a nonconformity needs only its closing statuses)."""
    path = risk_config_dir(config) / METHODOLOGY_FILE
    problems: list[str] = []
    methodology = _validate_doc(read_yaml(path, problems), Methodology, problems)
    if problems or methodology is None:
        raise ConfigError(problems or [f"{path}: empty"])
    return methodology, path
