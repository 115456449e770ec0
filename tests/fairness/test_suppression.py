"""Secondary (complementary) suppression: no suppressed figure of the fairness evidence can be computed
from the published ones (counts, per-feature margins, intersections, rates and their spreads)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimsflow.fairness.metrics import BASE_RATE, SEPARATOR, FairnessReport, compute_group_metrics
from aimsflow.fairness.policy import FairnessPolicy, evaluate
from aimsflow.fairness.report import report_to_json, summary_markdown

PRIMARY = {"suppressed": "group size < 30"}


def _frame(groups: dict[str, tuple[int, int]], feature: str = "g") -> pd.DataFrame:
    """``{group: (rows, positives)}`` as a frame with one sensitive feature and a 0/1 label."""
    values, labels = [], []
    for group, (n, positives) in groups.items():
        values += [group] * n
        labels += [1] * positives + [0] * (n - positives)
    return pd.DataFrame({feature: values, "label": labels})


def _hidden(figures: dict[str, Any]) -> set[str]:
    return {g for g, v in figures.items() if isinstance(v, dict) and "suppressed" in v}


def _equations(report: FairnessReport) -> list[tuple[list[tuple[str, str]], tuple[str, str] | None]]:
    """Every linear relation a reader knows between group counts: each grouping sums to the rows
    (``None``: the published total), and each cell of a grouping is the sum of the cells of every
    grouping with one feature more that project onto it. Written here independently of the code."""
    out: list[tuple[list[tuple[str, str]], tuple[str, str] | None]] = []
    for name, grouping in report.groupings.items():
        out.append(([(name, g) for g in grouping.counts], None))
        features = grouping.features
        for drop in range(len(features)) if len(features) > 1 else ():
            rest = features[:drop] + features[drop + 1 :]
            parent = SEPARATOR.join(rest)
            lines: dict[str, list[tuple[str, str]]] = {}
            for g in grouping.counts:
                parts = g.split(SEPARATOR)
                lines.setdefault(SEPARATOR.join(parts[:drop] + parts[drop + 1 :]), []).append((name, g))
            for h, cells in lines.items():
                out.append((cells, (parent, h)))
    return out


def _derivable_counts(report: FairnessReport, doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Suppressed counts that are a linear function of the published ones (rank test: the unit vector
    of the cell lies in the row space of the relations restricted to the suppressed cells)."""
    hidden = [(n, g) for n, gr in doc["groupings"].items() for g in sorted(_hidden(gr["counts"]))]
    if not hidden:
        return []
    index = {cell: i for i, cell in enumerate(hidden)}
    rows = []
    for cells, margin in _equations(report):
        row = np.zeros(len(hidden))
        for cell in cells:
            if cell in index:
                row[index[cell]] += 1
        if margin is not None and margin in index:
            row[index[margin]] -= 1
        if row.any():
            rows.append(row)
    matrix = np.array(rows) if rows else np.zeros((0, len(hidden)))
    rank = np.linalg.matrix_rank(matrix) if len(rows) else 0
    out = []
    for cell, i in index.items():
        unit = np.zeros(len(hidden))
        unit[i] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            out.append(cell)
    return out


def test_one_suppressed_group_forces_a_second():
    """Attack: with one group suppressed its count was the total minus the others (50 + 40 + ? = 95,
    so c = 5), and its rate likewise from the overall rate. Secondary suppression withholds the
    smallest published group too, so neither can be computed."""
    df = _frame({"a": (50, 50), "b": (40, 10), "c": (5, 1)})
    report = compute_group_metrics(df, ["g"], "label", min_group_size=30)
    doc = report_to_json(report, [])
    counts = doc["groupings"]["g"]["counts"]
    assert counts["c"] == PRIMARY
    assert _hidden(counts) == {"b", "c"}
    assert counts["b"]["suppressed"].startswith("complementary")
    assert counts["a"] == 50
    assert doc["rows"] - sum(v for v in counts.values() if isinstance(v, int)) == 45  # b + c, not c
    for metric in doc["groupings"]["g"]["metrics"].values():
        assert _hidden(metric["by_group"]) == {"b", "c"}
    assert _derivable_counts(report, doc) == []


def test_the_boundary_a_group_of_exactly_the_minimum_is_published_one_below_is_not():
    """Attack (mutation): suppression was never tested at the boundary, so ``n <= min`` or ``n < min - 1``
    passed too. A group of exactly the minimum is published; one row fewer is suppressed."""
    df = pd.DataFrame(
        {
            "s1": ["p"] * 29 + ["q"] * 200 + ["r"] * 300,
            "s2": ["u"] * 30 + ["v"] * 499,
            "label": ([0, 1] * 265)[:529],
        }
    )
    report = compute_group_metrics(df, ["s1", "s2"], "label", depth=1, min_group_size=30)
    doc = report_to_json(report, [])
    assert doc["groupings"]["s2"]["counts"] == {"u": 30, "v": 499}
    assert doc["groupings"]["s2"]["metrics"][BASE_RATE]["by_group"]["u"] == pytest.approx(15 / 30)
    assert doc["groupings"]["s1"]["counts"]["p"] == PRIMARY
    assert doc["groupings"]["s1"]["suppressed_groups"] == 1
    assert doc["groupings"]["s2"]["suppressed_groups"] == 0


def test_two_small_groups_that_add_up_to_their_maximum_get_a_complement():
    """Two groups of 29 under a minimum of 30: their sum (58) is published through the total, and
    each is known to be at most 29, so both are 29. The bounds a reader knows count too."""
    df = _frame({"a": (29, 10), "b": (29, 11), "c": (100, 50), "d": (200, 90)})
    report = compute_group_metrics(df, ["g"], "label", min_group_size=30)
    counts = report_to_json(report, [])["groupings"]["g"]["counts"]
    assert _hidden(counts) == {"a", "b", "c"} and counts["d"] == 200


def test_a_homogeneous_remainder_does_not_give_the_rate_away():
    """The suppressed groups' positives are the overall positives minus the published ones: when that
    is 0, every suppressed group's rate is 0. A complement with positives is withheld as well."""
    df = _frame({"a": (5, 0), "b": (40, 0), "c": (60, 30), "d": (80, 60)})
    report = compute_group_metrics(df, ["g"], "label", min_group_size=30)
    doc = report_to_json(report, [])
    hidden = _hidden(doc["groupings"]["g"]["counts"])
    assert {"a", "b"} < hidden
    positives = {"a": 0, "b": 0, "c": 30, "d": 60}
    assert 0 < sum(positives[g] for g in hidden) < sum(report.groupings["g"].counts[g] for g in hidden)


def test_a_withheld_group_that_is_the_extreme_withholds_difference_ratio_and_verdict():
    """The difference is max - min over the assessed groups: with the complementary group the lowest,
    its rate would be the highest minus the difference. Difference, ratio and the verdict's value and
    detail are withheld; the verdict itself (breach) stands."""
    df = _frame({"a": (50, 50), "b": (40, 0), "c": (5, 1)})
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 30,
            "intersection_depth": 1,
            "thresholds": {"demographic_parity_ratio": {"min": 0.8}},
        }
    )
    report = compute_group_metrics(df, ["g"], "label", min_group_size=30)
    verdicts = evaluate(report, policy)
    doc = report_to_json(report, verdicts)
    base = doc["groupings"]["g"]["metrics"][BASE_RATE]
    assert base["by_group"]["a"] == 1.0 and _hidden(base["by_group"]) == {"b", "c"}
    assert "suppressed" in base["difference"] and "suppressed" in base["ratio"]
    (verdict,) = doc["verdicts"]
    assert verdict["outcome"] == "breach" and "suppressed" in verdict["value"]
    assert "'b'" not in verdict["detail"] and "0.0000" not in verdict["detail"]
    text = summary_markdown(report, verdicts, policy)
    assert "| b |" in text and "| b | 40 |" not in text and "0.0000" not in text


def test_a_published_extreme_keeps_the_spread():
    """The negative case: the withheld group lies between the published ones, so difference and ratio
    say nothing about it and stay published."""
    df = _frame({"a": (50, 50), "b": (40, 20), "c": (5, 1), "d": (60, 0)})
    report = compute_group_metrics(df, ["g"], "label", min_group_size=30)
    base = report_to_json(report, [])["groupings"]["g"]["metrics"][BASE_RATE]
    assert _hidden(base["by_group"]) == {"b", "c"}
    assert base["difference"] == 1.0 and base["ratio"] == 0.0


def test_a_small_intersection_cell_is_protected_in_its_row_and_its_column():
    """In ``sex|region`` one cell is small; its row sums to a published sex count and its column to a
    published region count, so one complement is not enough: the withheld cells form a cycle."""
    rows = []
    for sex, region, n in [
        ("f", "n", 80),
        ("f", "s", 90),
        ("f", "e", 5),
        ("m", "n", 70),
        ("m", "s", 60),
        ("m", "e", 75),
    ]:
        rows += [(sex, region, i % 2) for i in range(n)]
    df = pd.DataFrame(rows, columns=["sex", "region", "label"])
    report = compute_group_metrics(df, ["sex", "region"], "label", depth=2, min_group_size=30)
    doc = report_to_json(report, [])
    cells = doc["groupings"]["sex|region"]["counts"]
    assert cells["f|e"] == PRIMARY
    assert len(_hidden(cells)) >= 4
    assert _derivable_counts(report, doc) == []


@st.composite
def _tables(draw) -> tuple[pd.DataFrame, int, int]:
    n = draw(st.integers(20, 160))
    weights = st.lists(st.integers(1, 12), min_size=2, max_size=4)
    w1, w2 = draw(weights), draw(weights)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    s1 = rng.choice([f"a{i}" for i in range(len(w1))], n, p=np.array(w1) / sum(w1))
    s2 = rng.choice([f"b{i}" for i in range(len(w2))], n, p=np.array(w2) / sum(w2))
    label = (rng.random(n) < draw(st.floats(0.05, 0.95))).astype(int)
    return (
        pd.DataFrame({"s1": s1, "s2": s2, "label": label}),
        draw(st.integers(3, 12)),
        draw(st.integers(1, 2)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_no_suppressed_count_can_be_computed_from_the_published_ones(case):
    """Property: for any table, no suppressed count equals the total (or its margin) minus the published
    ones, no suppressed count is a linear function of the published counts, and every group below the
    minimum is suppressed while every published group has at least the minimum."""
    df, min_size, depth = case
    report = compute_group_metrics(df, ["s1", "s2"], "label", depth=depth, min_group_size=min_size)
    doc = report_to_json(report, [])
    for name, grouping in report.groupings.items():
        counts = doc["groupings"][name]["counts"]
        for group, n in grouping.counts.items():
            if n < min_size:
                assert counts[group] == {"suppressed": f"group size < {min_size}"}
            elif not isinstance(counts[group], dict):
                assert counts[group] == n
    residual = doc.get("suppression", {}).get("residual", [])
    for cells, margin in _equations(report):
        if margin is None:
            total: Any = doc["rows"]
        else:
            total = doc["groupings"][margin[0]]["counts"][margin[1]]
        if isinstance(total, dict):
            continue
        published = [doc["groupings"][c[0]]["counts"][c[1]] for c in cells]
        hidden = [c for c, v in zip(cells, published, strict=True) if isinstance(v, dict)]
        if len(hidden) == 1 and list(hidden[0]) not in residual:
            pytest.fail(
                f"{hidden[0]} = {total} - the published {[v for v in published if isinstance(v, int)]}"
            )
    assert [c for c in _derivable_counts(report, doc) if list(c) not in residual] == []
    # Rates: in a single feature the withheld groups' positives are the overall positives minus the
    # published ones; 0 (or all of them) would show every withheld group's rate to be 0 (or 1).
    positives = df.groupby("s1")["label"].sum()
    if 0 < positives.sum() < len(df):
        hidden = _hidden(doc["groupings"]["s1"]["counts"])
        if hidden and not any(list(("s1", g)) in residual for g in hidden):
            withheld = int(sum(positives[g] for g in hidden))
            assert 0 < withheld < sum(report.groupings["s1"].counts[g] for g in hidden)


def test_every_figure_of_a_withheld_group_is_withheld_everywhere():
    """Counts, shares, every rate, the representation gap: a complementary group shows nothing."""
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m", "x"], n, p=[0.48, 0.48, 0.04]),
            "region": rng.choice(["n", "s", "e", "w"], n),
            "label": (rng.random(n) < 0.4).astype(int),
            "pred": (rng.random(n) < 0.4).astype(int),
            "income": np.where(rng.random(n) < 0.1, np.nan, 1.0),
        }
    )
    report = compute_group_metrics(
        df,
        ["sex", "region"],
        "label",
        predictions="pred",
        depth=2,
        min_group_size=30,
        reference_shares={"sex": {"f": 0.5, "m": 0.45, "x": 0.05}},
    )
    doc = report_to_json(report, [])
    for name, grouping in doc["groupings"].items():
        hidden = _hidden(grouping["counts"])
        for metric, figures in grouping["metrics"].items():
            shown = {g for g, v in figures["by_group"].items() if g in report.groupings[name].counts}
            assert hidden & shown <= _hidden(figures["by_group"]), (name, metric)
    for name, grouping in itertools.islice(doc["groupings"].items(), None):
        assert set(grouping["counts"]) == set(report.groupings[name].counts)
