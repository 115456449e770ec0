"""Reading configuration files (inventory, policies, register) with every problem listed.

Each problem names the file, the path inside the document, the value and what was expected, and a
file reports all its problems at once: whoever fixes a config should not have to run it once per typo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


def location(loc: Sequence[Any]) -> str:
    """``("datasets", 2, "columns")`` -> ``datasets[2].columns``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "<root>"


def describe(path: Path, err: Mapping[str, Any], prefix: Sequence[Any] = ()) -> str:
    """One pydantic error as ``file: path: value ...: what was expected``."""
    where = location((*prefix, *err["loc"]))
    if err["type"] == "missing":
        return f"{path}: {where}: value <missing>: expected this key to be set"
    shown = repr(err.get("input"))[:120]
    if err["type"] == "extra_forbidden":
        return f"{path}: {where}: value {shown}: unknown key"
    msg = str(err["msg"]).removeprefix("Value error, ").replace("Input should be ", "expected ", 1)
    return f"{path}: {where}: value {shown}: {msg}"


def read_yaml(path: Path, problems: list[str]) -> Any:
    """The document (``{}`` for an empty file), or None after recording why it cannot be read."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: e.g. an impossible date such as 2027-02-30
        problems.append(f"{path}: not valid YAML: {exc}")
    else:
        return {} if doc is None else doc
    return None


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """A YAML file whose top level must be a mapping; raises :class:`ConfigError` otherwise."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        got = "an empty file" if doc is None else type(doc).__name__
        raise ConfigError([f"{path}: <root>: value {got}: expected a mapping with {what}"])
    return doc


def load_model(path: Path, model: type[M], what: str) -> M:
    """Read ``path`` and validate it as ``model``, raising :class:`ConfigError` with every problem."""
    doc = read_mapping(path, what)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise ConfigError([describe(path, e) for e in exc.errors()]) from None
