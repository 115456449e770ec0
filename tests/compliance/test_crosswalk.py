"""The crosswalk: the shipped file, what it claims, and every refusal with file, place and value."""

from __future__ import annotations

import pytest

from aimsflow.compliance.crosswalk import load_crosswalk
from aimsflow.configfile import ConfigError
from tests.compliance.conftest import config_with, shipped


def problems(tmp_path, doc) -> list[str]:
    config = config_with(tmp_path / "config", crosswalk=doc)
    with pytest.raises(ConfigError) as exc:
        load_crosswalk(config)
    return exc.value.problems


def small() -> dict:
    return {
        "version": 1,
        "sources": {
            "nist": {"kind": "published", "title": "a crosswalk", "publisher": "NIST", "year": 2023},
            "own": {"kind": "own_judgement", "title": "own judgement"},
        },
        "frameworks": {
            "iso27001": {"title": "ISO/IEC 27001:2022 Annex A", "items": {"5.33": "Protection of records"}},
            "eu_ai_act": {"title": "EU AI Act", "items": {"Art. 12": "Record-keeping"}},
        },
        "mappings": {"7.5.3": [{"framework": "iso27001", "items": ["5.33"], "source": "own"}]},
    }


def test_the_shipped_crosswalk_counts():
    cw = load_crosswalk()
    counts = cw.counts()
    assert set(counts) == {"iso27001", "eu_ai_act", "nist_ai_rmf"}
    # Only NIST published a crosswalk we cite; everything else is labelled own judgement.
    assert counts["iso27001"]["published"] == 0 and counts["eu_ai_act"]["published"] == 0
    assert counts["nist_ai_rmf"]["published"] == 15
    assert {link.source for link in cw.links if link.published} == {"nist-ai-rmf-42001"}
    # The examples the issue names are mapped, with titles.
    pairs = {(link.control, link.framework, link.item) for link in cw.links}
    assert {
        ("7.5.3", "iso27001", "5.33"),
        ("7.5.3", "iso27001", "8.10"),
        ("A.6.2.8", "iso27001", "8.15"),
    } <= pairs
    assert {("A.6.2.8", "eu_ai_act", "Art. 12"), ("A.6.2.6", "eu_ai_act", "Art. 72")} <= pairs
    assert cw.item_title("eu_ai_act", "Art. 10") == "Data and data governance"
    assert cw.item_title("iso42001", "A.7.4") == "Quality of data for AI systems"
    # Every item a framework lists is mapped: no title claims coverage nothing gives.
    for name, fw in cw.frameworks.items():
        assert set(cw.items(name)) == set(fw.items), name


def test_a_small_crosswalk_loads(tmp_path):
    cw = load_crosswalk(config_with(tmp_path / "config", crosswalk=small()))
    (link,) = cw.links
    assert (link.control, link.framework, link.item, link.published) == ("7.5.3", "iso27001", "5.33", False)
    assert cw.names == ["iso42001", "iso27001", "eu_ai_act"]
    with pytest.raises(KeyError, match="unknown framework 'nist'"):
        cw.items("nist")


def test_an_unknown_iso_control_is_named_with_the_nearest(tmp_path):
    doc = small()
    doc["mappings"]["A.6.2.88"] = [{"framework": "iso27001", "items": ["5.33"], "source": "own"}]
    (problem,) = problems(tmp_path, doc)
    assert (
        "mappings.A.6.2.88: value 'A.6.2.88': unknown ISO/IEC 42001 control id (did you mean A.6.2.8"
        in problem
    )


def test_an_unknown_framework_is_refused(tmp_path):
    doc = small()
    doc["mappings"]["7.5.3"][0]["framework"] = "iso_27001"
    (problem,) = problems(tmp_path, doc)
    assert (
        "mappings.7.5.3[0].framework: value 'iso_27001': unknown framework (did you mean iso27001?)"
        in problem
    )


def test_an_item_the_framework_does_not_list_is_refused(tmp_path):
    doc = small()
    doc["mappings"]["7.5.3"][0]["items"] = ["5.33", "5.3"]
    (problem,) = problems(tmp_path, doc)
    assert "mappings.7.5.3[0].items[1]: value '5.3': not an item of iso27001" in problem


@pytest.mark.parametrize(
    ("source", "expected"), [("", "every mapping cites its source"), ("nist2", "undeclared source")]
)
def test_a_mapping_without_a_declared_source_is_refused(tmp_path, source, expected):
    doc = small()
    doc["mappings"]["7.5.3"][0]["source"] = source
    (problem,) = problems(tmp_path, doc)
    assert f"mappings.7.5.3[0].source: value {source!r}: {expected}" in problem


def test_a_published_source_names_publisher_and_year(tmp_path):
    doc = small()
    del doc["sources"]["nist"]["year"]
    (problem,) = problems(tmp_path, doc)
    assert "sources.nist: value 'a crosswalk': a published source names its publisher and year" in problem


def test_an_item_mapped_twice_for_one_control_is_refused(tmp_path):
    doc = small()
    doc["mappings"]["7.5.3"].append({"framework": "iso27001", "items": ["5.33"], "source": "nist"})
    (problem,) = problems(tmp_path, doc)
    assert "iso27001 5.33 is mapped twice for 7.5.3" in problem


def test_the_base_framework_is_not_redeclared(tmp_path):
    doc = small()
    doc["frameworks"]["iso42001"] = {"title": "x", "items": {"A.7.4": "x"}}
    (problem,) = problems(tmp_path, doc)
    assert "frameworks.iso42001" in problem and "built in" in problem


def test_the_shipped_file_parses_as_plain_yaml_too():
    assert shipped("crosswalk.yaml")["version"] == 1
