"""The audit tools' one door to the crosswalk of issue 13: ISO/IEC 42001 alone without it; with it,
a framework narrows a sample to the controls mapped to it and every control lists its counterparts."""

from __future__ import annotations

import pytest

from aimsflow.audit import frameworks
from aimsflow.audit.frameworks import UnknownFramework, counterparts, framework_controls


class FakeCrosswalk:
    """The shape the adapter expects (``counterparts(control) -> {framework: [items]}``)."""

    MAP = {
        "A.7.4": {"eu_ai_act": ["Art. 10"], "nist_ai_rmf": ["MEASURE 2.1"]},
        "7.5.3": {"eu_ai_act": ["Art. 12"], "iso27001": ["5.33"]},
    }

    def counterparts(self, control: str) -> dict[str, list[str]]:
        return self.MAP.get(control, {})


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
    assert counterparts("A.7.4") == {"eu_ai_act": ["Art. 10"], "nist_ai_rmf": ["MEASURE 2.1"]}
    with pytest.raises(
        UnknownFramework, match="the crosswalk knows eu_ai_act, iso27001, iso42001, nist_ai_rmf"
    ):
        framework_controls("sox")


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
