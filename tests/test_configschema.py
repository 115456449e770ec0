"""The committed JSON Schemas of the configuration files are current, named by every file, and agree
with the loaders on what the shipped files are."""

from __future__ import annotations

import json
import shutil
from typing import Any

import jsonschema
import pytest

from aimsflow.configfile import ConfigError, load_document
from aimsflow.configschema import FILES, ConfigFile, render, schema_dir, stale, write
from tests.conftest import PROJECT
from tests.test_configfile import LOADERS

SHIPPED = PROJECT / "include" / "config"
BY_PATH = {f.path: f for f in FILES if f.shipped}


def _as_json(data: Any) -> Any:
    """The document as an editor's YAML 1.2 language server sees it (dates are strings there)."""
    return json.loads(json.dumps(data, default=str))


def _validator(file: ConfigFile) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SHIPPED / "schemas" / file.schema_name).read_text()))


def test_committed_schemas_are_current():
    old = stale()
    assert not old, (
        "JSON Schemas out of date with the config models; regenerate them with `make schemas` "
        f"(python -m aimsflow.configschema) and commit: {old}"
    )


def test_stale_finds_a_changed_and_a_missing_schema(tmp_path):
    written = write(tmp_path)
    assert stale(tmp_path) == []
    written[0].write_text(written[0].read_text().replace('"type": "string"', '"type": "integer"', 1))
    written[1].unlink()
    assert stale(tmp_path) == [str(written[0]), str(written[1])]


def test_schemas_are_where_the_checkout_keeps_them(monkeypatch, tmp_path):
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(tmp_path))  # an operator's config elsewhere
    assert schema_dir() == SHIPPED / "schemas"


def test_every_config_file_has_a_schema_and_names_it():
    assert sorted(str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.yaml")) == sorted(BY_PATH)
    assert sorted(p.name for p in (SHIPPED / "schemas").iterdir()) == sorted(f.schema_name for f in FILES)
    for file in BY_PATH.values():
        path = SHIPPED / file.path
        first = path.read_text().splitlines()[0]
        assert first == file.modeline, path
        ref = first.split("$schema=", 1)[1]
        assert (path.parent / ref).resolve() == SHIPPED / "schemas" / file.schema_name


@pytest.mark.parametrize("name", sorted(BY_PATH))
def test_the_shipped_file_is_valid_against_its_schema(name):
    file = BY_PATH[name]
    errors = list(_validator(file).iter_errors(_as_json(load_document(SHIPPED / name).data)))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(BY_PATH))
def test_schema_and_loader_both_refuse_an_unknown_top_level_key(tmp_path, name):
    file = BY_PATH[name]
    config = tmp_path / "config"
    shutil.copytree(SHIPPED, config)
    path = config / name
    path.write_text(path.read_text() + "zz_unknown: 1\n")
    assert not _validator(file).is_valid(_as_json(load_document(path).data))
    with pytest.raises(ConfigError, match="zz_unknown"):
        LOADERS[name](config)


def test_render_is_stable_json():
    text = render(BY_PATH["datasets.yaml"])
    assert text.endswith("}\n") and json.loads(text)["$id"] == "datasets.schema.json"
    assert json.loads(text)["additionalProperties"] is False


def test_modeline_path_is_relative_to_the_file():
    assert ConfigFile("a.yaml", dict).schema_ref() == "schemas/a.schema.json"  # type: ignore[arg-type]
    assert ConfigFile("x/b.yaml", dict).schema_ref() == "../schemas/x.b.schema.json"  # type: ignore[arg-type]


def test_make_schemas_target_exists():
    makefile = (PROJECT / "Makefile").read_text()
    assert "\nschemas:" in makefile and "aimsflow.configschema" in makefile
