"""The derivability audit of secondary suppression, checked where mutation testing found it unchecked.

``fairness/suppression.py`` decides which published figures a reader could use to compute a withheld
one, and withholds more until none can be. Two ways for it to go wrong change the published evidence:
a withheld figure becomes derivable (a complement missing), or a figure is withheld needlessly (a
complement too many). The tests in ``test_suppression.py`` mostly reach the cheap proof (``_moves``)
and never the linear programme behind it, nor a rate forced to 1, nor a metric after one with no
denominator. Each test below names the mutants it kills (function and operator).

The oracle for one sensitive feature is written here independently of the code: with one relation
(the withheld counts add up to the rows minus the published ones), each withheld count's range has a
closed form, and a withheld rate is forced to 0 (1) exactly when the withheld groups' numerators
(complements) add up to 0.
"""

from __future__ import annotations

from contextlib import nullcontext
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aimsflow.fairness import suppression
from aimsflow.fairness.metrics import (
    ACCURACY,
    BASE_RATE,
    FPR,
    MISSING_RATE,
    SELECTION_RATE,
    TPR,
    compute_group_metrics,
)
from aimsflow.fairness.suppression import _Audit, _Table, plan_suppression

# ---------------------------------------------------------------------------------------------------
# One sensitive feature: an independent oracle


def _frame(groups: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """``{group: (rows, positives, predicted positives among the positives, missing incomes[, predicted
    positives among the negatives])}``; by default the last is as many as among the positives (capped)."""
    g, label, pred, income = [], [], [], []
    for group, (n, pos, tp, missing, *rest) in groups.items():
        fp = rest[0] if rest else min(tp, n - pos)
        g += [group] * n
        label += [1] * pos + [0] * (n - pos)
        pred += [1] * tp + [0] * (pos - tp) + [1] * fp + [0] * (n - pos - fp)
        income += [np.nan] * missing + [1.0] * (n - missing)
    return pd.DataFrame({"g": g, "label": label, "pred": pred, "income": income})


def _rates(df: pd.DataFrame) -> dict[str, dict[str, tuple[int, int]]]:
    """metric -> group -> (numerator, denominator), counted from the rows, in the audit's order."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    by = df.groupby("g")
    y = by["label"].sum()
    n = by.size()
    tp = df[(df.label == 1) & (df.pred == 1)].groupby("g").size().reindex(n.index, fill_value=0)
    p = by["pred"].sum()
    correct = df[df.label == df.pred].groupby("g").size().reindex(n.index, fill_value=0)
    miss = df["income"].isna().groupby(df["g"]).sum()
    for name, num, den in (
        (BASE_RATE, y, n),
        (SELECTION_RATE, p, n),
        (ACCURACY, correct, n),
        (TPR, tp, y),
        (FPR, p - tp, n - y),
        (MISSING_RATE + "income", miss, n),
    ):
        out[name] = {str(k): (int(num[k]), int(den[k])) for k in n.index}
    return out


def _oracle(df: pd.DataFrame, min_size: int) -> tuple[set[str], set[str], set[str]]:
    """(primary, complementary, residual) groups of one feature, by the rules of the module docstring,
    computed in closed form: hidden counts range over [max(lo, S - sum of the others' hi),
    min(hi, S - sum of the others' lo)] with S the rows minus the published counts; a withheld rate is
    forced to 0 (1) when the withheld numerators (denominator - numerator) add up to 0. Each round
    withholds the smallest published group (count, then name) that helps the first exposure."""
    counts = {str(k): int(v) for k, v in df.groupby("g").size().items()}
    rows = sum(counts.values())
    rates = _rates(df)
    primary = {g for g, c in counts.items() if 0 < c < min_size}
    hidden, residual = set(primary), set()
    order = sorted(counts)
    for _ in range(len(counts) + 1):
        if not primary:
            break
        bounds = {g: (1, min_size - 1) if g in primary else (min_size, rows) for g in hidden}
        rest = rows - sum(c for g, c in counts.items() if g not in hidden)
        exposed: list[tuple[str, str | None, str | None]] = []  # (group, kind, metric)
        for g in sorted(hidden):
            others = [bounds[h] for h in hidden if h != g]
            lo = max(bounds[g][0], rest - sum(b[1] for b in others))
            hi = min(bounds[g][1], rest - sum(b[0] for b in others))
            if hi - lo < 1 and g not in residual:
                exposed.append((g, None, None))
        if not exposed:
            for metric, per in rates.items():
                if sum(d for _, d in per.values()) == 0:
                    continue
                for kind in ("zero", "one"):
                    value = {g: (v if kind == "zero" else d - v) for g, (v, d) in per.items()}
                    if sum(value.values()) == 0 or sum(value[g] for g in hidden) > 0:
                        continue
                    exposed += [
                        (g, kind, metric) for g in sorted(hidden) if per[g][1] > 0 and g not in residual
                    ]
        if not exposed:
            break
        added = None
        for g, kind, metric in exposed:
            if added is not None:
                break  # every group shares the one relation: audit again first
            helps = [
                h
                for h in order
                if h not in hidden
                and (
                    kind is None
                    or (rates[metric][h][0] if kind == "zero" else rates[metric][h][1] - rates[metric][h][0])
                    > 0
                )
            ]
            if helps:
                added = min(helps, key=lambda h: (counts[h], h))
                hidden.add(added)
            else:
                residual.add(g)
    return primary, hidden - primary, residual


def _planned(df: pd.DataFrame, min_size: int, shortcut: bool) -> tuple[set[str], set[str], set[str]]:
    report = compute_group_metrics(df, ["g"], "label", predictions="pred", min_group_size=min_size)
    # Without the cheap proof (``_moves``) every decision falls to the linear programme.
    off = mock.patch.object(_Audit, "_certified", lambda *a, **k: False) if not shortcut else nullcontext()
    with off:
        plan = plan_suppression(report)
    return (
        set(plan.primary.get("g", ())),
        set(plan.secondary.get("g", ())),
        {group for _, group in plan.residual},
    )


@st.composite
def _groups(draw) -> tuple[dict[str, tuple[int, ...]], int]:
    min_size = draw(st.integers(3, 12))
    out = {}
    for i in range(draw(st.integers(2, 6))):
        n = draw(st.integers(1, 3 * min_size))
        # Homogeneous groups (no positives, only positives, nothing missing) are what forces rates.
        pos = draw(st.sampled_from([0, n, draw(st.integers(0, n))]))
        tp = draw(st.sampled_from([0, pos, draw(st.integers(0, pos))]))
        missing = draw(st.sampled_from([0, n, draw(st.integers(0, n))]))
        out[f"g{i}"] = (n, pos, tp, missing)
    return out, min_size


SINGLE_CASES = {
    # a of 29 and b of 28 under 30: a + b = 57, each at most 29, so each is one of two values (range
    # exactly 1): protected, no complement. _Audit.exposed_counts `hi - lo < 1 - eps` -> `< 1 + eps`,
    # `< 2 - eps` withhold c needlessly.
    "range exactly one": ({"a": (29, 10, 5, 3), "b": (28, 9, 4, 3), "c": (100, 50, 25, 10)}, 30),
    # Two of 29: each is 29, exposed; the complement is the smallest published group (c, not d).
    "range zero": (
        {"a": (29, 10, 5, 3), "b": (29, 9, 4, 3), "c": (100, 50, 25, 10), "d": (200, 9, 4, 3)},
        30,
    ),
    # a (5 rows, all positive) is the total minus the others: withheld b (40, all positive) as its
    # complement leaves 45 rows with 45 positives: both rates forced to 1, so c (negatives) goes too.
    # _Audit.exposed_rates `den - num` -> `den + num` ("one" never found) leaves it at a and b.
    "rate forced to one": (
        {"a": (5, 5, 5, 0), "b": (40, 40, 20, 4), "c": (60, 30, 15, 6), "d": (80, 20, 10, 8)},
        30,
    ),
    # No positive label anywhere: the true-positive rate has no denominator at all. The audit must go
    # on to the metrics after it: the withheld groups have no missing income while c and d have some
    # (missing_rate forced to 0). exposed_rates `continue` -> `break` (line "den[first].sum() == 0")
    # stops at the true-positive rate and publishes a withheld 0 % missing rate.
    "metric after one without denominator": (
        {"a": (5, 0, 0, 0), "b": (40, 0, 0, 0), "c": (60, 0, 0, 6), "d": (80, 0, 0, 8)},
        30,
    ),
    # As "rate forced to one", but the smallest published group c has no negative either: the
    # complement must be d, the smallest with negatives. _complement ``den - num`` -> ``den + num``
    # (any group "helps") withholds c and leaves every withheld rate at 1.
    "complement with negatives": (
        {"a": (5, 5, 2, 1), "b": (40, 40, 20, 4), "c": (50, 50, 25, 5), "d": (80, 20, 10, 8)},
        30,
    ),
    # a (1 row) is the total minus the others; its complement c has exactly the minimum (30): then
    # a + c = 31 with a >= 1 and c >= 30 gives both away, so d goes too. _Audit.__init__ bounds
    # ``(1, min_size - 1) if c in primary`` -> ``or True`` (a complement thought smaller than the
    # minimum) stops at c.
    "complement at the minimum": ({"a": (1, 0, 0, 0), "c": (30, 10, 5, 3), "d": (100, 50, 25, 10)}, 30),
    # Two groups of one row: together 2, each at least 1, so each is 1. _Audit.__init__ the lower bound
    # ``(1, ...)`` -> ``(2, ...)`` makes the truth infeasible and the pair "safe".
    "two groups of one": (
        {"a": (1, 0, 0, 0), "b": (1, 1, 1, 0), "c": (100, 50, 25, 10), "d": (120, 9, 4, 3)},
        30,
    ),
    # Three withheld groups hold one missing income between them: a missing rate of 0 is possible for
    # each, not forced (the most a group can hold is exactly 1). exposed_rates ``[1] < 1 - eps`` ->
    # ``< 1 + eps`` / ``< 2 - eps`` / ``<= 1 - eps`` withholds a needless complement.
    "one missing value among three withheld": (
        {"a": (5, 2, 1, 1), "b": (6, 2, 1, 0), "x": (7, 3, 1, 0), "d": (60, 30, 15, 6), "e": (80, 40, 20, 8)},
        30,
    ),
    # Each withheld group has exactly one positive label, none predicted: their true-positive rates
    # (denominator 1) are forced to 0. exposed_rates ``den[u] > 0`` -> ``> 1`` misses it.
    "one positive each": (
        {"a": (5, 1, 0, 0, 2), "b": (40, 1, 0, 4, 10), "c": (60, 30, 15, 6), "d": (80, 40, 20, 8)},
        30,
    ),
    # Every negative of the withheld groups (a, then b) is predicted positive: their false-positive
    # rates are forced to 1; c (negatives not predicted positive) goes too. _numerators the FPR
    # denominator ``n - y`` -> ``n + y`` hides it.
    "false-positive rate forced to one": (
        {"a": (5, 0, 0, 0, 5), "b": (40, 10, 5, 4, 30), "c": (60, 30, 15, 6, 10), "d": (80, 40, 20, 8, 20)},
        30,
    ),
    # The withheld groups (a, then its complement) have positives but none predicted: their
    # true-positive rates are forced to 0; the complement must have a true positive: d, not c.
    "complement that helps": (
        {"a": (5, 2, 0, 1), "b": (40, 20, 0, 4), "c": (50, 25, 0, 5), "d": (60, 30, 30, 6)},
        30,
    ),
}


@pytest.mark.parametrize("shortcut", [True, False], ids=["with the cheap proof", "linear programme only"])
@pytest.mark.parametrize("case", list(SINGLE_CASES), ids=list(SINGLE_CASES))
def test_one_feature_cases_withhold_exactly_what_the_closed_form_says(case, shortcut):
    """Kills, through the published groups: _Audit.exposed_counts ``hi - lo < 1 - _EPS`` -> ``< 1 +
    _EPS`` / ``< 2 - _EPS`` (a count with two possible values withheld needlessly); _Audit._range
    ``c[i] = 1`` -> ``2``; _Audit.exposed_rates ``("one", den - num)`` -> ``den + num`` (a rate forced to
    1 published), ``continue`` -> ``break`` after a metric without denominator, ``first`` -> ``None``
    (the numerators' total); _complement ``helps = num if kind == "zero" else den - num`` -> ``None``,
    ``or True``, ``den + num`` and ``helps[c] > 0`` -> ``>= 0`` / ``> 1`` (a complement that does not
    break the homogeneity)."""
    groups, min_size = SINGLE_CASES[case]
    df = _frame(groups)
    assert _planned(df, min_size, shortcut) == _oracle(df, min_size)


def test_the_single_cases_are_the_situations_they_claim():
    """The oracle's answers for the named cases, spelled out (a wrong oracle must not pass)."""
    got = {case: _oracle(_frame(groups), m) for case, (groups, m) in SINGLE_CASES.items()}
    assert got["range exactly one"] == ({"a", "b"}, set(), set())
    assert got["range zero"] == ({"a", "b"}, {"c"}, set())
    assert got["rate forced to one"] == ({"a"}, {"b", "c"}, set())
    assert got["metric after one without denominator"][0:2] == ({"a"}, {"b", "c"})
    assert got["complement that helps"] == ({"a"}, {"b", "d"}, set())
    assert got["complement with negatives"] == ({"a"}, {"b", "d"}, set())
    assert got["false-positive rate forced to one"] == ({"a"}, {"b", "c"}, set())
    assert got["complement at the minimum"] == ({"a"}, {"c", "d"}, set())
    assert got["two groups of one"] == ({"a", "b"}, {"c"}, set())
    assert got["one missing value among three withheld"] == ({"a", "b", "x"}, set(), set())
    assert got["one positive each"] == ({"a"}, {"b", "c"}, set())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_groups(), st.booleans())
@example(({"a": (29, 10, 5, 3), "b": (28, 9, 4, 3), "c": (100, 50, 25, 10)}, 30), False)
def test_one_feature_suppression_equals_the_closed_form(case, shortcut):
    """Property: for any one-feature table (with predictions and a column with missing values), the
    groups withheld as small, as complements and the residual ones are the closed form's, with and
    without the cheap proof. Kills the audit's mutants that change a decision (see the named cases)
    wherever the random tables reach them."""
    groups, min_size = case
    df = _frame(groups)
    assert _planned(df, min_size, shortcut) == _oracle(df, min_size)


# ---------------------------------------------------------------------------------------------------
# Two features and their intersection: the relations between margins


def _two_features() -> pd.DataFrame:
    rows = []
    for sex, region, n, pos in [
        ("f", "n", 80, 30),
        ("f", "s", 90, 40),
        ("f", "e", 5, 2),
        ("m", "n", 70, 20),
        ("m", "s", 60, 60),
        ("m", "e", 75, 0),
    ]:
        rows += [
            (sex, region, int(i < pos), int(i % 3 == 0), np.nan if i % 7 == 0 else 1.0) for i in range(n)
        ]
    return pd.DataFrame(rows, columns=["sex", "region", "label", "pred", "income"])


def test_the_true_figures_satisfy_every_relation_the_audit_gives_a_reader():
    """For every set of up to three withheld cells (cell 0, ``sex=f``, is a margin of the
    intersection), the true counts and the true numerators of every rate solve the system the audit
    builds: ``matrix @ truth == _rhs(...)``. A wrong coefficient or right-hand side makes the audit
    reason about figures that do not exist.

    Kills _Audit.__init__ ``row[margin] -= 1`` -> ``= 1`` / ``+= 1`` / ``-= 2``; _Audit._rhs
    ``float(total) if margin < 0`` -> ``or True`` / ``<= 0`` / ``< 1``, ``else 0.0`` -> ``1.0``,
    ``margin >= 0`` -> ``> 0`` / ``>= 1``, ``margin not in self.position`` -> ``in``, ``rhs +=`` ->
    ``=`` / ``-=``."""
    import itertools

    report = compute_group_metrics(
        _two_features(), ["sex", "region"], "label", predictions="pred", depth=2, min_group_size=30
    )
    table = _Table.of(report)
    assert table.cells[0] == ("sex", "f") and any(margin == 0 for _, margin in table.equations)
    first = table.equations[0][0]
    checked = 0
    for size in (1, 2, 3):
        for hidden in itertools.combinations(range(len(table.cells)), size):
            audit = _Audit(table, set(hidden), set(hidden), 30, set())
            unknown = audit.unknown
            assert np.allclose(audit.matrix @ table.counts[unknown], audit._rhs(table.counts, table.rows))
            for num, _ in table.rates.values():
                assert np.allclose(audit.matrix @ num[unknown], audit._rhs(num, int(num[first].sum())))
            checked += 1
    assert checked == 11 + 55 + 165


def test_range_is_the_smallest_and_largest_value_the_relations_allow():
    """a (5) and b (6) withheld under 30, c (100) published: a + b = 11 and each is 1..29, so a is 1..10.
    Kills _Audit._range ``c[i] = 1`` -> ``2`` (the range doubled: a count exposed by one relation
    would pass as protected)."""
    df = _frame({"a": (5, 1, 0, 0), "b": (6, 1, 0, 0), "c": (100, 50, 25, 0)})
    report = compute_group_metrics(df, ["g"], "label", predictions="pred", min_group_size=30)
    table = _Table.of(report)
    a, b = table.cells.index(("g", "a")), table.cells.index(("g", "b"))
    audit = _Audit(table, {a, b}, {a, b}, 30, set())
    rhs = audit._rhs(table.counts, table.rows)
    assert audit._range(audit.position[a], rhs, audit.count_bounds) == pytest.approx((1, 10))
    assert audit._range(audit.position[b], rhs, audit.count_bounds)[1] == pytest.approx(10)


def test_exposed_counts_names_every_exposed_cell_not_just_the_first():
    """Two groupings each with one withheld cell (the rows minus the published ones): both are exposed
    in the same audit. Kills _Audit.exposed_counts ``continue`` -> ``break`` after the first cell found
    to be a linear function of published figures."""
    df = pd.DataFrame(
        {
            "s1": ["p"] * 5 + ["q"] * 200 + ["r"] * 300,
            "s2": ["u"] * 7 + ["v"] * 498,
            "label": ([0, 1] * 300)[:505],
        }
    )
    report = compute_group_metrics(df, ["s1", "s2"], "label", depth=1, min_group_size=30)
    table = _Table.of(report)
    p, u = table.cells.index(("s1", "p")), table.cells.index(("s2", "u"))
    exposed = _Audit(table, {p, u}, {p, u}, 30, set()).exposed_counts()
    assert sorted(e.cell for e in exposed) == [p, u] and {e.need for e in exposed} == {"count"}


def _plans(df: pd.DataFrame, **kwargs) -> tuple[dict, dict]:
    """(the plan, the plan of an audit that looks at counts only) of ``df``."""
    report = compute_group_metrics(df, ["sex", "region"], "label", depth=2, min_group_size=30, **kwargs)
    plan = plan_suppression(report)
    with mock.patch.object(_Audit, "exposed_rates", lambda self: []):
        counts_only = plan_suppression(report)
    return (
        {k: set(v) for k, v in plan.secondary.items()},
        {k: set(v) for k, v in counts_only.secondary.items()},
    )


def _cells(spec: list[tuple[int | str, ...]]) -> pd.DataFrame:
    """``(sex, region, rows, positives, predicted positives among the negatives[, among the
    positives])``; by default no positive label is predicted positive."""
    rows = []
    for sex, region, n, pos, fp, *rest in spec:
        tp = rest[0] if rest else 0
        rows += [(sex, region, int(i < pos), int(i < tp or pos <= i < pos + fp)) for i in range(n)]
    return pd.DataFrame(rows, columns=["sex", "region", "label", "pred"])


def test_a_rate_a_published_margin_already_shows_is_not_an_exposure():
    """Every woman's label is 0 (the published ``sex=f`` base rate is 0): withheld ``f|*`` cells with
    rate 0 tell a reader nothing new, so the rates add no complement to what the counts need. Then the
    same with a true-positive rate whose published margin has a denominator of exactly 1 (the one
    woman with a positive label, in the small cell, not predicted positive).

    Kills _Audit.exposed_rates, the ancestor clause ``a not in self.position and den[a] > 0 and
    values[a] == 0``: -> ``a in self.position``, ``values[a] != 0``, ``values[a] == 1``,
    ``den[a] > 1``, and ``and`` -> ``or`` where that admits a covered cell (a needless complement)."""
    women_negative = _cells(
        [
            ("f", "n", 80, 0, 0),
            ("f", "s", 90, 0, 0),
            ("f", "e", 5, 0, 0),
            ("m", "n", 70, 35, 5),
            ("m", "s", 60, 30, 5),
            ("m", "e", 75, 40, 5),
        ]
    )
    plan, counts_only = _plans(women_negative)
    assert plan == counts_only and "sex" not in plan and any(g.startswith("f|") for g in plan["sex|region"])
    one_positive_woman = _cells(
        [
            ("f", "n", 80, 0, 10),
            ("f", "s", 90, 0, 10),
            ("f", "e", 5, 1, 1),
            ("m", "n", 70, 35, 5, 20),
            ("m", "s", 60, 30, 5, 15),
            ("m", "e", 75, 40, 5, 20),
        ]
    )
    plan, counts_only = _plans(one_positive_woman, predictions="pred")
    assert plan == counts_only and "sex" not in plan


def test_the_counts_only_comparison_can_fail():
    """The negative case of the comparison above: where a rate is exposed, the plan withholds more than
    the counts need (a homogeneous remainder: every withheld cell of a row has label 0 while its margin
    has positives)."""
    plan, counts_only = _plans(
        _cells(
            [
                ("f", "n", 80, 0, 0),
                ("f", "s", 90, 40, 0),
                ("f", "e", 5, 0, 0),
                ("m", "n", 70, 0, 0),
                ("m", "s", 60, 30, 0),
                ("m", "e", 75, 0, 0),
            ]
        )
    )
    assert plan != counts_only


def test_suppression_module_names_the_metrics_it_audits():
    """The audit's rates are the additive ones, in this order (the oracle above relies on it)."""
    report = compute_group_metrics(
        _frame({"a": (5, 1, 0, 1), "b": (40, 20, 10, 4)}),
        ["g"],
        "label",
        predictions="pred",
        min_group_size=30,
    )
    assert list(_Table.of(report).rates) == [
        BASE_RATE,
        SELECTION_RATE,
        ACCURACY,
        TPR,
        FPR,
        MISSING_RATE + "income",
    ]
    assert suppression.COMPLEMENTARY.startswith("complementary")


def _table(cells: dict[tuple[str, str], tuple[int, int]]) -> pd.DataFrame:
    """``{(s1, s2): (rows, positives)}`` as a frame."""
    rows = []
    for (a, b), (n, pos) in cells.items():
        rows += [(a, b, int(i < pos)) for i in range(n)]
    return pd.DataFrame(rows, columns=["s1", "s2", "label"])


def test_a_complement_is_sought_beyond_the_withheld_cells_next_to_the_exposure():
    """``s2=b1`` (one row, its label 1) is exposed: every published cell sharing a relation with it has
    no positive, or is withheld already. The search goes on through the withheld cells it reaches and
    finds complements there (the ``s1`` margins), so b1 is protected; only an intersection cell that no
    complement can protect is left as residual (named in the evidence). Found by a random search over
    small tables (mutation testing): kills _complement ``layer = {c for c in around if c in hidden}``
    -> ``None`` (the search stops after the first ring and leaves b1 residual) and -> ``c not in
    hidden`` (the search walks through published cells)."""
    report = compute_group_metrics(
        _table({("a0", "b0"): (19, 19), ("a0", "b1"): (1, 1), ("a1", "b0"): (28, 0)}),
        ["s1", "s2"],
        "label",
        depth=2,
        min_group_size=12,
    )
    plan = plan_suppression(report)
    assert plan.residual == (("s1|s2", "a1|b0"),)
    assert plan.hidden("s2") == {"b0", "b1"} and plan.hidden("s1") == {"a0", "a1"}
    report = compute_group_metrics(
        _table({("a1", "b2"): (3, 3), ("a2", "b0"): (6, 0), ("a2", "b1"): (6, 0), ("a2", "b2"): (30, 17)}),
        ["s1", "s2"],
        "label",
        depth=2,
        min_group_size=5,
    )
    plan = plan_suppression(report)
    assert ("s1", "a1") not in plan.residual
    assert set(plan.residual) == {("s1|s2", "a2|b0"), ("s1|s2", "a2|b1")}
