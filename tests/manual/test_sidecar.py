"""The sidecar: its fields, the validity forms, and every bad sidecar refused with file, line, field
and value (all of a file's problems at once)."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest

from aimsflow.manual.sidecar import MAX_SIDECAR_BYTES, Sidecar, load_sidecar
from tests.conftest import PROJECT
from tests.manual.conftest import GOOD

AI_SYSTEMS = ["loan_approval"]


def _load(tmp_path, text: str | bytes, name: str = "policy.pdf.evidence.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path, load_sidecar(path, AI_SYSTEMS)


def test_a_good_sidecar_gives_the_summary_fields(tmp_path):
    _, loaded = _load(tmp_path, GOOD + "ai_system: loan_approval\nversion: '1.3'\n")
    assert loaded.problems == [] and loaded.sidecar is not None
    assert loaded.sidecar.metadata() == {
        "title": "AI policy",
        "owner": "aims-manager@example.com",
        "controls": ["A.2.2", "A.2.4"],
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
        "review_date": "2099-01-15",
        "ai_system": "loan_approval",
        "version": "1.3",
    }


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("2026", "2026-01-01", "2026-12-31"),  # YAML reads it as a number
        ("'2026-Q2'", "2026-04-01", "2026-06-30"),
        ("2026-11", "2026-11-01", "2026-11-30"),
        ("2026-11-25", "2026-11-25", "2026-11-25"),  # YAML reads it as a date
        ("2026-01..2026-06", "2026-01-01", "2026-06-30"),
    ],
)
def test_a_period_label_gives_the_validity(tmp_path, period, first, last):
    text = f"title: t\nowner: o\ncontrols: [A.3.2]\nperiod: {period}\nreview_date: 2099-01-01\n"
    _, loaded = _load(tmp_path, text)
    assert loaded.problems == []
    meta = loaded.sidecar.metadata()
    assert (meta["valid_from"], meta["valid_to"]) == (first, last)


def test_valid_to_may_be_left_open_and_controls_are_canonical(tmp_path):
    text = "title: t\nowner: o\ncontrols: [a.3.2, 7.5.3, A.3.2]\nvalid_from: 2026-01-01\nreview_date: '2027-01-01'\n"
    _, loaded = _load(tmp_path, text)
    assert loaded.problems == []
    meta = loaded.sidecar.metadata()
    assert meta["valid_to"] is None and meta["controls"] == ["7.5.3", "A.3.2"]
    assert meta["review_date"] == "2027-01-01"  # a quoted date is a date too


BASE = {
    "title": "title: AI policy",
    "owner": "owner: aims-manager@example.com",
    "controls": "controls: [A.2.2]",
    "valid_from": "valid_from: 2026-01-01",
    "review_date": "review_date: 2027-01-15",
}


def _with(**changes: str | None) -> str:
    lines = {**BASE, **changes}
    return "".join(f"{v}\n" for v in lines.values() if v is not None)


# (case, sidecar text, fragments every one of which a problem must hold: field and value named)
BAD = [
    ("missing title", _with(title=None), ["title: value <missing>: expected this key to be set"]),
    ("missing owner", _with(owner=None), ["owner: value <missing>"]),
    ("missing review date", _with(review_date=None), ["review_date: value <missing>"]),
    ("missing controls", _with(controls=None), ["controls: value <missing>"]),
    ("empty controls", _with(controls="controls: []"), ["controls: value []", "at least 1"]),
    (
        "unknown control",
        _with(controls="controls: [A.2.2, A.2.9]"),
        [":3:19: controls[1]: value 'A.2.9': unknown control id 'A.2.9' (did you mean A.2.4, A.2.3, A.2.2?)"],
    ),
    ("control not a text", _with(controls="controls: [A.2.2, 5]"), ["controls[1]: value 5"]),
    (
        "impossible date",
        _with(valid_from="valid_from: 2026-02-30"),
        [":4:1: valid_from: value '2026-02-30': expected a date as YYYY-MM-DD: day is out of range"],
    ),
    ("date as words", _with(review_date="review_date: next spring"), ["review_date: value 'next spring'"]),
    (
        "date and time",
        _with(review_date="review_date: 2027-01-15 10:00:00"),
        ["review_date: value '2027-01-15 10:00:00'", "expected a date as YYYY-MM-DD"],
    ),
    (
        "review before validity",
        _with(review_date="review_date: 2025-12-31"),
        [":5:1: review_date: value '2025-12-31': before valid_from 2026-01-01"],
    ),
    (
        "review before period",
        _with(valid_from="period: 2026", review_date="review_date: 2025-06-30"),
        ["review_date: value '2025-06-30': before period 2026-01-01"],
    ),
    (
        "validity ends before it starts",
        _with(valid_from="valid_from: 2026-01-01\nvalid_to: 2025-12-31"),
        ["valid_to: value '2025-12-31': before valid_from 2026-01-01"],
    ),
    ("no validity", _with(valid_from=None), ["valid_from: value <missing>: no validity"]),
    (
        "valid_to alone",
        _with(valid_from="valid_to: 2026-12-31"),
        ["valid_from: value <missing>: valid_to without valid_from"],
    ),
    (
        "period and dates",
        _with(valid_from="valid_from: 2026-01-01\nperiod: 2026"),
        ["period: value '2026': give period or valid_from/valid_to, not both"],
    ),
    ("bad period", _with(valid_from="period: 2026-13"), ["period: value '2026-13': invalid period"]),
    (
        "unknown AI system",
        _with(valid_from="valid_from: 2026-01-01\nai_system: loan_aproval"),
        ["ai_system: value 'loan_aproval': unknown AI system (did you mean loan_approval?)"],
    ),
    (
        "unknown key",
        _with(valid_from="valid_from: 2026-01-01\nreveiw_date: 2027-01-01"),
        ["reveiw_date: value"],
    ),
    (
        "duplicated key",
        _with(owner="owner: aims-manager@example.com\nowner: someone-else@example.com"),
        [":3:1: owner: duplicate key 'owner', first given at line 2"],
    ),
    ("unreadable YAML", "title: [AI policy\nowner: x\n", ["not valid YAML"]),
    ("a list, not a mapping", "- title: x\n", ["<root>: value list: expected a mapping"]),
    ("empty file", "", ["value an empty file: expected a mapping"]),
    ("YAML 1.1 boolean key", _with(owner="on: x\nowner: o"), ["key 'on' is read by YAML 1.1 as the boolean"]),
    (
        "boolean value",
        _with(valid_from="valid_from: 2026-01-01\nai_system: no"),
        ["ai_system: value False", "quote it"],
    ),
    ("anchor and alias", _with(owner="owner: &o x\nversion: *o"), ["anchors and aliases"]),
    (
        "two-line title",
        _with(title="title: |\n  AI\n  policy"),
        ["title: value 'AI\\npolicy\\n'", "expected one line"],
    ),
    (
        "version as a number",
        _with(valid_from="valid_from: 2026-01-01\nversion: 1.10"),
        ["version: value 1.1"],
    ),
]


@pytest.mark.parametrize(("case", "text", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_sidecar_is_refused_naming_file_field_and_value(tmp_path, case, text, fragments):
    path, loaded = _load(tmp_path, text)
    assert loaded.sidecar is None and loaded.problems, case
    assert all(p.startswith(f"{path}:") for p in loaded.problems), loaded.problems
    joined = "\n".join(loaded.problems)
    for fragment in fragments:
        assert fragment in joined, (case, loaded.problems)


def test_a_bad_period_is_one_problem_not_also_a_missing_validity(tmp_path):
    _, loaded = _load(tmp_path, _with(valid_from="period: 2026-13"))
    assert len(loaded.problems) == 1 and "period: value '2026-13'" in loaded.problems[0]


def test_every_problem_of_a_file_is_told_at_once(tmp_path):
    text = (
        "title: AI policy\nowner: o\ncontrols: [A.2.2, A.2.9]\nvalid_from: 2026-01-01\n"
        "valid_to: 2025-12-31\nreview_date: 2025-06-01\nai_system: loan_aproval\n"
    )
    _, loaded = _load(tmp_path, text)
    fields = [p.split(": ")[1] for p in loaded.problems]
    assert fields == ["controls[1]", "valid_to", "review_date", "ai_system"], loaded.problems
    # a bad sidecar still says what it can: its title (its controls are not all valid)
    assert loaded.partial == {"title": "AI policy"}


def test_what_a_bad_sidecar_still_says_reliably(tmp_path):
    text = _with(
        valid_from="valid_from: 2026-02-30\nai_system: loan_approval", controls="controls: [a.5.2, A.5.3]"
    )
    _, loaded = _load(tmp_path, text)
    assert loaded.sidecar is None
    assert loaded.partial == {
        "controls": ["A.5.2", "A.5.3"],
        "title": "AI policy",
        "ai_system": "loan_approval",
    }


def test_a_file_that_cannot_be_a_sidecar_is_not_parsed(tmp_path):
    path, loaded = _load(tmp_path, b"title: x\n" + b"#" * MAX_SIDECAR_BYTES)
    assert loaded.problems == [
        f"{path}: {MAX_SIDECAR_BYTES + 9} bytes: a sidecar is a few lines (at most {MAX_SIDECAR_BYTES} bytes)"
    ]
    _, loaded = _load(tmp_path, "title: caf\xe9\n".encode("latin-1"))
    assert "cannot be read as UTF-8 text" in loaded.problems[0]
    assert (
        load_sidecar(tmp_path / "absent.evidence.yaml", AI_SYSTEMS)
        .problems[0]
        .endswith("No such file or directory")
    )


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    """Nine levels of ten aliases are 10^9 nodes to walk: refused from the event stream, unexpanded."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    _, loaded = _load(tmp_path, "\n".join(lines) + "\n")
    assert loaded.problems and "anchors and aliases" in loaded.problems[0]


def test_the_json_schema_agrees_with_the_model(tmp_path):
    schema = json.loads(
        (PROJECT / "include" / "config" / "schemas" / "manual.sidecar.schema.json").read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    good = {"title": "t", "owner": "o", "controls": ["A.2.2"], "period": 2026, "review_date": "2027-01-01"}
    assert list(validator.iter_errors(good)) == []
    assert Sidecar.model_validate(good).validity == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert not validator.is_valid({**good, "reveiw_date": "2027-01-01"})
    assert not validator.is_valid({**good, "controls": ["A.2.9"]})  # editors complete the vocabulary
    assert not validator.is_valid({k: v for k, v in good.items() if k != "review_date"})
