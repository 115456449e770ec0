"""Suppression of small groups at its boundary: a group of exactly the minimum size is published, a
group one below it is suppressed, and a group absent from the data (count 0) is not a small group.

Attack (issue 12): "Suppression is never tested at the boundary (one below the minimum group size
against the minimum): an off-by-one passes too." The minimum is compared in
``GroupingResult.small_groups`` (``0 < n < min_size``) and in ``fairness.report.suppress`` (the same
comparison, per figure); mutation testing found ``n <= min_size``, ``1 < n`` and ``0 <= n`` surviving
in the first. (``evidence.redact.suppress_small_groups`` is tested at its boundary in
tests/evidence/test_mutation_kills.py.)
Each test below names the mutants it kills (file, line, operator).

Two groups sit one below the minimum, so that secondary suppression (no suppressed figure derivable
from the published ones and the total) has nothing more to hide: the group of exactly the minimum
stays published whatever the secondary rule.
"""

from __future__ import annotations

import pandas as pd
import pytest

from aimsflow.fairness.metrics import BASE_RATE, compute_group_metrics
from aimsflow.fairness.policy import Outcome, Verdict
from aimsflow.fairness.report import report_to_json

MIN = 10


def _frame(sizes: dict[str, int]) -> pd.DataFrame:
    """One row per person: group ``g``, label 1 for the first half (rounded down) of each group."""
    rows = []
    for group, n in sizes.items():
        rows += [{"g": group, "label": int(i < n // 2)} for i in range(n)]
    return pd.DataFrame(rows)


# A one below the minimum, D well below (not so close that A + D would give both away: the secondary
# suppression would then withhold B too); B exactly the minimum; C well above it.
SIZES = {"A": MIN - 1, "B": MIN, "C": 5 * MIN, "D": 3}


def _suppressed(value) -> bool:
    return isinstance(value, dict) and "suppressed" in value


@pytest.fixture(scope="module")
def report():
    return compute_group_metrics(_frame(SIZES), ["g"], "label", min_group_size=MIN)


def test_small_groups_is_one_below_the_minimum_not_the_minimum(report):
    """Kills fairness/metrics.py ``GroupingResult.small_groups`` (line 96): ``n < min_size`` ->
    ``n <= min_size`` (the group of exactly the minimum would be suppressed)."""
    assert report.groupings["g"].small_groups(MIN) == {"A", "D"}
    assert report.groupings["g"].small_groups(MIN + 1) == {"A", "B", "D"}
    assert report.groupings["g"].small_groups(MIN - 1) == {"D"}  # A (MIN - 1) is published at MIN - 1


def test_a_group_of_one_is_small_and_an_absent_group_is_not(report):
    """Kills fairness/metrics.py ``GroupingResult.small_groups`` (line 96): ``0 < n`` -> ``1 < n`` (a
    group of one person published) and ``0 < n`` -> ``0 <= n`` (a reference group nobody belongs to
    reported as suppressed, hiding that it is absent)."""
    grouping = report.groupings["g"]
    counts = {"one": 1, "absent": 0, "B": MIN}
    assert type(grouping)(grouping.name, grouping.features, counts, {}).small_groups(MIN) == {"one"}


def test_metrics_json_publishes_the_minimum_and_suppresses_one_below(report):
    """The evidence document (metrics.json): counts and per-group figures of B (exactly the minimum)
    are published, those of A (one below) and D (well below) are suppression markers, and the grouping says two
    groups are suppressed. Kills the ``<``/``<=`` mutants of ``fairness/report.py`` ``suppress``
    (``0 < counts.get(group, 0) < min_size``)."""
    doc = report_to_json(report, [])
    g = doc["groupings"]["g"]
    assert doc["min_group_size"] == MIN
    assert g["counts"]["B"] == MIN and g["counts"]["C"] == 5 * MIN
    assert _suppressed(g["counts"]["A"]) and _suppressed(g["counts"]["D"])
    by_group = g["metrics"][BASE_RATE]["by_group"]
    assert not _suppressed(by_group["B"]) and by_group["B"] == pytest.approx(0.5)
    assert _suppressed(by_group["A"]) and _suppressed(by_group["D"])
    assert g["suppressed_groups"] == 2


def test_metrics_json_boundary_follows_the_minimum_given(report):
    """With the minimum raised by one, B (now one below) is suppressed too: the comparison uses the
    minimum passed to ``report_to_json``, not the one the report was computed with."""
    g = report_to_json(report, [], min_group_size=MIN + 1)["groupings"]["g"]
    assert _suppressed(g["counts"]["B"]) and not _suppressed(g["counts"]["C"])
    assert g["suppressed_groups"] == 3


def test_a_reference_group_absent_from_the_data_is_not_suppressed():
    """fairness/report.py ``suppress``: only the groups the suppression plan withholds get a marker; an
    absent group (figure 0.0, which ``small_groups`` never lists) and unknown groups keep their figure."""
    from aimsflow.fairness.report import suppress

    class OnlyOne:
        def marker(self, grouping: str, group: str):
            return {"suppressed": "small"} if (grouping, group) == ("g", "one") else None

    figures = {"absent": 0.0, "one": 1.0, "B": 0.5, "unknown": 0.25}
    out = suppress("g", figures, OnlyOne())
    assert out["absent"] == 0.0 and out["B"] == 0.5 and out["unknown"] == 0.25
    assert _suppressed(out["one"])


def _verdict(group: str | None, value: float = 0.3) -> Verdict:
    return Verdict("representation", "g", "representation_gap", value, "<= 0.1", Outcome.breach, "gap", group)


def test_a_verdict_naming_a_group_of_the_minimum_keeps_its_value(report):
    """fairness/report.py ``_verdict_json``: a verdict's value is suppressed only when its group is
    small. Kills ``... and grouping is not None and group in small`` -> ``(...) or group in small``
    (every verdict naming a group suppressed) and the ``in`` -> ``not in`` mutants."""
    doc = report_to_json(report, [_verdict("B"), _verdict("A")])
    b, a = doc["verdicts"]
    assert b["value"] == 0.3 and b["detail"] == "gap"
    assert _suppressed(a["value"]) and "suppressed" in a["detail"] and "'A'" in a["detail"]


def test_a_verdict_without_a_group_is_never_suppressed(report):
    """fairness/report.py ``_verdict_json``: a figure of the whole grouping (no group) keeps its value.
    Kills ``group is not None and grouping is not None`` -> ``group is not None or (...)``."""
    doc = report_to_json(report, [_verdict(None)])
    assert doc["verdicts"][0]["value"] == 0.3 and doc["verdicts"][0]["detail"] == "gap"


def test_metrics_json_header_and_verdict_counts(report):
    """fairness/report.py ``report_to_json``/``_grouping_json``/``_metric_json``: the fields an auditor
    reads, under their names (kills the key-string mutants), an outcome no verdict has counts 0 (kills
    ``tally.get(o, 0)`` -> ``None``/``1``/default: "1 breach" where there is none), and the overall
    figure is there (kills ``_figure(metric.overall)`` -> ``_figure(None)``)."""
    doc = report_to_json(report, [_verdict("C")])
    assert doc["schema"] == "aimsflow.fairness/1"
    assert doc["rows"] == sum(SIZES.values()) and doc["label"] == "label" and doc["predictions"] is None
    assert doc["sensitive_features"] == ["g"] and doc["intersection_depth"] == 1
    assert doc["verdict_counts"] == {"pass": 0, "breach": 1, "insufficient data": 0}
    assert doc["status"] == "failed"
    g = doc["groupings"]["g"]
    assert g["features"] == ["g"]
    overall = g["metrics"][BASE_RATE]["overall"]
    assert overall == pytest.approx(sum(n // 2 for n in SIZES.values()) / sum(SIZES.values()))
