"""What ``metrics.json`` says about its own suppression, the detail of a spread verdict beside a withheld
group, and the soundness of the audit's cheap proof: pinned where mutation testing found them
unchecked (``make mutation``, target suppression). Each test names the mutants it kills."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from aimsflow.fairness.metrics import BASE_RATE, compute_group_metrics
from aimsflow.fairness.policy import FairnessPolicy, evaluate
from aimsflow.fairness.report import report_to_json
from aimsflow.fairness.suppression import _Audit, _Table
from tests.fairness.test_suppression_audit import _table


def _frame(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    values, labels = [], []
    for group, (n, positives) in groups.items():
        values += [group] * n
        labels += [1] * positives + [0] * (n - positives)
    return pd.DataFrame({"g": values, "label": labels})


# a (5 rows, rate 0.2) is withheld as small, b (the smallest published group) as its complement; e has
# the same rate as a and is the lowest published group, so the spread is published.
GROUPS = {"a": (5, 1), "b": (40, 20), "e": (50, 10), "f": (60, 45)}


def _doc(**thresholds):
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 30,
            "intersection_depth": 1,
            "thresholds": thresholds,
            "reference_shares": {"g": {"a": 0.05, "b": 0.25, "e": 0.3, "f": 0.4}},
        }
    )
    report = compute_group_metrics(
        _frame(GROUPS), ["g"], "label", min_group_size=30, reference_shares=policy.reference_shares
    )
    return report_to_json(report, evaluate(report, policy))


def test_a_spread_verdict_beside_a_withheld_group_names_published_groups_only():
    """The lowest base rate (0.2) is both a's (withheld) and e's (published): the spread stands, and its
    detail names e, never a (the policy's own detail would name the first group with the lowest value:
    'a' 0.2000, a withheld group's figure). Kills report._verdict_json ``threshold in
    _SPREAD_THRESHOLDS and plan.hidden(grouping)`` -> ``not in`` / ``plan.hidden(None)``, ``detail`` ->
    ``None`` / another key."""
    doc = _doc(demographic_parity_ratio={"min": 0.8})
    assert doc["groupings"]["g"]["counts"]["a"] == {"suppressed": "group size < 30"}
    assert "suppressed" in doc["groupings"]["g"]["counts"]["b"]
    assert doc["groupings"]["g"]["metrics"][BASE_RATE]["ratio"] == pytest.approx(0.2 / 0.75)
    (verdict,) = doc["verdicts"]
    assert verdict["detail"] == "lowest published 'e' 0.2000, highest published 'f' 0.7500"


def test_a_published_representation_verdict_keeps_its_own_detail():
    """The worst representation gap belongs to a published group: its detail stays the gap's, not a
    spread's. Kills report._verdict_json ``threshold in _SPREAD_THRESHOLDS and ...`` -> ``or``."""
    doc = _doc(representation_gap={"max": 0.5})
    (verdict,) = doc["verdicts"]
    assert verdict["value"] is not None and not isinstance(verdict["value"], dict)
    assert verdict["detail"].startswith("largest gap: ")


def test_metrics_json_states_its_suppression():
    """The ``suppression`` section of ``metrics.json``: the rule, how many groups are withheld as small
    and as complements, the withheld spreads and the residual cells. Kills report.report_to_json
    ``"suppression"`` -> another key and Suppression.as_dict every key and the rule's text changed,
    ``list(c)`` -> ``list(None)``."""
    doc = _doc()
    assert doc["suppression"] == {
        "rule": "primary: groups below min_group_size; complementary: groups withheld so that no "
        "withheld count or 0/1 rate follows from the published figures (docs/fairness.md)",
        "primary_groups": 1,
        "complementary_groups": 1,
        "withheld_spreads": [],
        "residual": [],
    }
    report = compute_group_metrics(
        _table({("a0", "b0"): (19, 19), ("a0", "b1"): (1, 1), ("a1", "b0"): (28, 0)}),
        ["s1", "s2"],
        "label",
        depth=2,
        min_group_size=12,
    )
    stated = report_to_json(report, [])["suppression"]
    assert stated["residual"] == [["s1|s2", "a1|b0"]]
    assert stated["withheld_spreads"] and all(": " in s for s in stated["withheld_spreads"])


def _audits():
    """Audits of many withheld sets (as small when below the minimum, else as complements): every set of
    up to three cells of a three-feature table without intersections, and every four cells of a 3 x 2
    intersection, alone and with one margin cell."""
    rng = np.random.default_rng(7)
    n, min_size = 120, 15
    df = pd.DataFrame(
        {
            "s1": rng.choice(["p", "q", "r"], n, p=[0.1, 0.35, 0.55]),
            "s2": rng.choice(["u", "v"], n, p=[0.2, 0.8]),
            "s3": rng.choice(["x", "y", "z"], n, p=[0.12, 0.3, 0.58]),
            "label": (rng.random(n) < 0.3).astype(int),
            "pred": (rng.random(n) < 0.4).astype(int),
        }
    )
    flat = compute_group_metrics(
        df, ["s1", "s2", "s3"], "label", predictions="pred", depth=1, min_group_size=min_size
    )
    deep = compute_group_metrics(
        df, ["s1", "s2"], "label", predictions="pred", depth=2, min_group_size=min_size
    )
    sets = []
    table = _Table.of(flat)
    sets += [(table, set(h)) for k in (2, 3) for h in itertools.combinations(range(len(table.cells)), k)]
    table = _Table.of(deep)
    inner = [i for i, (name, _) in enumerate(table.cells) if "|" in name]
    margins = [i for i, (name, _) in enumerate(table.cells) if "|" not in name]
    for four in itertools.combinations(inner, 4):
        sets.append((table, set(four)))
        sets += [(table, set(four) | {m}) for m in margins]
    for table, hidden in sets:
        primary = {c for c in hidden if table.counts[c] < min_size}
        yield table, _Audit(table, hidden, primary, min_size, set())


def test_the_cheap_proof_never_certifies_what_the_linear_programme_finds_exposed():
    """Soundness of ``_moves``: whenever it certifies that a withheld count can change by one (both
    ways) or a withheld rate's numerator can rise by one, the linear programme agrees. A wrong "safe"
    skips the programme and publishes a derivable figure. Kills _moves ``return False`` -> ``True``
    on an empty interval, ``span`` with ``both_ways`` -> ``or True`` (a rate judged both ways) and the
    bound arithmetic mutants that widen the interval (``span * step`` -> ``span / step`` is killed by
    ``test_suppression_kills_2.py::test_the_cheap_proof_certifies_a_count_only_when_it_can_move_by_one``:
    no table of these audits reaches it)."""
    checked = certified = 0
    for table, audit in _audits():
        unknown = audit.unknown
        truth = np.array([float(table.counts[u]) for u in unknown])
        rhs = audit._rhs(table.counts, table.rows)
        for i in range(len(unknown)):
            if audit._certified(truth, i, audit.count_bounds, both_ways=True):
                lo, hi = audit._range(i, rhs, audit.count_bounds)
                assert hi - lo >= 1 - 1e-7, (table.cells[unknown[i]], lo, hi)
                certified += 1
            checked += 1
        first = table.equations[0][0]
        for num, den in table.rates.values():
            for values in (num, den - num):
                if int(values[first].sum()) == 0:
                    continue
                vtruth = np.array([float(values[u]) for u in unknown])
                bounds = [(0.0, float(b[1])) for b in audit.count_bounds]
                vrhs = audit._rhs(values, int(values[first].sum()))
                for i, u in enumerate(unknown):
                    if values[u] != 0 or den[u] == 0:
                        continue
                    if audit._certified(vtruth, i, bounds, both_ways=False):
                        assert audit._range(i, vrhs, bounds, lower=False)[1] >= 1 - 1e-7
                        certified += 1
                    checked += 1
    assert checked > 500 and certified > 50  # the property was exercised, not vacuous


def test_spreads_are_withheld_in_every_grouping_and_after_every_metric():
    """The withheld group (a, the highest base rate) is in the second grouping, the first has nothing
    withheld; reference shares put a representation gap (no spread) before the base rate. The base
    rate's difference and ratio are withheld all the same. Kills _withheld_spreads ``continue`` ->
    ``break`` after a grouping without withheld groups and after a metric without a spread (both
    would publish the spread that gives a's rate away)."""
    rows = []
    for group, n, positives in [("a", 5, 5), ("b", 40, 10), ("c", 50, 20), ("d", 60, 30)]:
        rows += [(group, "x" if i % 2 else "y", int(i < positives)) for i in range(n)]
    df = pd.DataFrame(rows, columns=["g", "s", "label"])
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 30,
            "intersection_depth": 1,
            "thresholds": {},
            "reference_shares": {"g": {"a": 0.1, "b": 0.3, "c": 0.3, "d": 0.3}},
        }
    )
    report = compute_group_metrics(
        df, ["s", "g"], "label", min_group_size=30, reference_shares=policy.reference_shares
    )
    assert list(report.groupings) == ["s", "g"] and not report.groupings["s"].small_groups(30)
    base = report_to_json(report, [])["groupings"]["g"]["metrics"][BASE_RATE]
    assert "suppressed" in base["by_group"]["a"]
    assert "suppressed" in base["difference"] and "suppressed" in base["ratio"]


def test_a_margin_shares_a_relation_with_its_cells_also_when_it_is_the_first_cell():
    """``sex=f`` is the first cell of the table (index 0) and the margin of ``f|*``: it is their
    neighbour and they are its, like every other margin (the complement search walks these links).
    Kills _neighbours ``{margin} if margin >= 0`` -> ``> 0`` / ``>= 1`` (cell 0 cut off from its cells:
    another complement, found by a random search: the first margins are no longer withheld)."""
    from aimsflow.fairness.suppression import _neighbours

    rows = []
    for sex, region, n in [("f", "n", 40), ("f", "s", 45), ("m", "n", 50), ("m", "s", 55)]:
        rows += [(sex, region, i % 2) for i in range(n)]
    report = compute_group_metrics(
        pd.DataFrame(rows, columns=["sex", "region", "label"]),
        ["sex", "region"],
        "label",
        depth=2,
        min_group_size=30,
    )
    table = _Table.of(report)
    assert table.cells[0] == ("sex", "f")
    below = {table.cells.index(("sex|region", g)) for g in ("f|n", "f|s")}
    links = _neighbours(table)
    assert below <= links[0] and all(0 in links[c] for c in below)
    region_n = table.cells.index(("region", "n"))
    assert table.cells.index(("sex|region", "f|n")) in links[region_n]


def test_a_label_holding_the_separator_drops_only_its_own_groupings_relations():
    """A value of ``s1`` holds ``|`` (``"a|x"``): the intersections with s1 cannot be split into their
    margins and lose those relations, but ``s2|s3`` (the last grouping) keeps its own, so its small
    cell is protected exactly as with a clean label. Kills _Table.of ``continue`` -> ``break`` at such
    a label (every later grouping's relations dropped: the small cell's count would follow from its
    margins and the published cells beside it)."""
    from aimsflow.fairness.suppression import plan_suppression

    n = 400
    i = np.arange(n)
    s2 = np.random.default_rng(5).choice(["u", "v"], n)
    s3 = np.where((s2 == "u") & (i % 40 == 1), "w", np.where(i % 3 == 0, "x", "y"))

    def plan(first: str):
        df = pd.DataFrame(
            {"s1": np.where(i % 2 == 0, first, "b"), "s2": s2, "s3": s3, "label": (i % 5 == 0).astype(int)}
        )
        report = compute_group_metrics(df, ["s1", "s2", "s3"], "label", depth=2, min_group_size=10)
        return report, plan_suppression(report)

    _, clean = plan("ax")
    odd_report, odd = plan("a|x")
    assert list(odd_report.groupings)[-1] == "s2|s3"
    assert clean.primary.get("s2|s3") == odd.primary.get("s2|s3") == frozenset({"u|w"})
    assert odd.hidden("s2|s3") == clean.hidden("s2|s3") and odd.hidden("s3") == clean.hidden("s3")


def test_a_withheld_spread_verdict_says_why_its_figure_is_missing():
    """Kills report._verdict_json the detail "figure withheld: its largest or smallest group is
    suppressed; the outcome stands" -> ``XX...XX`` / upper case."""
    groups = {"a": (50, 50), "b": (40, 0), "c": (5, 1)}
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 30,
            "intersection_depth": 1,
            "thresholds": {"demographic_parity_ratio": {"min": 0.8}},
        }
    )
    report = compute_group_metrics(_frame(groups), ["g"], "label", min_group_size=30)
    (verdict,) = report_to_json(report, evaluate(report, policy))["verdicts"]
    assert verdict["outcome"] == "breach" and "suppressed" in verdict["value"]
    assert (
        verdict["detail"]
        == "figure withheld: its largest or smallest group is suppressed; the outcome stands"
    )


def _two(cells: dict[tuple[str, str], tuple[int, int, int, int]]) -> pd.DataFrame:
    """``{(s1, s2): (rows, positives, predicted positives, true positives)}`` as a frame."""
    rows = []
    for (a, b), (n, y, p, tp) in cells.items():
        kinds = [(1, 1)] * tp + [(1, 0)] * (y - tp) + [(0, 1)] * (p - tp)
        kinds += [(0, 0)] * (n - len(kinds))
        rows += [(a, b, label, pred) for label, pred in kinds]
    return pd.DataFrame(rows, columns=["s1", "s2", "label", "pred"])


def test_a_protected_rate_does_not_end_the_search_for_exposed_ones():
    """Two features without intersection (minimum 8). Among the withheld cells sharing a need, the first
    is protected, a later one is not: the audit must go on to it and withhold ``s2=b2`` as well. Found by
    a random search over small tables (mutation testing). Kills _Audit.exposed_rates ``continue`` ->
    ``break`` after a suspect the cheap proof certifies."""
    from aimsflow.fairness.suppression import plan_suppression

    cells = {
        ("a0", "b0"): (3, 2, 0, 0),
        ("a0", "b1"): (1, 1, 0, 0),
        ("a0", "b2"): (3, 3, 0, 0),
        ("a1", "b0"): (1, 1, 0, 0),
        ("a1", "b1"): (5, 0, 0, 0),
        ("a1", "b2"): (21, 0, 19, 0),
        ("a2", "b0"): (3, 0, 0, 0),
        ("a2", "b1"): (2, 2, 1, 1),
        ("a2", "b2"): (12, 4, 12, 4),
    }
    report = compute_group_metrics(
        _two(cells), ["s1", "s2"], "label", predictions="pred", depth=1, min_group_size=8
    )
    plan = plan_suppression(report)
    assert plan.secondary == {"s1": frozenset({"a2"}), "s2": frozenset({"b1", "b2"})} and plan.residual == ()


def test_a_rate_without_denominator_is_no_exposure():
    """A withheld group with no positive label has no true-positive rate: nothing to derive, so it is
    no suspect, and no cell is declared residual (unprotectable) for it. Found by a random search over
    small tables (mutation testing). Kills _Audit.exposed_rates ``den[u] > 0`` -> ``>= 0``."""
    from aimsflow.fairness.suppression import plan_suppression

    cells = {
        ("a0", "b0"): (1, 0, 1, 0),
        ("a0", "b1"): (11, 0, 0, 0),
        ("a0", "b2"): (34, 0, 0, 0),
        ("a1", "b1"): (2, 0, 2, 0),
        ("a1", "b2"): (18, 0, 18, 0),
        ("a2", "b0"): (3, 0, 0, 0),
        ("a2", "b1"): (2, 0, 0, 0),
        ("a2", "b2"): (15, 11, 0, 0),
    }
    report = compute_group_metrics(
        _two(cells), ["s1", "s2"], "label", predictions="pred", depth=2, min_group_size=9
    )
    plan = plan_suppression(report)
    assert plan.residual == ()
    assert plan.hidden("s1|s2") >= {"a0|b0", "a1|b1", "a2|b0", "a2|b1"}
