"""docs/controls.md stays true to the shipped SoA and crosswalk (its tables are generated)."""

from __future__ import annotations

from aimsflow.compliance.docs import render
from tests.conftest import PROJECT


def test_the_soa_and_crosswalk_tables_in_controls_md_are_current():
    text = (PROJECT / "docs" / "controls.md").read_text()
    assert render(text) == text, "regenerate with `python -m aimsflow.compliance.docs --write-docs`"


def test_the_counts_the_page_states_are_the_shipped_ones():
    from aimsflow.compliance.crosswalk import load_crosswalk
    from aimsflow.compliance.soa import load_soa

    text = (PROJECT / "docs" / "controls.md").read_text()
    soa, counts = load_soa().counts(), load_crosswalk().counts()
    assert f"{soa['applicable']} applicable, {soa['excluded']} excluded (A.10.4 Customers" in text
    assert f"{soa['job_evidenced']} evidenced by jobs, {soa['manual']} by documents" in text
    assert f"{counts['iso27001']['items']} of the 93 Annex A controls" in text
    assert f"EU AI Act: {counts['eu_ai_act']['items']} articles" in text
    assert f"NIST AI RMF 1.0: {counts['nist_ai_rmf']['items']} of the 72 subcategories" in text
