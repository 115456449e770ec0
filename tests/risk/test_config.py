"""The register and methodology load; bad input is one error listing every problem with file, path,
value and what was expected."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from aimsflow.catalog import ConfigError
from aimsflow.risk.config import Category, load_methodology, load_risk_config
from tests.risk.conftest import METHODOLOGY, SHIPPED, dq_risk, write_config


def _one(problems: list[str], *parts: str) -> str:
    hits = [p for p in problems if all(part in p for part in parts)]
    assert len(hits) == 1, f"expected one problem with {parts}, got {problems}"
    return hits[0]


def test_shipped_register_loads_and_covers_every_category():
    cfg = load_risk_config(SHIPPED)
    assert {r.category for r in cfg.risks} == set(Category)
    assert len({r.id for r in cfg.risks}) == len(cfg.risks)
    specs = {Path(s.path).name for s in cfg.specs()}
    assert {"register.yaml", "methodology.yaml", "datasets.yaml", "ai_systems.yaml"} <= specs
    assert all(len(s.sha256) == 64 for s in cfg.specs())


def test_shipped_methodology_scales_levels_and_acceptance():
    m = load_risk_config(SHIPPED).methodology
    assert (m.max_likelihood, m.max_impact, m.max_score) == (5, 5, 25)
    assert [m.level_of(s).name for s in (1, 4, 5, 9, 10, 16, 20, 25)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "critical",
        "critical",
    ]
    assert m.acceptance.appetite == 9 and m.notifies("high") and not m.notifies("medium")


def test_every_problem_of_a_bad_register_is_listed_at_once(tmp_path):
    bad_signal = dq_risk()["signals"][0] | {"dataset": "loan_aplications_clean"}
    risks = [
        dq_risk(category="vibes"),
        dq_risk(id="R-X-02", likelihood=7, impact=0),
        dq_risk(id="R-X-03", controls=["A.7.4", "A.99.1"]),
        dq_risk(id="R-X-02"),
        dq_risk(id="R-X-05", signals=[bad_signal]),
    ]
    folder = write_config(tmp_path / "config", risks)
    with pytest.raises(ConfigError) as exc:
        load_risk_config(folder)
    problems = exc.value.problems
    register = str(folder / "risk" / "register.yaml")
    assert all(p.startswith(register) for p in problems), problems
    assert "'vibes'" in _one(problems, "risks[0].category")
    assert "1..5" in _one(problems, "risks[1].likelihood", "value 7")
    assert "1..5" in _one(problems, "risks[1].impact", "value 0")
    assert "A.99.1" in _one(problems, "risks[2].controls", "unknown control")
    assert "already defined at risks[1]" in _one(problems, "risks[3].id", "'R-X-02'")
    assert CLEAN_HINT in _one(problems, "risks[4].signals[0].dataset", "'loan_aplications_clean'")
    assert len(problems) == 6
    assert str(exc.value).count("\n") == 6  # one message listing them all


CLEAN_HINT = "expected a dataset of the catalog"


def test_signal_and_acceptance_problems_name_their_path(tmp_path):
    signal = dq_risk()["signals"][0]
    risks = [
        dq_risk(
            signals=[
                signal | {"kind": "telepathy"},
                signal | {"id": "s2", "warning": 0.5, "critical": 0.1},
                signal | {"id": "s3", "aggregate": "share_nonzero", "direction": "below"},
            ]
        ),
        dq_risk(id="R-X-02", treatment="accept"),
        dq_risk(
            id="R-X-03",
            acceptance={
                "accepted_by": "a@example.com",
                "accepted_on": "2026-01-01",
                "max_score": 20,
                "rationale": "r",
            },
        ),
        dq_risk(id="R-X-04", ai_system="toaster"),
    ]
    folder = write_config(tmp_path / "config", risks)
    with pytest.raises(ConfigError) as exc:
        load_risk_config(folder)
    problems = exc.value.problems
    assert "telepathy" in _one(problems, "risks[0].signals[0]")
    assert "must not exceed critical" in _one(problems, "risks[0].signals[1]")
    assert "direction must be 'above'" in _one(problems, "risks[0].signals[2]")
    assert "needs an acceptance" in _one(problems, "risks[1]", "treatment 'accept'")
    assert "at most max_acceptable 16" in _one(problems, "risks[2].acceptance.max_score", "value 20")
    assert "AI systems" in _one(problems, "risks[3].ai_system", "'toaster'")


def test_bad_methodology_is_listed_with_the_register_problems(tmp_path):
    methodology = copy.deepcopy(METHODOLOGY)
    methodology["levels"][2]["min_score"] = 3  # not increasing
    methodology["scales"]["impact"][4]["value"] = 9
    methodology["signals"]["changes"]["critical"] = 9
    folder = write_config(tmp_path / "config", [dq_risk(id="R-X-01", category="nope")], methodology)
    with pytest.raises(ConfigError) as exc:
        load_risk_config(folder)
    problems = exc.value.problems
    path = str(folder / "risk" / "methodology.yaml")
    assert "increase strictly" in _one(problems, path, "levels")
    assert "1, 2, ... 5" in _one(problems, path, "scales.impact")
    assert "less than or equal to 4" in _one(problems, path, "signals.changes.critical", "value 9")
    assert _one(problems, "register.yaml", "risks[0].category")
    assert len(problems) == 4


def test_methodology_cross_field_problems(tmp_path):
    methodology = copy.deepcopy(METHODOLOGY)
    methodology["notify_from_level"] = "severe"
    methodology["acceptance"] = {"appetite": 9, "max_acceptable": 30}
    methodology["nonconformities"]["closing_statuses"] = ["failed"]
    folder = write_config(tmp_path / "config", [dq_risk()], methodology)
    with pytest.raises(ConfigError) as exc:
        load_methodology(folder)
    problems = exc.value.problems
    assert "not one of the levels" in _one(problems, "notify_from_level", "'severe'")
    assert "exceeds the top score 25" in _one(problems, "acceptance")
    assert "only passed or warning" in _one(problems, "nonconformities.closing_statuses")


def test_missing_files_and_wrong_top_level_are_reported(tmp_path):
    folder = write_config(tmp_path / "config", [dq_risk()])
    (folder / "risk" / "methodology.yaml").unlink()
    (folder / "risk" / "register.yaml").write_text(yaml.safe_dump({"risk": []}))
    with pytest.raises(ConfigError) as exc:
        load_risk_config(folder)
    assert _one(exc.value.problems, "methodology.yaml", "file not found")
    assert _one(exc.value.problems, "register.yaml", "top-level key 'risks'")
    with pytest.raises(ConfigError):
        load_methodology(folder)


def test_acceptance_dates_load_from_yaml(tmp_path):
    """Bug: YAML 1.1 reads a key named ``on`` as the boolean true, so an acceptance block written as
    ``on: 2026-09-15`` failed with "Keys should be strings"; the fields are accepted_by/accepted_on."""
    text = (SHIPPED / "risk" / "register.yaml").read_text()
    assert "\n      on:" not in text
    fair = next(r for r in load_risk_config(SHIPPED).risks if r.acceptance)
    assert fair.acceptance.accepted_on.isoformat() == "2026-09-15"
