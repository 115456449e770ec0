"""Strict YAML for configuration: duplicate keys and YAML 1.1 booleans are errors, and every error
names file, line and column as well as the path inside the document."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from aimsflow.configfile import (
    ConfigError,
    config_path,
    load_document,
    load_model,
    read_mapping,
    read_yaml,
)
from tests.conftest import PROJECT

SHIPPED = PROJECT / "include" / "config"


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_document(path)
    return exc.value.problems


# --- duplicate keys -------------------------------------------------------------------------------


def test_duplicate_top_level_key(tmp_path):
    """Bug: PyYAML keeps the last of two equal keys silently, so a duplicated field (in the risk
    register, say) was an edit nobody saw."""
    path = _write(tmp_path, "a: 1\nb: 2\na: 3\n")
    assert _problems(path) == [
        f"{path}:3:1: a: duplicate key 'a', first given at line 1, column 1: a key may appear once "
        "in a mapping (the last one would silently win)"
    ]


def test_duplicate_nested_keys_are_all_listed(tmp_path):
    path = _write(
        tmp_path,
        "risks:\n"
        "  - id: R-1\n"
        "    likelihood: 2\n"
        "    impact: 3\n"
        "    likelihood: 4\n"
        "  - id: R-2\n"
        "    signals: {a: 1, b: 2, a: 3}\n",
    )
    problems = _problems(path)
    assert [p.split(": duplicate")[0] for p in problems] == [
        f"{path}:5:5: risks[0].likelihood",
        f"{path}:7:27: risks[1].signals.a",
    ]
    assert "first given at line 3, column 5" in problems[0]
    assert "first given at line 7, column 15" in problems[1]


def test_equal_keys_in_different_mappings_are_fine(tmp_path):
    path = _write(tmp_path, "a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\n")
    assert load_document(path).data == {"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 2}]}


def test_a_merge_key_may_be_overridden(tmp_path):
    """``<<: *defaults`` then a key of the defaults is YAML's way to override, not a duplicate."""
    path = _write(tmp_path, "base: &b {x: 1, y: 2}\nthis:\n  <<: *b\n  x: 5\n")
    doc = load_document(path)
    assert doc.data["this"] == {"x": 5, "y": 2}
    assert doc.position(("this", "x")) == (4, 3)


def test_a_duplicate_inside_an_aliased_mapping_is_reported_once(tmp_path):
    path = _write(tmp_path, "l:\n  - &m {k: 1, k: 2}\n  - *m\n")
    assert len(_problems(path)) == 1


# --- YAML 1.1 booleans ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["on", "off", "yes", "no", "On", "true"])
def test_a_key_yaml_reads_as_a_boolean_is_an_error(tmp_path, key):
    """The ``on:`` trap: YAML 1.1 reads the key ``on`` as the boolean true (an acceptance block's
    ``on: 2026-09-15`` once failed with "Keys should be strings"); the loader says what happened."""
    path = _write(tmp_path, f"acceptance:\n  by: alice\n  {key}: 2026-09-15\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:3:3: acceptance.{key}: key {key!r} is read by YAML 1.1 as the boolean")
    assert f"quote it ({key!r})" in problem


def test_a_quoted_on_key_is_a_string(tmp_path):
    path = _write(tmp_path, "acceptance:\n  'on': 2026-09-15\n")
    assert list(load_document(path).data["acceptance"]) == ["on"]


class _Country(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str = ""


def test_a_value_yaml_reads_as_a_boolean_gets_a_hint(tmp_path):
    path = _write(tmp_path, "code: no\nname: Norway\n")
    with pytest.raises(ConfigError) as exc:
        load_model(path, _Country, "a country")
    [problem] = exc.value.problems
    assert problem.startswith(f"{path}:1:1: code: value False: expected a valid string")
    assert problem.endswith("(YAML 1.1 reads the unquoted 'no' as False: quote it)")


def test_a_written_false_gets_no_hint(tmp_path):
    path = _write(tmp_path, "code: false\n")
    with pytest.raises(ConfigError) as exc:
        load_model(path, _Country, "a country")
    assert "YAML 1.1" not in exc.value.problems[0]


# --- positions of validation errors ---------------------------------------------------------------


class _Bound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max: float = Field(le=1)


class _Floor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float = Field(ge=0)


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    size: int = Field(ge=1)
    bound: _Bound | _Floor | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[_Item]


DOC = """\
# a comment
items:
  - id: a
    size: 3
  - id: b
    size: 0
  - size: 2
  - id: d
    size: 1
    colour: red
  - {id: e, size: 1, bound: {max: 7}}
"""


@pytest.fixture
def problems(tmp_path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_model(_write(tmp_path, DOC), _File, "items")
    return exc.value.problems


def _at(problems: list[str], where: str) -> str:
    [hit] = [p for p in problems if f": {where}: " in p]
    return hit.split(": ")[0].rsplit("/", 1)[-1]


def test_a_bad_value_names_line_and_column_of_its_key(problems):
    assert _at(problems, "items[1].size") == "c.yaml:6:5"


def test_a_missing_key_names_its_mapping(problems):
    assert _at(problems, "items[2].id") == "c.yaml:7:5"


def test_an_unknown_key_names_itself(problems):
    assert _at(problems, "items[3].colour") == "c.yaml:10:5"


def test_a_union_member_name_in_the_location_is_skipped(problems):
    """pydantic puts the union member (``_Bound``) into the location; the position is still the key's."""
    assert _at(problems, "items[4].bound._Bound.max") == "c.yaml:11:30"
    assert _at(problems, "items[4].bound._Floor.max") == "c.yaml:11:30"  # unknown to that member
    assert _at(problems, "items[4].bound._Floor.min") == "c.yaml:11:22"  # missing: its mapping's key
    assert len(problems) == 6, problems


def test_a_prefix_locates_items_validated_one_by_one(tmp_path):
    doc = read_mapping(_write(tmp_path, DOC), "items")
    assert doc.where(("items", 3, "colour")) == f"{doc.path}:10:5: items[3].colour"
    assert doc.where(("items", 3, "nothing", "here")) == f"{doc.path}:8:5: items[3].nothing.here"
    assert doc.where(()) == f"{doc.path}:2:1: <root>"


# --- syntax errors and other unreadable files ------------------------------------------------------


def test_a_syntax_error_names_line_and_column(tmp_path):
    path = _write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:3:2: not valid YAML: expected ',' or ']', but got ':'")
    assert problem.endswith("(while parsing a flow sequence at line 2, column 4)")


def test_bad_indentation_names_line_and_column(tmp_path):
    path = _write(tmp_path, "a:\n  - b: 1\n   c: 2\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:3:4: not valid YAML: expected <block end>")


def test_an_impossible_date_names_line_and_column(tmp_path):
    """Bug: ``2027-02-30`` made PyYAML raise a bare ValueError (no file, no line)."""
    path = _write(tmp_path, "cycle:\n  end: 2027-02-30\n")
    [problem] = _problems(path)
    assert problem == (
        f"{path}:2:8: not valid YAML: invalid value '2027-02-30': day is out of range for month"
    )


def test_two_documents_in_one_file_are_refused(tmp_path):
    path = _write(tmp_path, "a: 1\n---\nb: 2\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:2:1: not valid YAML")


def test_python_tags_are_refused(tmp_path):
    path = _write(tmp_path, "a: !!python/object/apply:os.system [echo]\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:1:4: not valid YAML: could not determine a constructor")


def test_missing_file(tmp_path):
    assert _problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_empty_file_and_top_level_not_a_mapping(tmp_path):
    empty = _write(tmp_path, "# only a comment\n")
    assert load_document(empty).data is None
    problems: list[str] = []
    assert read_yaml(empty, problems).data == {} and problems == []
    with pytest.raises(ConfigError, match=r"c\.yaml:1:1: <root>: value an empty file: expected a mapping"):
        read_mapping(empty, "keys")
    listed = _write(tmp_path, "- a\n", "l.yaml")
    with pytest.raises(ConfigError, match=r"l\.yaml:1:1: <root>: value list: expected a mapping with keys"):
        read_mapping(listed, "keys")


def test_read_yaml_collects_instead_of_raising(tmp_path):
    problems: list[str] = []
    assert read_yaml(_write(tmp_path, "a: 1\na: 2\n"), problems) is None
    assert len(problems) == 1 and "duplicate key 'a'" in problems[0]


# --- one way to find a file, one way to read it ---------------------------------------------------


def test_config_path_is_under_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("AIMSFLOW_CONFIG_DIR", raising=False)
    assert config_path("policies", "drift.yaml") == SHIPPED / "policies" / "drift.yaml"
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(tmp_path))
    assert config_path("risk", "register.yaml") == tmp_path / "risk" / "register.yaml"
    assert config_path("a.yaml", config=tmp_path / "x") == tmp_path / "x" / "a.yaml"


def _load_inventory(config: Path) -> Any:
    from aimsflow.catalog import load_inventory

    return load_inventory(config)


def _load_risk(config: Path) -> Any:
    from aimsflow.risk.config import load_risk_config

    return load_risk_config(config)


def _load_retention(config: Path) -> Any:
    from aimsflow.retention.job import load_rules

    return load_rules(config)


def _load_fairness(config: Path) -> Any:
    from aimsflow.fairness.policy import load_fairness_policy

    return load_fairness_policy(config_path("policies", "fairness", "loan_approval.yaml", config=config))


def _load_drift(config: Path) -> Any:
    from aimsflow.quality.drift import load_drift_policy

    return load_drift_policy(config_path("policies", "drift.yaml", config=config))


def _load_soa(config: Path) -> Any:
    from aimsflow.compliance.soa import load_soa

    return load_soa(config)


def _load_crosswalk(config: Path) -> Any:
    from aimsflow.compliance.crosswalk import load_crosswalk

    return load_crosswalk(config)


LOADERS: dict[str, Callable[[Path], Any]] = {
    "ai_systems.yaml": _load_inventory,
    "certification.yaml": _load_inventory,
    "datasets.yaml": _load_inventory,
    "risk/register.yaml": _load_risk,
    "risk/methodology.yaml": _load_risk,
    "retention/policies.yaml": _load_retention,
    "retention/legal_holds.yaml": _load_retention,
    "policies/fairness/loan_approval.yaml": _load_fairness,
    "policies/drift.yaml": _load_drift,
    "soa.yaml": _load_soa,
    "crosswalk.yaml": _load_crosswalk,
}


def test_every_config_file_has_a_loader_here():
    shipped = sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.yaml"))
    assert shipped == sorted(LOADERS)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_loader_refuses_a_duplicate_key(tmp_path, name):
    """Each loader reads through the strict loader: a key repeated in any shipped file is refused."""
    config = tmp_path / "config"
    shutil.copytree(SHIPPED, config)
    LOADERS[name](config)  # the shipped configuration loads
    path = config / name
    lines = path.read_text().splitlines(keepends=True)
    index = next(i for i, t in enumerate(lines) if re.match(r"^\s*[a-z_]+: [^>|\s]", t))
    lines.insert(index + 1, lines[index])
    path.write_text("".join(lines))
    with pytest.raises(ConfigError) as exc:
        LOADERS[name](config)
    key = lines[index].split(":")[0].strip()
    column = lines[index].index(key) + 1
    hits = [p for p in exc.value.problems if f"duplicate key {key!r}" in p]
    assert [h.split(": ")[0] for h in hits] == [f"{path}:{index + 2}:{column}"], exc.value.problems


def test_only_configfile_reads_yaml():
    readers = [
        str(p.relative_to(PROJECT))
        for p in sorted((PROJECT / "include").rglob("*.py"))
        if re.search(r"^\s*(import yaml|from yaml)", p.read_text(), re.M)
    ]
    assert readers == ["include/aimsflow/configfile.py"]
