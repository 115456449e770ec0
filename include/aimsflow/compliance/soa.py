"""The Statement of Applicability (ISO/IEC 42001 6.1.3 d): ``<config>/soa.yaml``.

Every one of the 38 Annex A controls is listed, applicable or excluded, each with the justification
the standard asks for. An applicable control says how it is evidenced, and how fresh that evidence
must be (``max_age_days``):

* ``checks``: declared check ids or globs (``python -m aimsflow.jobs``); records of those checks that
  name the control are its evidence. Each listed check (or glob: any check it matches) must have a
  passing record within ``max_age_days`` (an entry ``{check, max_age_days}`` sets its own);
* ``manual: true``: documents (the AI policy, impact assessments, supplier agreements) ingested by
  the ``manual_evidence`` DAG as ``manual_evidence/document`` records naming the control; a document
  is stale once older than ``max_age_days`` or past its own review date.

Management-system clauses (``7.5.3``, ``9.1`` ...) may be listed too, to give them a cadence (the risk
register's control signals read it); they cannot be excluded.

Problems are reported all at once, each naming file, line, place and value: an unknown control (with
the nearest ids), a missing one, one given twice (the strict loader refuses a repeated key; PyYAML
would keep the last silently), an applicable control without evidence, a check no job declares or
whose records never name the control, an exclusion without justification.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aimsflow.configfile import ConfigError, Document, config_path, describe, did_you_mean, read_mapping
from aimsflow.evidence.controls import ANNEX_A, CLAUSES, CONTROLS, ordered_controls

SOA_FILE = "soa.yaml"
#: The check of manually ingested documents (declared by the ``manual_evidence`` job).
MANUAL_CHECK = "manual_evidence/document"
_CHECK_PATTERN = r"^[A-Za-z0-9_.*?/\[\]-]+$"

MaxAge = Annotated[int, Field(ge=1, le=3660, description="days: how old the latest passing evidence may be")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRef(_Model):
    """A check (or glob) with a freshness of its own, e.g. a weekly job beside daily ones."""

    check: str = Field(pattern=_CHECK_PATTERN, description="declared check id or glob")
    max_age_days: MaxAge


CheckEntry = Annotated[str, Field(pattern=_CHECK_PATTERN)] | CheckRef


class ControlEntry(_Model):
    """One control's line in the Statement of Applicability."""

    applicable: bool
    justification: str = Field("", description="why the control is included or excluded (6.1.3 d)")
    implementation: str = Field("", description="how it is implemented; for manual evidence, which documents")
    checks: list[CheckEntry] = Field(
        default_factory=list, description="declared check ids or globs whose records evidence the control"
    )
    manual: bool = Field(False, description="evidenced by documents ingested as manual_evidence/document")
    max_age_days: MaxAge | None = None


class SoaDocument(_Model):
    """The Statement of Applicability: every Annex A control, applicable or excluded."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="StatementOfApplicability")
    version: Literal[1]
    scope: str = Field(min_length=1, description="the AIMS scope this SoA belongs to (clause 4.3)")
    approved_by: str = Field(min_length=1)
    approved_on: dt.date
    controls: dict[str, ControlEntry]


# --- the loaded SoA ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One listed check (or glob) of a control: the declared checks it matches and how fresh its
    passing evidence must be."""

    pattern: str
    max_age_days: int
    matches: tuple[str, ...]

    def covers(self, check: str) -> bool:
        return fnmatch.fnmatchcase(check, self.pattern)


@dataclass(frozen=True)
class SoaControl:
    id: str
    title: str
    kind: Literal["annex_a", "clause"]
    applicable: bool
    justification: str
    implementation: str
    requirements: tuple[Requirement, ...]
    manual: bool
    max_age_days: int | None

    @property
    def checks(self) -> tuple[str, ...]:
        """The listed check ids and globs, as written."""
        return tuple(r.pattern for r in self.requirements)

    @property
    def evidenced_by(self) -> str:
        if not self.applicable:
            return "excluded"
        return "manual" if self.manual else ", ".join(self.checks)


@dataclass(frozen=True)
class Soa:
    path: Path
    scope: str
    approved_by: str
    approved_on: dt.date
    controls: dict[str, SoaControl]  # clauses first, then Annex A, each in numeric order

    def control(self, control_id: str) -> SoaControl | None:
        return self.controls.get(control_id)

    def max_age_days(self, control_id: str) -> int | None:
        """The control's cadence (None when the SoA does not list it, or excludes it)."""
        entry = self.controls.get(control_id)
        return entry.max_age_days if entry is not None and entry.applicable else None

    @property
    def annex_a(self) -> list[SoaControl]:
        return [c for c in self.controls.values() if c.kind == "annex_a"]

    def counts(self) -> dict[str, int]:
        """Annex A controls by how they are treated."""
        rows = self.annex_a
        return {
            "annex_a": len(rows),
            "applicable": sum(c.applicable for c in rows),
            "excluded": sum(not c.applicable for c in rows),
            "manual": sum(c.applicable and c.manual for c in rows),
            "job_evidenced": sum(c.applicable and not c.manual for c in rows),
        }


# --- validation --------------------------------------------------------------------------------


def _declared() -> dict[str, tuple[str, ...]]:
    """Declared check id -> the controls its records may name."""
    from aimsflow.jobs import all_checks

    return {c.id: c.controls for c in all_checks()}


def _control_problems(
    doc: Document, cid: str, entry: ControlEntry, declared: dict[str, tuple[str, ...]]
) -> list[str]:
    problems: list[str] = []

    def at(*field: Any, value: Any = None, expected: str) -> None:
        loc = ("controls", cid, *field)
        problems.append(f"{doc.where(loc)}: value {repr(value)[:120]}: {expected}")

    clause = cid in CLAUSES
    if not entry.applicable:
        if clause:
            at(
                "applicable",
                value=False,
                expected="a management-system clause cannot be excluded "
                "(clauses 4 to 10 are requirements); only Annex A controls may be",
            )
        if not entry.justification.strip():
            at(
                "justification",
                value=entry.justification or None,
                expected="an excluded control needs a "
                "justification (ISO/IEC 42001 6.1.3 d): why the control is not necessary",
            )
        listed = [f for f in ("checks", "manual", "max_age_days") if f in entry.model_fields_set]
        if listed:
            at(
                listed[0],
                value=getattr(entry, listed[0]),
                expected=f"an excluded control has no evidence: remove {', '.join(listed)}",
            )
        return problems
    if not entry.justification.strip():
        at(
            "justification",
            value=entry.justification or None,
            expected="an applicable control needs the "
            "justification for its inclusion (ISO/IEC 42001 6.1.3 d)",
        )
    if not entry.checks and not entry.manual:
        at(
            value=entry.model_dump(exclude_defaults=True),
            expected="an applicable control needs evidence: "
            "`checks` (declared check ids or globs, `python -m aimsflow.jobs`) or `manual: true` "
            "(documents ingested by the manual_evidence DAG)",
        )
    if entry.checks and entry.manual:
        at("manual", value=True, expected="give either `checks` or `manual: true`, not both")
    if entry.max_age_days is None and (entry.checks or entry.manual):
        at(
            value=entry.model_dump(exclude_defaults=True),
            expected="an applicable control needs `max_age_days`: how old its latest passing evidence may be",
        )
    seen: set[str] = set()
    for n, item in enumerate(entry.checks):
        pattern = item if isinstance(item, str) else item.check
        where = ("checks", n) if isinstance(item, str) else ("checks", n, "check")
        if pattern in seen:
            at(*where, value=pattern, expected="listed twice for this control")
            continue
        seen.add(pattern)
        if fnmatch.fnmatchcase(MANUAL_CHECK, pattern) and "*" not in pattern:
            at(*where, value=pattern, expected="documents are declared with `manual: true`, not as a check")
            continue
        matches = [c for c in declared if fnmatch.fnmatchcase(c, pattern) and c != MANUAL_CHECK]
        if not matches:
            at(
                *where,
                value=pattern,
                expected="matches no check a job declares"
                f"{did_you_mean(pattern, sorted(declared))}; declared checks: `python -m aimsflow.jobs`",
            )
        elif not any(cid in declared[c] for c in matches):
            named = "; ".join(f"{c}: {', '.join(declared[c])}" for c in matches)
            at(
                *where,
                value=pattern,
                expected=f"no check it matches declares {cid}, so their records never name it ({named})",
            )
    return problems


def _requirements(
    entry: ControlEntry, cid: str, declared: dict[str, tuple[str, ...]]
) -> tuple[Requirement, ...]:
    out = []
    for item in entry.checks:
        pattern, days = (
            (item, entry.max_age_days) if isinstance(item, str) else (item.check, item.max_age_days)
        )
        matches = tuple(c for c in sorted(declared) if fnmatch.fnmatchcase(c, pattern) and cid in declared[c])
        out.append(Requirement(pattern, int(days or 0), matches))
    return tuple(out)


def validate_soa(doc: Document) -> Soa:
    """The SoA in ``doc``, or :class:`ConfigError` with every problem."""
    problems: list[str] = []
    data = dict(doc.data)
    raw = data.get("controls")
    if isinstance(raw, dict):
        keep = {}
        for key, value in raw.items():
            if isinstance(key, str):
                keep[key] = value
            else:
                problems.append(
                    f"{doc.where(('controls', key))}: value {key!r}: YAML reads this unquoted id as a "
                    f"{type(key).__name__}: quote it ('{key}')"
                )
        data["controls"] = keep
    try:
        model = SoaDocument.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + [describe(doc, e) for e in exc.errors()]) from None
    declared = _declared()
    for cid, entry in model.controls.items():
        if cid not in CONTROLS:
            problems.append(
                f"{doc.where(('controls', cid))}: value {cid!r}: unknown control id{did_you_mean(cid, list(CONTROLS))}; "
                "expected an Annex A id (A.x.y) or a clause (`aimsflow evidence controls`)"
            )
            continue
        problems.extend(_control_problems(doc, cid, entry, declared))
    missing = [c for c in ANNEX_A if c not in model.controls]
    if missing:
        problems.append(
            f"{doc.where(('controls',))}: value {len(model.controls)} entries: missing Annex A control(s) "
            f"{', '.join(missing)}: the SoA lists all 38, each applicable or excluded with a justification"
        )
    if problems:
        raise ConfigError(problems)
    order = {c: i for i, c in enumerate(ordered_controls())}
    controls = {
        cid: SoaControl(
            id=cid,
            title=CONTROLS[cid],
            kind="annex_a" if cid in ANNEX_A else "clause",
            applicable=e.applicable,
            justification=e.justification.strip(),
            implementation=e.implementation.strip(),
            requirements=_requirements(e, cid, declared) if e.applicable else (),
            manual=e.manual,
            max_age_days=e.max_age_days if e.applicable else None,
        )
        for cid, e in sorted(model.controls.items(), key=lambda kv: order[kv[0]])
    }
    return Soa(doc.path, model.scope, model.approved_by, model.approved_on, controls)


def soa_path(config: Path | None = None) -> Path:
    return config_path(SOA_FILE, config=config)


def load_soa(config: Path | None = None) -> Soa:
    """``<config>/soa.yaml``, validated; raises :class:`ConfigError` with every problem."""
    return validate_soa(read_mapping(soa_path(config), "the Statement of Applicability (controls: ...)"))
