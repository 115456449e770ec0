"""The audit tools' one door to the crosswalk of issue 13: ISO/IEC 42001 alone without it; with it,
a framework narrows a sample to the controls mapped to it and every control lists its counterparts."""

from __future__ import annotations

import pytest

from aimsflow.audit import frameworks
from aimsflow.audit.frameworks import UnknownFramework, counterparts, framework_controls
from aimsflow.compliance.crosswalk import Link, load_crosswalk


class FakeCrosswalk:
    """The part of :class:`aimsflow.compliance.crosswalk.Crosswalk` the adapter reads."""

    frameworks = {"eu_ai_act": None, "iso27001": None, "nist_ai_rmf": None}
    LINKS = [
        Link("A.7.4", "eu_ai_act", "Art. 10", "own", False),
        Link("A.7.4", "nist_ai_rmf", "MEASURE 2.1", "own", False),
        Link("7.5.3", "eu_ai_act", "Art. 12", "own", False),
        Link("7.5.3", "iso27001", "5.33", "own", False),
    ]

    def of_control(self, control: str) -> list[Link]:
        return [link for link in self.LINKS if link.control == control]


@pytest.fixture
def crosswalk(monkeypatch):
    monkeypatch.setattr(frameworks, "_crosswalk", lambda: FakeCrosswalk())


def test_iso_42001_needs_no_crosswalk():
    for name in ("iso42001", "ISO 42001", "iso/iec 42001", "iso-42001"):
        assert framework_controls(name) is None


def test_without_a_crosswalk_other_frameworks_are_refused(monkeypatch):
    monkeypatch.setattr(frameworks, "_crosswalk", lambda: None)
    with pytest.raises(UnknownFramework, match="only 'iso42001' is available"):
        framework_controls("eu_ai_act")
    assert counterparts("A.7.4") == {} and not frameworks.crosswalk_available()


def test_with_a_crosswalk_a_framework_is_the_controls_mapped_to_it(crosswalk):
    assert framework_controls("eu_ai_act") == {"A.7.4", "7.5.3"}
    assert framework_controls("iso27001") == {"7.5.3"}
    assert counterparts("A.7.4") == {"eu_ai_act": ["Art. 10"], "iso27001": [], "nist_ai_rmf": ["MEASURE 2.1"]}
    with pytest.raises(
        UnknownFramework, match="the crosswalk knows eu_ai_act, iso27001, iso42001, nist_ai_rmf"
    ):
        framework_controls("sox")


def test_the_installed_crosswalk_gives_each_control_its_mapped_items():
    """The adapter against the project's real crosswalk: every link, under its framework."""
    real = load_crosswalk()
    for control in ("A.7.4", "A.7.5", "7.5.3"):
        expected: dict[str, list[str]] = {name: [] for name in real.frameworks}
        for link in real.of_control(control):
            expected[link.framework].append(link.item)
        assert counterparts(control) == expected
    assert any(counterparts("A.7.4").values())
    assert framework_controls("eu_ai_act") == {
        link.control for link in real.links if link.framework == "eu_ai_act"
    }


def test_a_framework_narrows_the_sample_and_its_strata(store, crosswalk):
    from aimsflow.audit.sample import SampleRequest, draw_sample
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import load_verified
    from aimsflow.periods import parse_period

    loaded = load_verified(store.storage, TrustedKeys.load())
    sample = draw_sample(
        store.storage,
        loaded,
        SampleRequest(parse_period("2026-Q3"), "s", 1, per_control=1, framework="iso27001"),
    )
    assert {c for r in sample.population for c in r.controls} == {"7.5.3"} and len(sample.population) == 5
    sample = draw_sample(
        store.storage,
        loaded,
        SampleRequest(parse_period("2026-Q3"), "s", 1, per_control=1, framework="eu_ai_act"),
    )
    assert len(sample.population) == 20 and sample.scope == [
        "7.5.3",
        "A.7.4",
    ]  # A.5.4 of bias records is not mapped
