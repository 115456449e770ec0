from __future__ import annotations

import re
from pathlib import Path

import pytest

from aimsflow.evidence.controls import ANNEX_A, CLAUSES, UnknownControlError, validate_controls

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "iso42001-annex-a.md"


def test_annex_a_has_the_38_controls():
    assert len(ANNEX_A) == 38
    assert {i.split(".")[1] for i in ANNEX_A} == {str(n) for n in range(2, 11)}  # 9 objectives A.2-A.10
    assert ANNEX_A["A.7.4"] == "Quality of data for AI systems"


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared reference not beside the clone")
def test_annex_a_matches_the_reference_list():
    rows = dict(re.findall(r"^\| (A\.[\d.]+) \| (.+?) \|$", REFERENCE.read_text(), re.M))
    assert rows == ANNEX_A


def test_clauses_each_have_their_own_id():
    assert set(CLAUSES) == {
        "6.1.2",
        "6.1.3",
        "6.1.4",
        "7.5.3",
        "8.2",
        "8.3",
        "8.4",
        "9.1",
        "9.2",
        "9.3",
        "10.2",
    }


def test_unknown_control_is_an_error_naming_it():
    with pytest.raises(UnknownControlError, match="A.7.9"):
        validate_controls(["A.7.4", "A.7.9"])
    with pytest.raises(UnknownControlError):
        validate_controls([])


def test_controls_are_sorted_numerically_and_deduplicated():
    assert validate_controls(["A.10.2", "A.7.4", "9.1", "A.7.4"]) == ("9.1", "A.7.4", "A.10.2")
