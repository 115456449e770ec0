"""The reassessment's report.md: its risk table stays one row per risk whatever the register says."""

from __future__ import annotations

from aimsflow.risk.report import report_markdown
from tests._markdown import assert_rectangular


def _risk(rid: str, title: str) -> dict:
    score = {"likelihood": 2, "impact": 3, "score": 6, "level": "medium"}
    return {
        "id": rid,
        "title": title,
        "category": "data_quality",
        "assessed": score,
        "current": score,
        "flags": [],
    }


def _report(*risks: dict, fields: dict | None = None) -> str:
    snapshot = {
        "period": {"label": "2026-11-25"},
        "as_of": "2026-11-26T00:00:00+00:00",
        "methodology": {"appetite": 8, "max_acceptable": 12, "sha256": "b" * 64},
        "register": {"sha256": "a" * 64},
        "risks": list(risks),
    }
    changes = [{"id": "R-1", "change": "changed", "fields": fields or {}, "why": [], "records": []}]
    diff = {"previous": None, "risks": changes if fields else []}
    ledger = {"nonconformities": [], "open": 0, "closed": 0}
    return report_markdown(snapshot, diff, ledger, "passed")


def test_risk_titles_with_pipes_newlines_and_markup_stay_in_their_cell():
    """A register title is free text: a pipe, a line break or an HTML tag in it split the row, ended the
    table or became markup in the rendered page."""
    text = _report(_risk("R-1", "Income | score\nmismatch"), _risk("R-2", "<img src=x> in <b>bold</b>"))
    (table,) = assert_rectangular(text)
    assert [row[0] for row in table[1:]] == [
        "R-1 Income \\| score mismatch",
        "R-2 &lt;img src=x> in &lt;b>bold&lt;/b>",
    ]
    assert "<img" not in text and "<b>" not in text


def test_plain_titles_read_as_written():
    text = _report(_risk("R-DQ-01", "Defective application data reaches the model"))
    assert (
        "| R-DQ-01 Defective application data reaches the model | data_quality | 2x3=6 | 2x3=6 | medium | - |"
        in text
    )


def test_changed_fields_are_escaped_too():
    text = _report(_risk("R-1", "t"), fields={"title": {"from": "old\nline", "to": "<script>x</script>"}})
    assert "* title: old line -> &lt;script>x&lt;/script>" in text
