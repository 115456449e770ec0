"""The sidecar: a small YAML file beside a dropped document that says what the document evidences.

``<document file name>.evidence.yaml`` (``ai-policy.pdf`` -> ``ai-policy.pdf.evidence.yaml``)::

    title: AI policy
    owner: aims-manager@example.com        # a role mailbox (or a name): who answers for the document
    controls: [A.2.2, A.2.4]               # Annex A ids or clauses (docs/controls.md)
    valid_from: 2026-01-01                 # or `period: 2026` in the period syntax, not both
    valid_to: 2026-12-31                   # optional: open-ended until a new version supersedes it
    review_date: 2027-01-15                # a document past it makes its controls stale
    ai_system: loan_approval               # optional: an id of include/config/ai_systems.yaml
    version: "1.3"                         # optional, as the document names itself

It is read strictly, like every configuration file (:mod:`aimsflow.configfile`): a key given twice
(PyYAML would keep the last one silently) and a key YAML 1.1 reads as a boolean are errors with their
position; so are anchors and aliases (:class:`~aimsflow.configfile.NoAliasLoader`: an alias bomb of a
few lines would expand to billions of nodes). Dates are read as text and checked by their field, so
that an impossible one (``2026-02-30``) names its field. Every problem names file, line, column,
field and value, and all of a file's problems are reported at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from aimsflow.configfile import (
    ConfigError,
    Document,
    NoAliasLoader,
    StrictLoader,
    describe,
    did_you_mean,
    read_mapping,
)
from aimsflow.evidence.controls import canonical_control, ordered_controls, validate_controls
from aimsflow.periods import parse_period

SIDECAR_SUFFIX = ".evidence.yaml"
#: A sidecar is a few lines; anything larger is not one (and is not parsed).
MAX_SIDECAR_BYTES = 64 * 1024
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """A calendar date, written ``YYYY-MM-DD`` (YAML reads it as a date; a quoted one is accepted
    too). A timestamp, a number or any other spelling is refused rather than guessed."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date as YYYY-MM-DD, not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"expected a date as YYYY-MM-DD: {exc}") from None
    raise ValueError("expected a date as YYYY-MM-DD")


def _one_line(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("expected a non-empty text")
    if "\n" in value or "\r" in value:
        raise ValueError("expected one line")
    return value


def _control(value: str) -> str:
    return canonical_control(value)  # UnknownControlError (a ValueError) with the nearest ids


def _period_text(value: Any) -> Any:
    """``period: 2026`` is a number to YAML and ``period: 2026-11-25`` a date: both are period labels."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _period(value: str | None) -> str | None:
    if value is not None:
        parse_period(value)  # ValueError naming the value and the syntax
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
OneLine = Annotated[str, AfterValidator(_one_line)]


class Sidecar(BaseModel):
    """What a dropped document evidences, for whom, and for how long."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="ManualEvidenceSidecar")

    title: OneLine = Field(max_length=200, description="the document's title; a new version keeps it")
    owner: OneLine = Field(
        max_length=200,
        description="who answers for the document: a role mailbox (aims-manager@example.com) or a name; "
        "recorded as given",
    )
    controls: list[Annotated[str, AfterValidator(_control)]] = Field(
        min_length=1,
        description="ISO/IEC 42001 Annex A ids (A.2.2) or clauses (7.5.3) it evidences",
        json_schema_extra={"items": {"enum": ordered_controls()}},
    )
    period: Annotated[str | None, BeforeValidator(_period_text), AfterValidator(_period)] = Field(
        default=None,
        description="the validity in the period syntax (2026, 2026-Q1, 2026-01..2026-06); "
        "instead of valid_from/valid_to",
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    )
    valid_from: IsoDate | None = Field(default=None, description="first day the document is in force")
    valid_to: IsoDate | None = Field(
        default=None, description="last day it is in force (inclusive); empty: until superseded"
    )
    review_date: IsoDate = Field(description="when it must be reviewed: past it, its controls are stale")
    ai_system: str | None = Field(
        default=None, description="the AI system it is about (an id of ai_systems.yaml); empty: the AIMS"
    )
    version: OneLine | None = Field(default=None, max_length=50, description="the document's own version")

    @property
    def validity(self) -> tuple[dt.date | None, dt.date | None]:
        """(first day, last day or None): from ``period`` or from ``valid_from``/``valid_to``."""
        if self.period is not None:
            p = parse_period(self.period)
            return p.start.date(), (p.end - dt.timedelta(days=1)).date()
        return self.valid_from, self.valid_to

    @property
    def sorted_controls(self) -> tuple[str, ...]:
        return validate_controls(self.controls)

    def metadata(self) -> dict[str, Any]:
        """The fields a record's summary carries (dates as ISO text), validity resolved."""
        first, last = self.validity
        return {
            "title": self.title,
            "owner": self.owner,
            "controls": list(self.sorted_controls),
            "valid_from": first.isoformat() if first else None,
            "valid_to": last.isoformat() if last else None,
            "review_date": self.review_date.isoformat(),
            "ai_system": self.ai_system,
            "version": self.version,
        }


def cross_problems(
    values: Mapping[str, Any], ai_systems: Iterable[str]
) -> list[tuple[tuple[str, ...], Any, str]]:
    """The checks across fields and against the catalog, on the fields that are valid on their own
    (``values``; a field that is absent or invalid there is not judged again): ``(location, value,
    what is wrong)``. Run on a bad sidecar too, so that all of its problems are told at once."""
    out: list[tuple[tuple[str, ...], Any, str]] = []
    period, first, last = values.get("period"), values.get("valid_from"), values.get("valid_to")
    review = values.get("review_date")
    if period is not None and (first is not None or last is not None):
        out.append((("period",), period, "give period or valid_from/valid_to, not both"))
    elif period is None and first is None and not {"valid_from", "period"} & set(values.get("_invalid", ())):
        what = "valid_to without valid_from" if last is not None else "no validity"
        out.append((("valid_from",), None, f"{what}: expected valid_from (and valid_to) or period"))
    if period is not None and first is None and last is None:
        p = parse_period(period)
        first, last = p.start.date(), (p.end - dt.timedelta(days=1)).date()
    elif first is not None and last is not None and last < first:
        out.append((("valid_to",), last, f"before valid_from {first.isoformat()}"))
    if first is not None and review is not None and review < first:
        where = "period" if period is not None else "valid_from"
        out.append(
            (
                ("review_date",),
                review,
                f"before {where} {first.isoformat()}: a document is reviewed after it takes effect",
            )
        )
    known = sorted(ai_systems)
    ai_system = values.get("ai_system")
    if ai_system is not None and ai_system not in known:
        hint = did_you_mean(ai_system, known)
        out.append(
            (
                ("ai_system",),
                ai_system,
                f"unknown AI system{hint}; the catalog (ai_systems.yaml) lists {known}",
            )
        )
    return out


@functools.cache
def _field_adapters() -> dict[str, TypeAdapter]:
    """One validator per field, so that the fields of a bad sidecar that are valid on their own can
    still be checked against each other."""
    out = {}
    for name, info in Sidecar.model_fields.items():
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        out[name] = TypeAdapter(kind)
    return out


def _valid_fields(data: Mapping[str, Any], invalid: set[str]) -> dict[str, Any]:
    adapters = _field_adapters()
    values: dict[str, Any] = {"_invalid": invalid}
    for name, value in data.items():
        if name in adapters and name not in invalid:
            try:
                values[name] = adapters[name].validate_python(value)
            except ValidationError:
                invalid.add(name)
    return values


class _SidecarLoader(NoAliasLoader):
    """Dates stay text, so that an impossible one (``2026-02-30``) is refused by the field's own
    validator, naming the field, rather than by YAML with a position alone."""


_SidecarLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_str)


@dataclass(frozen=True)
class Loaded:
    """A sidecar that loaded (``sidecar``), or the problems that stopped it (``problems``); ``partial``
    holds what could be read of a bad one (its controls when they were valid, its AI system), so an
    ``error`` record names what it can."""

    sidecar: Sidecar | None
    problems: list[str]
    partial: dict[str, Any]


def sidecar_name(document: str) -> str:
    return document + SIDECAR_SUFFIX


def document_name(sidecar: str) -> str:
    return sidecar.removesuffix(SIDECAR_SUFFIX)


def load_sidecar(path: Path, ai_systems: Sequence[str], data: bytes | None = None) -> Loaded:
    """Read and validate the sidecar at ``path`` against the catalog's AI system ids; never raises
    for a bad file (its problems are returned, each ``file:line:column: field: value ...: why``).
    ``data``: the sidecar's bytes as the caller read them (the job reads a drop's files once, without
    following a link, and parses exactly what it hashes and stores); ``path`` then only names it."""
    path = Path(path)
    try:
        size = path.stat().st_size if data is None else len(data)
    except OSError as exc:
        return Loaded(None, [f"{path}: cannot be read: {exc.strerror or exc}"], {})
    if size > MAX_SIDECAR_BYTES:
        return Loaded(
            None, [f"{path}: {size} bytes: a sidecar is a few lines (at most {MAX_SIDECAR_BYTES} bytes)"], {}
        )
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        return Loaded(None, [f"{path}: cannot be read as UTF-8 text: {exc}"], {})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Loaded(None, [f"{path}: cannot be read as UTF-8 text: {exc}"], {})
    try:
        doc = read_mapping(
            path, "title, owner, controls, validity and review_date", _SidecarLoader, text=text
        )
    except ConfigError as exc:
        return Loaded(None, list(exc.problems), {})
    sidecar: Sidecar | None = None
    try:
        sidecar = Sidecar.model_validate(doc.data)
        problems: list[str] = []
        values: dict[str, Any] = dict(sidecar)
    except ValidationError as exc:
        problems = [describe(doc, e) for e in exc.errors()]
        values = _valid_fields(doc.data, {str(e["loc"][0]) for e in exc.errors() if e["loc"]})
    problems += [_where(doc, loc, value, text) for loc, value, text in cross_problems(values, ai_systems)]
    return Loaded(None if problems else sidecar, problems, _partial(doc, ai_systems))


def _where(doc: Document, loc: tuple[str, ...], value: Any, text: str) -> str:
    shown = "<missing>" if value is None else repr(value.isoformat() if isinstance(value, dt.date) else value)
    return f"{doc.where(loc)}: value {shown}: {text}"


def _partial(doc: Document, ai_systems: Sequence[str]) -> dict[str, Any]:
    """What a bad sidecar still says reliably: its controls when every one is valid, its title, and
    its AI system when the catalog knows it."""
    data = doc.data if isinstance(doc.data, dict) else {}
    out: dict[str, Any] = {}
    controls = data.get("controls")
    if isinstance(controls, list) and controls and all(isinstance(c, str) for c in controls):
        try:
            out["controls"] = list(validate_controls(canonical_control(c) for c in controls))
        except ValueError:
            pass
    if isinstance(data.get("title"), str) and data["title"].strip():
        out["title"] = data["title"].strip()
    if isinstance(data.get("ai_system"), str) and data["ai_system"] in ai_systems:
        out["ai_system"] = data["ai_system"]
    return out
