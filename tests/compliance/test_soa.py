"""The Statement of Applicability: the shipped file, and every refusal with file, place and value."""

from __future__ import annotations

import re

import pytest

from aimsflow.compliance.soa import load_soa
from aimsflow.configfile import ConfigError
from aimsflow.evidence.controls import ANNEX_A
from tests.compliance.conftest import SHIPPED, config_with, shipped, small_soa


def problems(tmp_path, doc) -> list[str]:
    config = config_with(tmp_path / "config", soa=doc)
    with pytest.raises(ConfigError) as exc:
        load_soa(config)
    return exc.value.problems


def test_the_shipped_soa_lists_every_annex_a_control():
    soa = load_soa()
    assert [c.id for c in soa.annex_a] == list(ANNEX_A)
    assert soa.counts() == {"annex_a": 38, "applicable": 37, "excluded": 1, "manual": 27, "job_evidenced": 10}
    assert not soa.controls["A.10.4"].applicable and "no AI system" in soa.controls["A.10.4"].justification
    # Clauses are listed for their cadence, ahead of Annex A, and a glob keeps what it matches.
    assert list(soa.controls)[:2] == ["6.1.2", "6.1.3"]
    (prep, version) = soa.controls["A.7.5"].requirements
    assert prep.pattern == "data_preparation/*" and set(prep.matches) == {
        "data_preparation/clean",
        "data_preparation/ingest",
        "data_preparation/training_set",
    }
    assert version.matches == ("data_provenance/version",)
    # An entry with a freshness of its own keeps it; the others take the control's.
    assert [(r.pattern, r.max_age_days) for r in soa.controls["7.5.3"].requirements] == [
        ("evidence_seal/verify", 2),
        ("retention_disposal/plan", 9),
    ]
    assert soa.max_age_days("7.5.3") == 2 and soa.max_age_days("A.10.4") is None


def test_an_unknown_control_is_named_with_the_nearest_ids(tmp_path):
    doc = small_soa()
    doc["controls"]["A.7.44"] = {"applicable": False, "justification": "typo"}
    (problem,) = problems(tmp_path, doc)
    assert re.match(r".*soa\.yaml:\d+:\d+: controls\.A\.7\.44: value 'A\.7\.44': unknown control id", problem)
    assert "did you mean A.7.4" in problem


def test_a_missing_control_is_named(tmp_path):
    doc = small_soa()
    del doc["controls"]["A.9.3"], doc["controls"]["A.2.2"]
    (problem,) = problems(tmp_path, doc)
    assert "controls: value 36 entries: missing Annex A control(s) A.2.2, A.9.3" in problem


def test_a_control_given_twice_is_refused_not_silently_overwritten(tmp_path):
    """PyYAML keeps the last of two equal keys: an edited duplicate would silently replace the
    first line of the SoA. The strict loader refuses it, naming both lines."""
    config = config_with(tmp_path / "config")
    path = config / "soa.yaml"
    text = path.read_text()
    block = re.search(r"\n  A\.7\.6:\n(    .*\n)+", text).group(0)
    path.write_text(text.replace(block, block + block.replace("max_age_days: 2", "max_age_days: 30")))
    with pytest.raises(ConfigError) as exc:
        load_soa(config)
    (problem,) = exc.value.problems
    first = text[: text.index("\n  A.7.6:")].count("\n") + 2
    assert f"controls.A.7.6: duplicate key 'A.7.6', first given at line {first}" in problem


def test_an_applicable_control_needs_job_checks_or_manual_evidence(tmp_path):
    doc = small_soa(A_2_2={"applicable": True, "justification": "policy", "max_age_days": 365})
    (problem,) = problems(tmp_path, doc)
    assert "controls.A.2.2: value" in problem and "an applicable control needs evidence" in problem


def test_a_check_no_job_declares_is_named_with_the_nearest(tmp_path):
    doc = small_soa(
        A_7_4={
            "applicable": True,
            "justification": "j",
            "checks": ["data_qualty/validate"],
            "max_age_days": 2,
        }
    )
    (problem,) = problems(tmp_path, doc)
    assert (
        "controls.A.7.4.checks[0]: value 'data_qualty/validate': matches no check a job declares" in problem
    )
    assert "did you mean data_quality/validate" in problem


def test_a_glob_matching_nothing_is_refused(tmp_path):
    doc = small_soa(
        A_7_4={"applicable": True, "justification": "j", "checks": ["quality/*"], "max_age_days": 2}
    )
    (problem,) = problems(tmp_path, doc)
    assert "value 'quality/*': matches no check a job declares" in problem


def test_a_check_whose_records_never_name_the_control_is_refused(tmp_path):
    doc = small_soa(
        A_2_2={
            "applicable": True,
            "justification": "j",
            "checks": ["data_quality/validate"],
            "max_age_days": 2,
        }
    )
    (problem,) = problems(tmp_path, doc)
    assert (
        "no check it matches declares A.2.2" in problem and "data_quality/validate: A.7.4, A.6.2.6" in problem
    )


def test_an_exclusion_needs_a_justification(tmp_path):
    doc = small_soa(A_10_4={"applicable": False})
    (problem,) = problems(tmp_path, doc)
    assert "controls.A.10.4.justification: value None: an excluded control needs a justification" in problem


def test_an_inclusion_needs_a_justification_too(tmp_path):
    doc = small_soa(A_2_2={"applicable": True, "manual": True, "max_age_days": 365, "justification": "  "})
    (problem,) = problems(tmp_path, doc)
    assert "controls.A.2.2.justification" in problem and "justification for its inclusion" in problem


def test_a_clause_cannot_be_excluded(tmp_path):
    doc = small_soa(**{"9.1": {"applicable": False, "justification": "no monitoring"}})
    (problem,) = problems(tmp_path, doc)
    assert "controls.9.1.applicable: value False: a management-system clause cannot be excluded" in problem


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"checks": ["data_quality/validate"], "manual": True, "max_age_days": 2}, "not both"),
        ({"checks": ["data_quality/validate"]}, "needs `max_age_days`"),
        ({"checks": ["manual_evidence/document"], "max_age_days": 2}, "declared with `manual: true`"),
        ({"checks": ["data_quality/validate", "data_quality/validate"], "max_age_days": 2}, "listed twice"),
    ],
)
def test_evidence_is_declared_one_way(tmp_path, entry, expected):
    doc = small_soa(A_7_4={"applicable": True, "justification": "j", **entry})
    (problem,) = problems(tmp_path, doc)
    assert expected in problem


def test_an_excluded_control_lists_no_evidence(tmp_path):
    doc = small_soa(A_10_4={"applicable": False, "justification": "j", "manual": True})
    (problem,) = problems(tmp_path, doc)
    assert "controls.A.10.4.manual: value True: an excluded control has no evidence: remove manual" in problem


def test_an_unquoted_clause_id_is_refused_with_a_hint(tmp_path):
    config = config_with(tmp_path / "config")
    path = config / "soa.yaml"
    path.write_text(path.read_text().replace('  "9.1":\n', "  9.1:\n"))
    with pytest.raises(ConfigError) as exc:
        load_soa(config)
    (problem,) = exc.value.problems
    assert "value 9.1: YAML reads this unquoted id as a float: quote it ('9.1')" in problem


def test_every_problem_is_reported_at_once(tmp_path):
    doc = small_soa(A_10_4={"applicable": False}, A_2_2={"applicable": True, "justification": "j"})
    doc["controls"]["A.99"] = {"applicable": False, "justification": "j"}
    found = problems(tmp_path, doc)
    assert len(found) == 3, found


def test_types_are_checked_by_the_model(tmp_path):
    doc = small_soa(A_7_4={"applicable": "sometimes", "justification": "j"})
    (problem,) = problems(tmp_path, doc)
    assert "controls.A.7.4.applicable: value 'sometimes'" in problem


def test_the_shipped_file_is_the_one_loaded():
    assert load_soa().path == SHIPPED / "soa.yaml"
    assert shipped("soa.yaml")["version"] == 1
