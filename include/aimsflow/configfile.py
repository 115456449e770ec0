"""Reading configuration files (inventory, policies, register) strictly, with every problem listed.

Each problem names the file, the line and column, the path inside the document, the value and what
was expected (``datasets.yaml:12:7: datasets[1].role: value 'training': expected ...``), and a file
reports all its problems at once: whoever fixes a config should not have to run it once per typo.

YAML is read more strictly than by ``yaml.safe_load``:

* a key given twice in one mapping is an error (PyYAML keeps the last silently, so a duplicated
  field in the risk register would be an unnoticed edit);
* a key YAML 1.1 reads as a boolean (``on:``, ``yes:``, ``off:``) is an error that says so, and a
  value it reads as a boolean (``no``) where the model wanted something else gets the same hint;
* an impossible date (``2027-02-30``) is a YAML error with its position, not a bare ``ValueError``.

Positions come from the composed node tree (the loader keeps each node's mark); pydantic's error
locations are mapped back to them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from aimsflow import settings

M = TypeVar("M", bound=BaseModel)
Loc = tuple[Any, ...]

_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


class ConfigError(ValueError):
    """A configuration file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


def config_path(*parts: str, config: Path | None = None) -> Path:
    """A configuration file (or folder) under the config folder — ``config`` if given, else
    ``AIMSFLOW_CONFIG_DIR`` — e.g. ``config_path("policies", "drift.yaml")``: the one way every
    loader and job finds its file."""
    return (config or settings.config_dir()).joinpath(*parts)


def location(loc: Sequence[Any]) -> str:
    """``("datasets", 2, "columns")`` -> ``datasets[2].columns``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "<root>"


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, and the position of every key and list item in it."""

    path: Path
    data: Any
    #: location -> (line, column), 1-based: of the key for a mapping entry, of the item for a list item.
    marks: Mapping[Loc, tuple[int, int]] = field(default_factory=dict, repr=False)
    #: locations of unquoted values YAML 1.1 read as booleans although not written true/false -> text.
    yaml11_bools: Mapping[Loc, str] = field(default_factory=dict, repr=False)

    def position(self, loc: Sequence[Any]) -> tuple[int, int]:
        """The position of ``loc``, or of its deepest ancestor the document has. Parts the document
        does not have are skipped: pydantic puts a union member's name (``AtMost``) into the location,
        and a missing key is, by definition, not in the file (its mapping's position is given)."""
        best, current = self.marks.get((), (1, 1)), ()
        for part in loc:
            candidate = (*current, part)
            if candidate in self.marks:
                current, best = candidate, self.marks[candidate]
        return best

    def where(self, loc: Sequence[Any]) -> str:
        """``file:line:column: path.in[0].document``."""
        line, column = self.position(loc)
        return f"{self.path}:{line}:{column}: {location(loc)}"


def _yaml11_hint(doc: Document, loc: Loc, value: Any) -> str:
    text = doc.yaml11_bools.get(loc)
    if isinstance(value, bool) and text is not None:
        return f" (YAML 1.1 reads the unquoted {text!r} as {value}: quote it)"
    return ""


def describe(source: Document | Path, err: Mapping[str, Any], prefix: Sequence[Any] = ()) -> str:
    """One pydantic error as ``file:line:column: path: value ...: what was expected``.

    ``source`` is the document the error is about; a bare path (no document, so no position) gives
    ``file: path: ...``."""
    loc = (*prefix, *err["loc"])
    if isinstance(source, Document):
        where = source.where(loc)
        hint = _yaml11_hint(source, loc, err.get("input"))
    else:
        where, hint = f"{source}: {location(loc)}", ""
    if err["type"] == "missing":
        return f"{where}: value <missing>: expected this key to be set"
    shown = repr(err.get("input"))[:120]
    if err["type"] == "extra_forbidden":
        return f"{where}: value {shown}: unknown key"
    msg = str(err["msg"]).removeprefix("Value error, ").replace("Input should be ", "expected ", 1)
    return f"{where}: value {shown}: {msg}{hint}"


# --- the strict loader --------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader whose constructors' value errors are YAML errors with a position: PyYAML raises a
    bare ``ValueError`` for an impossible date such as ``2027-02-30`` (or ``0x_``), naming neither
    file nor line."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"invalid value {node.value!r}: {exc}", node.start_mark
            ) from None


class NoAliasLoader(StrictLoader):
    """A :class:`StrictLoader` that refuses anchors and aliases, for files people other than the
    maintainers write (the manual evidence sidecars): an alias bomb of a few lines would expand to
    billions of nodes. Refused while composing, before anything is expanded."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(
                None,
                None,
                "anchors and aliases (& and *) are not allowed in this file: write each value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _pos(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


@dataclass
class _Walk:
    """One pass over the composed nodes: positions, YAML 1.1 booleans and strictness problems."""

    loader: StrictLoader
    path: Path
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    yaml11_bools: dict[Loc, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _checked: set[int] = field(default_factory=set)

    def at(self, pos: tuple[int, int], loc: Loc) -> str:
        return f"{self.path}:{pos[0]}:{pos[1]}: {location(loc)}"

    def node(self, node: Node, loc: Loc, ancestors: frozenset[int]) -> None:
        if id(node) in ancestors:  # an alias of an enclosing node: a recursive structure
            return
        ancestors = ancestors | {id(node)}
        if isinstance(node, ScalarNode):
            if node.tag == _BOOL and node.style is None and node.value.lower() not in ("true", "false"):
                self.yaml11_bools[loc] = node.value
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.marks.setdefault((*loc, index), _pos(item))
                self.node(item, (*loc, index), ancestors)
        elif isinstance(node, MappingNode):
            self.mapping(node, loc, ancestors)

    def mapping(self, node: MappingNode, loc: Loc, ancestors: frozenset[int]) -> None:
        first_check = id(node) not in self._checked  # an aliased mapping is checked once
        self._checked.add(id(node))
        seen: dict[Any, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                continue  # `<<: *defaults` may override; complex keys fail in construction
            key = self.loader.construct_object(key_node)
            pos, here = _pos(key_node), (*loc, key)
            if first_check and key_node.tag == _BOOL:
                self.problems.append(
                    f"{self.at(pos, (*loc, key_node.value))}: key {key_node.value!r} is read by YAML 1.1 "
                    f"as the boolean {key}: quote it ({key_node.value!r}) or use another name"
                )
            elif first_check and key in seen:
                line, column = seen[key]
                self.problems.append(
                    f"{self.at(pos, here)}: duplicate key {key_node.value!r}, first given at line {line}, "
                    f"column {column}: a key may appear once in a mapping (the last one would silently win)"
                )
            seen.setdefault(key, pos)
            self.marks.setdefault(here, pos)
            self.node(value_node, here, ancestors)


def _syntax_problem(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        problem += f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    elif context:
        problem += f" ({context})"
    return f"{where}: not valid YAML: {problem}"


def load_document(
    path: Path, loader_class: type[StrictLoader] = StrictLoader, *, text: str | None = None
) -> Document:
    """Read ``path`` strictly; raises :class:`ConfigError` with every problem found in it. The data
    of an empty (or comment-only) file is None. ``loader_class``: a :class:`StrictLoader` with other
    constructors (the sidecar's keeps dates as text, so that an impossible one names its field).
    ``text``: the file's content as the caller read it (then ``path`` only names it in messages)."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: file not found"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: cannot be read: {exc}"]) from None
    loader = loader_class(text)
    loader.name = str(path)  # marks (and so PyYAML's own messages) name the file
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(path, None, {(): (1, 1)})
        walk = _Walk(loader, path, marks={(): _pos(root)})
        walk.node(root, (), frozenset())
        if walk.problems:
            raise ConfigError(walk.problems)
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_problem(path, exc)]) from None
    finally:
        loader.dispose()
    return Document(path, data, walk.marks, walk.yaml11_bools)


def read_yaml(path: Path, problems: list[str]) -> Document | None:
    """The document (data ``{}`` for an empty file), or None after recording why it cannot be read."""
    try:
        doc = load_document(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    return doc if doc.data is not None else Document(doc.path, {}, doc.marks)


def read_mapping(
    path: Path, what: str, loader_class: type[StrictLoader] = StrictLoader, *, text: str | None = None
) -> Document:
    """A YAML file whose top level must be a mapping; raises :class:`ConfigError` otherwise."""
    doc = load_document(path, loader_class, text=text)
    if not isinstance(doc.data, dict):
        got = "an empty file" if doc.data is None else type(doc.data).__name__
        raise ConfigError([f"{doc.where(())}: value {got}: expected a mapping with {what}"])
    return doc


def load_model(path: Path, model: type[M], what: str) -> M:
    """Read ``path`` and validate it as ``model``, raising :class:`ConfigError` with every problem."""
    doc = read_mapping(path, what)
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError([describe(doc, e) for e in exc.errors()]) from None


def did_you_mean(text: str, choices: Sequence[str]) -> str:
    """`` (did you mean A, B?)`` with the nearest of ``choices``, or nothing: the hint every refusal of
    an unknown id gives."""
    near = difflib.get_close_matches(text, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""
