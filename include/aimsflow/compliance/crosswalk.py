"""The crosswalk: ISO/IEC 42001 controls and clauses mapped to other frameworks' items
(``<config>/crosswalk.yaml``).

One record, several frameworks: evidence is written once, naming ISO/IEC 42001 ids; a view per
framework (ISO/IEC 27001:2022 Annex A, EU AI Act articles, NIST AI RMF 1.0 subcategories) aggregates
the ISO controls mapped to each of its items. Every mapping names its source: a published crosswalk
declared under ``sources`` (title, publisher, year), or the declared ``own judgement``. A mapping is a
claim someone can check: no source, no mapping.

Problems are reported all at once, naming file, line, place and value: an unknown ISO control (with
the nearest ids), an unknown framework or framework item, an empty or undeclared source, an item
listed twice for one control, a key given twice (the strict loader refuses it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aimsflow.configfile import ConfigError, Document, config_path, describe, did_you_mean, read_mapping
from aimsflow.evidence.controls import CONTROLS, ordered_controls

CROSSWALK_FILE = "crosswalk.yaml"
#: The framework of the records themselves: its items are the controls and clauses of controls.py.
BASE = "iso42001"
BASE_TITLE = "ISO/IEC 42001:2023"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """Where mappings come from: a published crosswalk, or the maintainers' own judgement."""

    kind: Literal["published", "own_judgement"]
    title: str = Field(min_length=1)
    publisher: str | None = None
    year: int | None = Field(None, ge=1990, le=2100)
    url: str | None = None
    note: str = ""


class Framework(_Model):
    title: str = Field(min_length=1)
    items: dict[str, str] = Field(min_length=1, description="item id -> title")


class Mapping(_Model):
    """Items of one framework an ISO control maps to, and the source that says so."""

    framework: str = Field(min_length=1)
    items: list[str] = Field(min_length=1)
    source: str = Field(description="a key of `sources`")
    note: str = ""


class CrosswalkDocument(_Model):
    """ISO/IEC 42001 controls and clauses mapped to other frameworks, each mapping with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Crosswalk")
    version: Literal[1]
    sources: dict[str, Source] = Field(min_length=1)
    frameworks: dict[str, Framework] = Field(min_length=1)
    mappings: dict[str, list[Mapping]]


# --- the loaded crosswalk ----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One ISO control -> one framework item, with its source."""

    control: str
    framework: str
    item: str
    source: str
    published: bool


@dataclass(frozen=True)
class Crosswalk:
    path: Path
    sources: dict[str, Source]
    frameworks: dict[str, Framework]
    links: tuple[Link, ...]

    @property
    def names(self) -> list[str]:
        """Every framework a view can be asked for: the base first."""
        return [BASE, *self.frameworks]

    def title(self, framework: str) -> str:
        return BASE_TITLE if framework == BASE else self.frameworks[framework].title

    def item_title(self, framework: str, item: str) -> str:
        return CONTROLS[item] if framework == BASE else self.frameworks[framework].items[item]

    def items(self, framework: str) -> dict[str, list[Link]]:
        """Item -> the links to it (the ISO controls that map to it), in the framework's own order;
        items nothing maps to are left out."""
        if framework not in self.frameworks:
            raise KeyError(f"unknown framework {framework!r}; expected one of {self.names}")
        grouped: dict[str, list[Link]] = defaultdict(list)
        for link in self.links:
            if link.framework == framework:
                grouped[link.item].append(link)
        return {item: grouped[item] for item in self.frameworks[framework].items if item in grouped}

    def of_control(self, control: str) -> list[Link]:
        return [link for link in self.links if link.control == control]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per framework: links, distinct items and ISO controls mapped, and how many links cite a
        published source versus own judgement."""
        out = {}
        for name in self.frameworks:
            links = [link for link in self.links if link.framework == name]
            out[name] = {
                "links": len(links),
                "items": len({link.item for link in links}),
                "controls": len({link.control for link in links}),
                "published": sum(link.published for link in links),
                "own_judgement": sum(not link.published for link in links),
            }
        return out


def validate_crosswalk(doc: Document) -> Crosswalk:
    """The crosswalk in ``doc``, or :class:`ConfigError` with every problem."""
    problems: list[str] = []
    data = dict(doc.data)
    raw = data.get("mappings")
    if isinstance(raw, dict):
        keep = {}
        for key, value in raw.items():
            if isinstance(key, str):
                keep[key] = value
            else:
                problems.append(
                    f"{doc.where(('mappings', key))}: value {key!r}: YAML reads this unquoted id as a "
                    f"{type(key).__name__}: quote it ('{key}')"
                )
        data["mappings"] = keep
    try:
        model = CrosswalkDocument.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + [describe(doc, e) for e in exc.errors()]) from None

    def at(loc: tuple, value: object, expected: str) -> None:
        problems.append(f"{doc.where(loc)}: value {repr(value)[:120]}: {expected}")

    if BASE in model.frameworks:
        at(("frameworks", BASE), BASE, "the records' own framework is built in (controls.py); remove it")
    for sid, source in model.sources.items():
        if source.kind == "published" and not (source.publisher and source.year):
            at(("sources", sid), source.title, "a published source names its publisher and year")
    links: list[Link] = []
    order = {c: i for i, c in enumerate(ordered_controls())}
    for control, rows in sorted(model.mappings.items(), key=lambda kv: order.get(kv[0], len(order))):
        if control not in CONTROLS:
            at(
                ("mappings", control),
                control,
                f"unknown ISO/IEC 42001 control id{did_you_mean(control, list(CONTROLS))}; "
                "expected an Annex A id (A.x.y) or a clause (`aimsflow evidence controls`)",
            )
            continue
        seen: set[tuple[str, str]] = set()
        for n, row in enumerate(rows):
            loc = ("mappings", control, n)
            framework = model.frameworks.get(row.framework)
            if framework is None:
                at(
                    (*loc, "framework"),
                    row.framework,
                    f"unknown framework{did_you_mean(row.framework, list(model.frameworks))}; "
                    f"expected one of {sorted(model.frameworks)}",
                )
            source = model.sources.get(row.source)
            if not row.source.strip():
                at(
                    (*loc, "source"),
                    row.source,
                    "every mapping cites its source (a published crosswalk, or "
                    "own judgement): declare it under `sources`",
                )
            elif source is None:
                at(
                    (*loc, "source"),
                    row.source,
                    f"undeclared source{did_you_mean(row.source, list(model.sources))}; "
                    f"expected one of {sorted(model.sources)}",
                )
            if framework is None:
                continue
            for i, item in enumerate(row.items):
                if item not in framework.items:
                    at(
                        (*loc, "items", i),
                        item,
                        f"not an item of {row.framework}"
                        f"{did_you_mean(item, list(framework.items))}; add it with its title under frameworks.{row.framework}.items",
                    )
                elif (row.framework, item) in seen:
                    at((*loc, "items", i), item, f"{row.framework} {item} is mapped twice for {control}")
                else:
                    seen.add((row.framework, item))
                    if source is not None:
                        links.append(
                            Link(control, row.framework, item, row.source, source.kind == "published")
                        )
    if problems:
        raise ConfigError(problems)
    return Crosswalk(doc.path, dict(model.sources), dict(model.frameworks), tuple(links))


def crosswalk_path(config: Path | None = None) -> Path:
    return config_path(CROSSWALK_FILE, config=config)


def load_crosswalk(config: Path | None = None) -> Crosswalk:
    """``<config>/crosswalk.yaml``, validated; raises :class:`ConfigError` with every problem."""
    return validate_crosswalk(
        read_mapping(crosswalk_path(config), "the crosswalk (sources, frameworks, mappings)")
    )
