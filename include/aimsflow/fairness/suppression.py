"""Which per-group figures the fairness evidence withholds, so that none can be computed back.

Primary suppression withholds every group below the minimum size. That alone gives the group away:
the rows and the other groups' counts are published, so its count is the total minus the others,
and its positives likewise from the overall rate. Secondary (complementary) suppression withholds
further groups until an audit of what a reader knows finds no withheld figure they can compute.

What the audit assumes a reader knows (the attacker model):

* every published count and rate, the rows, and every ``overall`` rate; hence every published
  group's numerator (rate x count) and each metric's overall numerator;
* the linear relations between groups: each grouping (a feature or an intersection) sums to the
  rows, and each cell of a grouping is the sum of the cells of a grouping with one feature more
  that project onto it (``sex=female`` is the sum of ``sex|ethnicity=female|*``); unlisted
  intersections are empty;
* bounds: a listed group has at least one row; a group marked as small has fewer than the minimum;
  a group withheld as a complement has at least the minimum (the markers say which is which).

A withheld **count** is *derivable* when these facts leave it one possible value: the audit computes
its smallest and largest value by linear programming (HiGHS) and requires them to differ by at least
one. A withheld **rate** is derivable when the margins of its numerator force it to 0 or 1 (every
withheld group of a line has no positive, or only positives: the homogeneity case); other exact
derivations of a rate need its count, which is protected. Metrics whose overall figure is 0 or 1 are
not audited for that: the overall figure already says it of every group.

Exposed figures get a complement: the smallest published group sharing a relation with the exposed
one (for a rate, one whose numerator breaks the homogeneity), then the audit runs again, until
nothing is exposed. A figure that cannot be protected that way (a whole line withheld and still
exposed: tiny data) is listed in ``residual`` and named in the evidence, never hidden.

Spreads: ``difference``/``ratio`` are max - min and min / max over the assessed groups, which
include complementary ones (they are large enough to assess). When the largest or smallest value
belongs to withheld groups only, the spread would give it away (max minus the difference), so the
spread and its verdict's value are withheld; the verdict's outcome stands.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from aimsflow.fairness.metrics import (
    ACCURACY,
    BASE_RATE,
    FPR,
    MISSING_RATE,
    SELECTION_RATE,
    SEPARATOR,
    TPR,
    FairnessReport,
)

Cell = tuple[str, str]  # (grouping, group)

COMPLEMENTARY = "complementary: withheld so that the figures of a smaller group cannot be derived"
SPREAD_WITHHELD = "withheld: its largest or smallest group value belongs to a suppressed group"
_EPS = 1e-7


def primary_marker(min_size: int) -> dict[str, str]:
    return {"suppressed": f"group size < {min_size}"}


def secondary_marker() -> dict[str, str]:
    return {"suppressed": COMPLEMENTARY}


def spread_marker() -> dict[str, str]:
    return {"suppressed": SPREAD_WITHHELD}


@dataclass(frozen=True)
class Suppression:
    """The groups withheld per grouping and the spreads withheld per (grouping, metric)."""

    min_size: int
    primary: Mapping[str, frozenset[str]]
    secondary: Mapping[str, frozenset[str]]
    spreads: frozenset[tuple[str, str]] = frozenset()
    residual: tuple[Cell, ...] = ()

    def hidden(self, grouping: str) -> frozenset[str]:
        return self.primary.get(grouping, frozenset()) | self.secondary.get(grouping, frozenset())

    def marker(self, grouping: str, group: str) -> dict[str, str] | None:
        """The marker standing in for a withheld group's figure, or None when it is published."""
        if group in self.primary.get(grouping, ()):
            return primary_marker(self.min_size)
        if group in self.secondary.get(grouping, ()):
            return secondary_marker()
        return None

    def spread_withheld(self, grouping: str, metric: str) -> bool:
        return (grouping, metric) in self.spreads

    def as_dict(self) -> dict[str, object]:
        """What ``metrics.json`` says about the suppression itself."""
        return {
            "rule": "primary: groups below min_group_size; complementary: groups withheld so that no "
            "withheld count or 0/1 rate follows from the published figures (docs/fairness.md)",
            "primary_groups": sum(len(v) for v in self.primary.values()),
            "complementary_groups": sum(len(v) for v in self.secondary.values()),
            "withheld_spreads": [f"{g}: {m}" for g, m in sorted(self.spreads)],
            "residual": [list(c) for c in self.residual],
        }


@dataclass
class _Table:
    """Every cell of every grouping with its true count and numerators, and the linear relations."""

    cells: list[Cell]
    counts: np.ndarray
    # metric -> (numerator, denominator) per cell, for the rates whose numerators add up over margins
    rates: dict[str, tuple[np.ndarray, np.ndarray]]
    # (cell indices summing up, index of the cell they sum to or -1 for the rows)
    equations: list[tuple[list[int], int]]
    rows: int
    # cell -> the cells of groupings of fewer features that contain it (sex=f for sex|region=f|n)
    ancestors: list[list[int]] = field(default_factory=list)

    @classmethod
    def of(cls, report: FairnessReport) -> _Table:
        cells: list[Cell] = [
            (name, g) for name, grouping in report.groupings.items() for g in grouping.counts
        ]
        index = {cell: i for i, cell in enumerate(cells)}
        counts = np.array([report.groupings[n].counts[g] for n, g in cells], dtype=np.int64)
        equations: list[tuple[list[int], int]] = []
        for name, grouping in report.groupings.items():
            equations.append(([index[(name, g)] for g in grouping.counts], -1))
            features = grouping.features
            if len(features) < 2:
                continue
            split = {g: g.split(SEPARATOR) for g in grouping.counts}
            if any(len(parts) != len(features) for parts in split.values()):
                continue  # a group label holding the separator: its margins cannot be told apart
            for drop in range(len(features)):
                parent = SEPARATOR.join(features[:drop] + features[drop + 1 :])
                if parent not in report.groupings:
                    continue
                lines: dict[str, list[int]] = {}
                for g, parts in split.items():
                    lines.setdefault(SEPARATOR.join(parts[:drop] + parts[drop + 1 :]), []).append(
                        index[(name, g)]
                    )
                for h, members in lines.items():
                    if (parent, h) in index:
                        equations.append((members, index[(parent, h)]))
        ancestors: list[list[int]] = []
        for name, group in cells:
            features = report.groupings[name].features
            parts = group.split(SEPARATOR)
            found = []
            if len(parts) == len(features):
                for k in range(1, len(features)):
                    for keep in itertools.combinations(range(len(features)), k):
                        cell = (
                            SEPARATOR.join(features[j] for j in keep),
                            SEPARATOR.join(parts[j] for j in keep),
                        )
                        if cell in index:
                            found.append(index[cell])
            ancestors.append(found)
        return cls(cells, counts, _numerators(report, cells, counts), equations, report.rows, ancestors)


def _numerators(
    report: FairnessReport, cells: list[Cell], n: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Numerator and denominator of every additive rate per cell, recovered exactly from the computed
    rates (rate x denominator, rounded: the same integers a reader recovers from published figures)."""

    def values(metric: str) -> np.ndarray:
        out = []
        for name, group in cells:
            value = report.groupings[name].metrics[metric].by_group[group].value
            out.append(np.nan if value is None else value)
        return np.array(out, dtype=float)

    def num(rate: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.where(den > 0, np.rint(np.nan_to_num(rate) * den), 0).astype(np.int64)

    first = next(iter(report.groupings.values()))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    y = num(values(BASE_RATE), n)
    out[BASE_RATE] = (y, n)
    if SELECTION_RATE in first.metrics:
        out[SELECTION_RATE] = (num(values(SELECTION_RATE), n), n)
        out[ACCURACY] = (num(values(ACCURACY), n), n)
        out[TPR] = (num(values(TPR), y), y)
        out[FPR] = (num(values(FPR), n - y), n - y)
    for name in first.metrics:
        if name.startswith(MISSING_RATE):
            out[name] = (num(values(name), n), n)
    return out


@dataclass(frozen=True)
class _Exposure:
    cell: int
    need: str  # "count", or "zero:<metric>" / "one:<metric>" (the rate is forced to 0 / 1)


class _Audit:
    """The linear system a reader has for one set of withheld cells. ``safe``: cells (and (cell, need)
    pairs) an earlier audit found protected; withholding more only widens what a reader must allow
    for (a published value becomes a variable whose range contains it), so they stay protected."""

    def __init__(
        self,
        table: _Table,
        hidden: set[int],
        primary: set[int],
        min_size: int,
        safe: set[tuple[int, str]],
    ):
        self.table = table
        self.safe = safe
        self.unknown = sorted(hidden)
        self.position = {c: i for i, c in enumerate(self.unknown)}
        rows = []
        self.known: list[tuple[list[int], int]] = []
        for members, margin in table.equations:
            row = np.zeros(len(self.unknown))
            for m in members:
                if m in self.position:
                    row[self.position[m]] += 1
            if margin >= 0 and margin in self.position:
                row[self.position[margin]] -= 1
            if row.any():
                rows.append(row)
                self.known.append((members, margin))
        self.matrix = np.array(rows) if rows else np.zeros((0, len(self.unknown)))
        self.count_bounds = [
            (1, min_size - 1) if c in primary else (min_size, table.rows) for c in self.unknown
        ]
        self._null: np.ndarray | None = None

    # --- counts ---------------------------------------------------------------------------------

    def exposed_counts(self) -> list[_Exposure]:
        out = []
        truth = np.array([float(self.table.counts[u]) for u in self.unknown])
        rhs: np.ndarray | None = None
        for u in self.unknown:
            if (u, "count") in self.safe:
                continue
            i = self.position[u]
            if np.abs(self.null()[i]).max(initial=0.0) <= 1e-9:
                out.append(_Exposure(u, "count"))  # a linear function of published figures
                continue
            if self._certified(truth, i, self.count_bounds, both_ways=True):
                self.safe.add((u, "count"))
                continue
            rhs = self._rhs(self.table.counts, self.table.rows) if rhs is None else rhs
            lo, hi = self._range(i, rhs, self.count_bounds)
            if hi - lo < 1 - _EPS:
                out.append(_Exposure(u, "count"))
            else:
                self.safe.add((u, "count"))
        return out

    # --- rates ----------------------------------------------------------------------------------

    def exposed_rates(self) -> list[_Exposure]:
        """Withheld rates the numerators' margins force to 0 or 1. Not counted: a rate a published
        group containing this one (or the whole population) already shows to be 0 or 1 for all its
        members, which says it of every subgroup."""
        out = []
        first = self.table.equations[0][0]  # the first grouping partitions the rows
        for metric, (num, den) in self.table.rates.items():
            if int(den[first].sum()) == 0:
                continue
            for kind, values in (("zero", num), ("one", den - num)):
                if int(values[first].sum()) == 0:
                    continue  # the overall figure says it of every group already
                need = f"{kind}:{metric}"
                suspects = [
                    u
                    for u in self.unknown
                    if den[u] > 0
                    and values[u] == 0
                    and (u, need) not in self.safe
                    and not any(
                        a not in self.position and den[a] > 0 and values[a] == 0
                        for a in self.table.ancestors[u]
                    )
                ]
                if not suspects:
                    continue
                truth = np.array([float(values[u]) for u in self.unknown])
                bounds = [(0.0, float(b[1])) for b in self.count_bounds]
                rhs: np.ndarray | None = None
                for u in suspects:
                    i = self.position[u]
                    if self._certified(truth, i, bounds, both_ways=False):
                        self.safe.add((u, need))
                        continue
                    rhs = self._rhs(values, int(values[first].sum())) if rhs is None else rhs
                    if self._range(i, rhs, bounds, lower=False)[1] < 1 - _EPS:
                        out.append(_Exposure(u, need))
                    else:
                        self.safe.add((u, need))
        return out

    # --- the linear algebra -----------------------------------------------------------------------

    def null(self) -> np.ndarray:
        """Rows: unknowns; columns: a basis of the directions the published relations leave free."""
        if self._null is None:
            self._null = _null_space(self.matrix, len(self.unknown))
        return self._null

    def _certified(
        self, truth: np.ndarray, i: int, bounds: list[tuple[float, float]], both_ways: bool
    ) -> bool:
        """A cheap proof that unknown ``i`` can change by at least one: the true values moved along the
        free direction that moves ``i`` most stay within the bounds. False means: ask the LP."""
        return _moves(truth, self.null(), i, bounds, both_ways)

    def _rhs(self, values: np.ndarray, total: int) -> np.ndarray:
        """Right-hand sides: the equation's total (the rows, or 0 for a margin relation) minus its
        published members, plus its published margin."""
        out = []
        for members, margin in self.known:
            rhs = float(total) if margin < 0 else 0.0
            rhs -= sum(float(values[m]) for m in members if m not in self.position)
            if margin >= 0 and margin not in self.position:
                rhs += float(values[margin])
            out.append(rhs)
        return np.array(out)

    def _range(
        self, i: int, rhs: np.ndarray, bounds: list[tuple[float, float]], lower: bool = True
    ) -> tuple[float, float]:
        """(smallest, largest) value of unknown ``i`` (HiGHS); ``lower=False``: the largest only."""
        from scipy.optimize import linprog

        c = np.zeros(len(self.unknown))
        c[i] = 1
        hi = linprog(-c, A_eq=self.matrix, b_eq=rhs, bounds=bounds, method="highs")
        lo = linprog(c, A_eq=self.matrix, b_eq=rhs, bounds=bounds, method="highs") if lower else None
        if hi.status != 0 or (lo is not None and lo.status != 0):
            return (-np.inf, np.inf)  # the true values are feasible: numerical trouble only
        return (lo.fun if lo is not None else -np.inf), -hi.fun


def _null_space(matrix: np.ndarray, size: int) -> np.ndarray:
    """An orthonormal basis (columns) of the null space: eigenvectors of ``M^T M`` with eigenvalue 0
    (one symmetric eigendecomposition of the unknowns' size, cheaper than a full SVD of ``M``)."""
    if matrix.shape[0] == 0:
        return np.eye(size)
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    return vectors[:, values < 1e-9 * max(1.0, float(values.max(initial=0.0)))]


def _moves(
    truth: np.ndarray, null: np.ndarray, i: int, bounds: list[tuple[float, float]], both_ways: bool
) -> bool:
    """Whether the true values can move along the free direction that moves unknown ``i`` most,
    within the bounds, far enough that ``i`` changes by one (``both_ways``: up and down together;
    else upwards)."""
    if null.size == 0:
        return False
    direction = null @ null[i]
    step = direction[i]
    if step <= 1e-12:
        return False
    lo_t, hi_t = -np.inf, np.inf
    for value, d, (lo, hi) in zip(truth, direction, bounds, strict=True):
        if abs(d) < 1e-12:
            continue
        a, b = (lo - value) / d, (hi - value) / d
        lo_t, hi_t = max(lo_t, min(a, b)), min(hi_t, max(a, b))
    if hi_t < lo_t:
        return False
    span = (hi_t - lo_t) if both_ways else hi_t
    return bool(span * step >= 1 - _EPS)


def plan_suppression(report: FairnessReport, min_size: int | None = None) -> Suppression:
    """Primary suppression (groups with 0 < size < ``min_size``, default the report's) and the
    complementary suppression the audit needs; see the module docstring."""
    min_size = report.min_group_size if min_size is None else int(min_size)
    table = _Table.of(report)
    position = {cell: i for i, cell in enumerate(table.cells)}
    primary = {
        position[(name, g)] for name, gr in report.groupings.items() for g in gr.small_groups(min_size)
    }
    if not primary:
        return Suppression(min_size, {}, {})
    hidden = set(primary)
    residual: set[int] = set()
    neighbours = _neighbours(table)
    safe: set[tuple[int, str]] = set()
    # Until the audit finds nothing exposed. No round limit: it could stop with an exposure neither
    # protected nor listed as residual. Each round that goes on adds a cell to ``hidden`` or to
    # ``residual`` (its first exposure is never skipped: nothing is ``added`` yet), so it ends within
    # twice the number of cells.
    while True:
        audit = _Audit(table, hidden, primary, min_size, safe)
        exposed = [e for e in audit.exposed_counts() if e.cell not in residual]
        if not exposed:
            exposed = [e for e in audit.exposed_rates() if e.cell not in residual]
        if not exposed:
            break
        added: set[int] = set()
        for exposure in exposed:
            if neighbours[exposure.cell] & added:
                continue  # a complement of this round shares a relation with it: audit again first
            choice = _complement(table, exposure, hidden, neighbours)
            if choice is None:
                residual.add(exposure.cell)
            else:
                hidden.add(choice)
                added.add(choice)
    base = Suppression(min_size, _by_grouping(table, primary), _by_grouping(table, hidden - primary))
    return replace(
        base,
        spreads=_withheld_spreads(report, base),
        residual=tuple(table.cells[i] for i in sorted(residual)),
    )


def _by_grouping(table: _Table, cells: set[int]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for i in cells:
        name, group = table.cells[i]
        out.setdefault(name, set()).add(group)
    return {k: frozenset(v) for k, v in out.items()}


def _neighbours(table: _Table) -> dict[int, set[int]]:
    """Cell -> the cells it shares a relation with (members and margin)."""
    out: dict[int, set[int]] = {i: set() for i in range(len(table.cells))}
    for members, margin in table.equations:
        group = set(members) | ({margin} if margin >= 0 else set())
        for m in group:
            out[m] |= group - {m}
    return out


def _complement(
    table: _Table, exposure: _Exposure, hidden: set[int], neighbours: dict[int, set[int]]
) -> int | None:
    """The published cell to withhold next: the smallest that helps (for a rate forced to 0, one with
    positives; to 1, one with negatives) among those sharing a relation with the exposed cell, else
    with a withheld cell it reaches through withheld cells (an exposure travels along them: a cell
    under a withheld margin forced to 0 needs a positive beside that margin)."""
    helps = None
    if exposure.need != "count":
        kind, metric = exposure.need.split(":", 1)
        num, den = table.rates[metric]
        helps = num if kind == "zero" else den - num
    seen, layer = {exposure.cell}, {exposure.cell}
    while layer:
        around = set().union(*(neighbours[c] for c in layer)) - seen
        candidates = [c for c in around if c not in hidden and (helps is None or helps[c] > 0)]
        if candidates:
            return min(candidates, key=lambda c: (int(table.counts[c]), table.cells[c]))
        seen |= around
        layer = {c for c in around if c in hidden}
    return None


def _withheld_spreads(report: FairnessReport, suppression: Suppression) -> frozenset[tuple[str, str]]:
    """(grouping, metric) whose difference/ratio would give away a withheld group's value: the
    largest or the smallest defined value belongs to withheld groups only."""
    out = set()
    for name, grouping in report.groupings.items():
        hidden = suppression.hidden(name)
        if not hidden:
            continue
        for metric_name, metric in grouping.metrics.items():
            if metric.difference is None:
                continue
            values = {g: v for g, v in metric.defined_groups().items() if g in grouping.counts}
            if len(values) < 2:
                continue
            shown = [v for g, v in values.items() if g not in hidden]
            for extreme in (max(values.values()), min(values.values())):
                if extreme not in shown:
                    out.add((name, metric_name))
    return frozenset(out)
