"""Secondary suppression, pinned where the recheck of ``make mutation`` (target suppression) left mutants
alive: which spreads ``metrics.json`` withholds, and the soundness of the audit's cheap proof. Each
test names the mutants it kills (function and change); the survivors that no input can tell from the
original are dispositioned in docs/mutation.md with the reason."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd

from aimsflow.fairness.metrics import BASE_RATE, FPR, MISSING_RATE, TPR, compute_group_metrics
from aimsflow.fairness.report import report_to_json
from aimsflow.fairness.suppression import _Audit, _Exposure, _Table, plan_suppression

MISSING = MISSING_RATE + "income"


def _groups(spec: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    """``{group: (rows, positive labels, negative labels predicted positive, missing incomes)}``; the
    positive labels are all predicted positive."""
    rows = []
    for group, (n, pos, fp, missing) in spec.items():
        for i in range(n):
            label = int(i < pos)
            rows.append((group, label, int(label or i - pos < fp), None if i < missing else 1.0))
    return pd.DataFrame(rows, columns=["g", "label", "pred", "income"])


# a (5 rows) is small, b (40) its complement. Only d has negative labels among the groups that are
# assessed (a is too small): the false-positive rate has one defined value and no spread. The missing
# rate comes after it; its highest value is b's (0.5), withheld, so its spread would give b's away.
AFTER_A_METRIC_WITHOUT_SPREAD = {
    "a": (5, 4, 0, 1),
    "b": (40, 40, 0, 20),
    "c": (50, 50, 0, 5),
    "d": (60, 0, 0, 6),
}


def test_a_spread_after_a_metric_with_one_defined_group_is_still_withheld():
    """The false-positive rate is defined for d only (no spread: one value); the missing rate after it
    has its largest value in b, a complement. Its difference (0.5 - 0.1) and ratio are withheld, as are
    b's figures; the base rate's spread (largest value 1.0 in b and the published c) stays. Kills
    _withheld_spreads ``if len(values) < 2: continue`` -> ``break`` (the metrics after the false-positive
    rate never looked at: the missing rate's spread published, and b's 0.5 = 0.1 + the difference)."""
    report = compute_group_metrics(
        _groups(AFTER_A_METRIC_WITHOUT_SPREAD), ["g"], "label", predictions="pred", min_group_size=30
    )
    metrics = report.groupings["g"].metrics
    assert list(metrics.values())[-1].name == MISSING and list(metrics).index(FPR) < list(metrics).index(
        MISSING
    )
    assert metrics[FPR].defined_groups() == {"d": 0.0}
    assert metrics[MISSING].defined_groups() == {"b": 0.5, "c": 0.1, "d": 0.1}
    plan = plan_suppression(report)
    assert plan.primary == {"g": frozenset({"a"})} and plan.secondary == {"g": frozenset({"b"})}
    assert plan.spreads == frozenset({("g", MISSING)})
    doc = report_to_json(report, [])
    missing = doc["groupings"]["g"]["metrics"][MISSING]
    assert "suppressed" in missing["difference"] and "suppressed" in missing["ratio"]
    assert "suppressed" in missing["by_group"]["b"] and missing["by_group"]["c"] == 0.1
    base = doc["groupings"]["g"]["metrics"][BASE_RATE]
    assert base["difference"] == 1.0 and base["ratio"] == 0.0
    assert doc["suppression"]["withheld_spreads"] == [f"g: {MISSING}"]
    assert doc["groupings"]["g"]["metrics"][TPR]["difference"] == 0.0


def test_a_feature_with_an_empty_name_and_value_covers_no_other_group():
    """A sensitive column named ``""`` with a group ``""`` (45 rows, no positive label: a and b's rows)
    is a published group with a base rate of 0, but it is no grouping of fewer features above ``g=a``:
    it tells a reader nothing about a. a (small) and b (its complement) have no positive label between
    them while c and d do, so their withheld base rates are forced to 0 and c is withheld too. Kills
    _Table.of ``for k in range(1, len(features))`` -> ``range(len(features))`` (the empty combination
    of features makes the cell ``("", "")`` an ancestor of every cell: a's and b's 0 look shown already,
    c is published and a reader computes a's and b's rate, 0)."""
    rows = []
    for group, n, positives in [("a", 5, 0), ("b", 40, 0), ("c", 50, 25), ("d", 60, 30)]:
        rows += [(group, "" if group in ("a", "b") else "x", int(i < positives)) for i in range(n)]
    df = pd.DataFrame(rows, columns=["g", "", "label"])
    report = compute_group_metrics(df, ["", "g"], "label", min_group_size=30)
    assert report.groupings[""].counts == {"": 45, "x": 110}
    plan = plan_suppression(report)
    assert plan.primary == {"g": frozenset({"a"})} and plan.secondary == {"g": frozenset({"b", "c"})}
    doc = report_to_json(report, [])
    assert doc["groupings"][""]["metrics"][BASE_RATE]["by_group"][""] == 0.0
    by_group = doc["groupings"]["g"]["metrics"][BASE_RATE]["by_group"]
    assert {g for g, v in by_group.items() if isinstance(v, dict)} == {"a", "b", "c"}


def test_the_plan_goes_on_while_the_audit_finds_something_exposed():
    """Regression (found through the mutant ``range(len(table.cells) + 1)`` -> ``+ 2`` of
    plan_suppression, which no test told apart): the loop of audits was cut after one round more than
    there are cells. Each round that finds an exposure adds a complement or a residual cell, so up to
    twice as many rounds can be needed; a cut loop returned a plan with an exposed figure that was
    neither protected nor listed in ``residual`` (which the evidence names). Here the audit is scripted
    (4 cells): a is exposed three times (each time a complement: b, c, d), then a, b and c one after the
    other with nothing left to withhold. That is six rounds that change the plan; all of them count."""
    report = compute_group_metrics(
        _groups({"a": (5, 1, 0, 0), "b": (40, 20, 0, 0), "c": (50, 25, 0, 0), "d": (60, 30, 0, 0)}),
        ["g"],
        "label",
        min_group_size=30,
    )
    cells = _Table.of(report).cells
    a, b, c = (cells.index(("g", g)) for g in "abc")
    script = [[a], [a], [a], [a], [b], [c]]

    def exposed_counts(self):
        return [_Exposure(cell, "count") for cell in (script.pop(0) if script else [])]

    with (
        mock.patch.object(_Audit, "exposed_counts", exposed_counts),
        mock.patch.object(_Audit, "exposed_rates", lambda self: []),
    ):
        plan = plan_suppression(report)
    assert script == []
    assert plan.primary == {"g": frozenset({"a"})} and plan.secondary == {"g": frozenset({"b", "c", "d"})}
    assert plan.residual == (("g", "a"), ("g", "b"), ("g", "c"))


def test_the_null_space_of_a_thousand_withheld_groups_has_every_free_direction():
    """1,000 groups of one or two rows (all small) and one large group: the only relation among the
    withheld counts is that they add up to the rows minus the large group's, so the directions a reader
    cannot pin down form a space of 999 dimensions; a missing one makes the audit think a withheld
    count is fixed by the published ones (or weakens its cheap proof). The eigenvalues of ``M^T M`` are
    1,000 and 0 (999 times, computed as a few 1e-12): the cut is relative to the largest. Kills
    _null_space ``values < 1e-9 * max(1.0, ...)`` -> ``1e-9 / max(1.0, ...)`` (a cut at 1e-12 drops
    computed zeros: 998 dimensions)."""
    sizes = {f"g{i:04d}": 1 + i % 2 for i in range(1000)} | {"large": 1000}
    report = compute_group_metrics(
        pd.DataFrame({"g": [g for g, n in sizes.items() for _ in range(n)], "label": 0}),
        ["g"],
        "label",
        min_group_size=3,
    )
    table = _Table.of(report)
    small = {i for i, (_, g) in enumerate(table.cells) if g != "large"}
    audit = _Audit(table, small, small, 3, set())
    null = audit.null()
    assert null.shape == (1000, 999)
    assert abs(audit.matrix @ null).max() < 1e-9
    assert abs(null.T @ null - np.eye(999)).max() < 1e-9


def _sex_region(spec: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """``(sex, region, rows, positive labels)`` per cell as a frame."""
    rows = []
    for sex, region, n, positives in spec:
        rows += [(sex, region, int(i < positives)) for i in range(n)]
    return pd.DataFrame(rows, columns=["sex", "region", "label"])


def test_a_rate_forced_to_zero_by_an_upper_bound_is_exposed():
    """Minimum 10. ``f|n`` (3 rows, no positive label) and ``m|s`` (9 rows, all 9 positive) are small;
    the counts need ``f|s`` and ``m|n`` as complements (a 2 x 2 block under published margins). A
    reader knows the block's positives only up to moving one from ``f|s`` and ``m|n`` to ``f|n`` and
    ``m|s``; but ``m|s`` is small, so it has at most 9 positives, which it has already: ``f|n`` cannot
    have one, its withheld rate is 0 for certain. The audit (its linear programme, with the bounds)
    finds it, and the margins ``region=n`` and ``region=s`` are withheld as well. Kills
    _Audit.exposed_rates ``_range(i, rhs, bounds, lower=False)`` -> ``_range(i, rhs, None, ...)`` (the
    programme without the groups' upper bounds: f|n could have one, the margins are published and f|n's
    rate of 0 with them)."""
    report = compute_group_metrics(
        _sex_region(
            [
                ("f", "n", 3, 0),
                ("f", "s", 12, 6),
                ("f", "e", 40, 20),
                ("m", "n", 15, 5),
                ("m", "s", 9, 9),
                ("m", "e", 50, 25),
            ]
        ),
        ["sex", "region"],
        "label",
        depth=2,
        min_group_size=10,
    )
    table = _Table.of(report)
    fn, fs, ms, mn = (table.cells.index(("sex|region", g)) for g in ("f|n", "f|s", "m|s", "m|n"))
    exposed = _Audit(table, {fn, fs, ms, mn}, {fn, ms}, 10, set()).exposed_rates()
    assert [(e.cell, e.need) for e in exposed] == [(fn, f"zero:{BASE_RATE}")]
    plan = plan_suppression(report)
    assert plan.primary == {"sex|region": frozenset({"f|n", "m|s"})}
    assert plan.secondary == {"sex|region": frozenset({"f|s", "m|n"}), "region": frozenset({"n", "s"})}
    assert plan.residual == ()


def test_the_cheap_proof_certifies_a_count_only_when_it_can_move_by_one():
    """``_moves`` by hand: two withheld counts whose sum is known (one free direction, (1, 1)/sqrt 2;
    the first count's step along it is 1/2). Held in [3, 3.8] the first count can move by 0.8 only:
    not certified (the linear programme decides); in [3, 4] by exactly one: certified; in [3, 3.99]
    not. Kills _moves ``span * step`` -> ``span / step`` (0.8 read as 3.2: a count fixed to within
    less than one certified as safe, the programme skipped, the figure published), and the threshold
    ``1 - eps`` -> ``1 + eps`` / ``2 - eps`` (a move of exactly one refused)."""
    from aimsflow.fairness.suppression import _moves

    null = np.array([[1.0], [1.0]]) / np.sqrt(2.0)
    truth = np.array([3.0, 3.0])
    wide = (0.0, 10.0)
    assert not _moves(truth, null, 0, [(3.0, 3.8), wide], both_ways=True)
    assert _moves(truth, null, 0, [(3.0, 4.0), wide], both_ways=True)
    assert not _moves(truth, null, 0, [(3.0, 3.99), wide], both_ways=True)
    # Upwards only (a rate's numerator): the room above the truth counts, not the room below it.
    assert not _moves(truth, null, 0, [(1.0, 3.5), wide], both_ways=False)
    assert _moves(truth, null, 0, [(1.0, 3.5), wide], both_ways=True)
    assert _moves(truth, null, 0, [(1.0, 4.0), wide], both_ways=False)
