"""Retention policies and legal holds: the shipped files load, bad files list every problem."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from aimsflow.catalog import ConfigError
from aimsflow.retention.policy import (
    EVIDENCE_CLASS,
    EVIDENCE_DEFAULT,
    CountsFrom,
    Duration,
    Method,
    load_holds,
    load_policies,
)
from tests.conftest import PROJECT
from tests.retention.conftest import INVENTORY

SHIPPED = PROJECT / "include" / "config" / "retention"


def _located(path: Path, problems: list[str]) -> list[tuple[int, int, str]]:
    """(line, column, rest) of each problem, asserting it starts with ``file:line:column: ``."""
    out = []
    for problem in problems:
        m = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): (.*)$", problem, re.S)
        assert m, problem
        out.append((int(m[1]), int(m[2]), m[3]))
    return out


def test_shipped_policies_cover_every_data_class_of_the_catalog():
    policies = load_policies(SHIPPED / "policies.yaml")
    classes = {d.data_class for d in INVENTORY.datasets.values()}
    assert classes | {EVIDENCE_CLASS, policies.lineage_class} <= set(policies.policies)
    raw = policies.get("raw_personal_data")
    assert raw is not None and raw.retention == "90 days" and raw.counts_from == CountsFrom.created
    assert not any(p.auto_execute for p in policies.policies.values())  # the shipped default is a dry run
    evidence = policies.get(EVIDENCE_CLASS)
    assert evidence is not None and evidence.counts_from == CountsFrom.certification_cycle_end
    assert evidence.retention == "1 year"


def test_shipped_demo_hold_holds_the_training_set():
    holds = load_holds(SHIPPED / "legal_holds.yaml", INVENTORY)
    assert [(h.id, h.dataset) for h in holds] == [("LH-2026-007", "loan_training_set")]


def test_evidence_policy_defaults_to_cycle_end_plus_one_year(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "policies:\n  - {data_class: raw_personal_data, retention: 90 days, counts_from: created, legal_basis: x}\n"
    )
    assert load_policies(path).get(EVIDENCE_CLASS) == EVIDENCE_DEFAULT


def test_every_problem_is_listed_with_file_path_value_and_expectation(tmp_path: Path):
    path = tmp_path / "policies.yaml"
    path.write_text(
        """
version: 2
openlineage: {data_class: Lineage}
policies:
  - data_class: raw_personal_data
    retention: ninety days
    counts_from: partition
    legal_basis: GDPR
  - data_class: training_data
    retention: 1 year
    counts_from: created
    legal_basis: first
  - data_class: training_data
    retention: 0 days
    counts_from: created
    legal_basis: again
    method: shred
    colour: blue
  - data_class: derived_personal_data
    retention: 1 year
    counts_from: created
    legal_basis: x
  - data_class: derived_personal_data
    retention: 2 years
    counts_from: created
    legal_basis: duplicate
"""
    )
    with pytest.raises(ConfigError) as err:
        load_policies(path)
    located = _located(path, err.value.problems)
    problems = [rest for _, _, rest in located]
    assert len(problems) == 8, problems
    text = "\n".join(problems)
    assert "version: value 2: expected 1" in text
    assert "openlineage.data_class: value 'Lineage'" in text
    assert "policies[0].retention: value 'ninety days'" in text and "'<n> days|weeks|months|years'" in text
    assert "policies[0].counts_from: value 'partition'" in text and "'created'" in text
    assert "policies[2].retention: value '0 days': expected a retention of at least 1 day" in text
    assert "policies[2].method: value 'shred'" in text and "'delete'" in text
    assert "policies[2].colour: value 'blue': unknown key" in text
    assert (
        "policies[4].data_class: value 'derived_personal_data': expected a unique data class, "
        "already defined at policies[3] (line 19)" in text
    )
    lines = path.read_text().splitlines()
    for line, column, rest in located:  # the position is the key the problem is about
        key = re.split(r"[.\[]", rest.split(":")[0])[-1]
        assert lines[line - 1][column - 1 :].startswith(f"{key}:"), (rest, lines[line - 1])


def test_a_missing_file_an_empty_file_and_no_policies_are_problems(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        load_policies(tmp_path / "nope.yaml")
    path = tmp_path / "policies.yaml"
    for text, expected in [
        ("", "<root>: value an empty file: expected a mapping"),
        ("policies: []\n", "policies: value []: expected at least one policy"),
        ("polices: []\n", "polices: value []: unknown key"),
        ("policies: {}\n", "policies: value {}: expected a list"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_policies(path)
        assert any(expected in p for p in err.value.problems), (text, err.value.problems)


def test_a_key_that_is_not_a_string_is_a_problem_not_a_crash(tmp_path: Path):
    """Bug: an unknown top-level key that YAML reads as a number (``2026: ...``) raised a bare KeyError
    (the key was looked up by its string form)."""
    path = tmp_path / "policies.yaml"
    path.write_text(
        "2026: x\npolicies:\n  - {data_class: c, retention: 1 year, counts_from: created, legal_basis: b}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_policies(path)
    assert [rest for _, _, rest in _located(path, err.value.problems)] == [
        "[2026]: value 'x': unknown key; expected one of ['openlineage', 'policies', 'quarantine', 'version']"
    ]


@pytest.mark.parametrize("text", ["", "holds:\n", "[]\n", "version: 1\n"])
def test_an_empty_or_truncated_holds_file_is_an_error_not_no_holds(tmp_path: Path, text: str):
    path = tmp_path / "legal_holds.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_holds(path, INVENTORY)
    assert str(path) in err.value.problems[0]


def test_explicitly_no_holds_is_fine(tmp_path: Path):
    path = tmp_path / "legal_holds.yaml"
    path.write_text("holds: []\n")
    assert load_holds(path, INVENTORY) == []


def test_hold_problems_are_all_listed_including_unknown_ids(tmp_path: Path):
    """A typo in a hold must not silently release what it was meant to hold."""
    path = tmp_path / "legal_holds.yaml"
    path.write_text(
        """
holds:
  - {id: H1, dataset: loan_trainig_set, reason: r, set_by: a, since: 2026-01-01}
  - {id: H1, ai_system: credit_model, reason: r, set_by: a, since: 2026-01-01}
  - {id: H3, path_prefix: raw/loans, reason: r, set_by: a, since: 2026-01-01}
  - {id: H4, dataset: loan_training_set, path_prefix: data/x, reason: r, set_by: a, since: 2026-01-01}
  - {id: H5, dataset: loan_training_set, reason: r, since: 2026-01-01}
  - {id: H6, path_prefix: evidence/../data, reason: r, set_by: a, since: 2026-01-01}
"""
    )
    with pytest.raises(ConfigError) as err:
        load_holds(path, INVENTORY)
    located = _located(path, err.value.problems)
    problems = [rest for _, _, rest in located]
    # Each hold is one line (3 to 8): every problem of holds[i] is on line i + 3.
    assert [line for line, _, _ in located] == [int(re.match(r"holds\[(\d)", p)[1]) + 3 for p in problems]
    assert problems[0] == (
        "holds[0].dataset: value 'loan_trainig_set': expected a dataset of the catalog "
        "['loan_applications_clean', 'loan_applications_raw', 'loan_training_set']"
    )
    assert problems[1:3] == [
        "holds[1].ai_system: value 'credit_model': expected an AI system of the inventory ['loan_approval']",
        "holds[1].id: value 'H1': expected a unique id, already defined at holds[0] (line 3)",
    ]
    assert problems[3].startswith("holds[2].path_prefix: value 'raw/loans': expected an absolute path")
    assert (
        problems[4].startswith("holds[3]: value")
        and "exactly one of dataset, ai_system, path_prefix" in problems[4]
    )
    assert problems[5] == "holds[4].set_by: value <missing>: expected this key to be set"
    assert problems[6].startswith("holds[5].path_prefix: value 'evidence/../data'")
    assert len(problems) == 7


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("90 days", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("1 day", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
        ("2 weeks", dt.date(2026, 1, 1), dt.date(2026, 1, 15)),
        ("1 month", dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        ("1 month", dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        ("13 months", dt.date(2026, 12, 15), dt.date(2028, 1, 15)),
        ("1 year", dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
        ("4 years", dt.date(2028, 2, 29), dt.date(2032, 2, 29)),
    ],
)
def test_durations_add_calendar_months_and_years_clamped_to_month_end(text, start, end):
    assert Duration.parse(text).after(start) == end


@pytest.mark.parametrize("text", ["90", "days 90", "1.5 years", "-1 day", "1 fortnight", ""])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError, match="expected"):
        Duration.parse(text)


def test_method_descriptions_do_not_overclaim():
    assert "unlink" in Method.delete.description
    assert "ineffective on copy-on-write or flash" in Method.overwrite_and_delete.description


def test_the_quarantine_section_names_the_class_of_quarantined_raw_files(tmp_path: Path):
    """Mutants of ``load_policies`` (issue 12, quarantine): the ``quarantine`` section read under
    another key or dropped from the PolicySet (`_32`..`_49`, `_105`, `_109` in the mutation run) would
    plan quarantined raw files under the default class whatever the file says, and a bad value there
    must be reported at ``quarantine.data_class``."""
    path = tmp_path / "p.yaml"
    body = "policies:\n  - {data_class: held_raw, retention: 30 days, counts_from: created, legal_basis: x}\n"
    path.write_text(body + "quarantine:\n  data_class: held_raw\n")
    assert load_policies(path).quarantine_class == "held_raw"
    path.write_text(body)
    assert load_policies(path).quarantine_class == "quarantined_raw_data"  # the default
    path.write_text(body + "quarantine:\n  data_class: Held Raw\n")
    with pytest.raises(ConfigError) as err:
        load_policies(path)
    assert any("quarantine.data_class" in p and "Held Raw" in p for p in err.value.problems)


def test_a_bad_quarantine_section_is_reported_at_its_line_in_the_file(tmp_path: Path):
    """Mutation survivor ``load_policies`` ``_validate(doc, QuarantineSource, ...)`` -> ``_validate(None,
    ...)``: the problem would say ``None: quarantine.data_class`` instead of naming the file and the
    line (the guide: a clear error naming file, field and value)."""
    path = tmp_path / "p.yaml"
    body = "policies:\n  - {data_class: held_raw, retention: 30 days, counts_from: created, legal_basis: x}\n"
    path.write_text(body + "quarantine:\n  data_class: Held Raw\n")
    with pytest.raises(ConfigError) as err:
        load_policies(path)
    (problem,) = [p for p in err.value.problems if "quarantine.data_class" in p]
    assert problem.startswith(f"{path}:4:") and "value 'Held Raw'" in problem
