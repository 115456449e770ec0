"""What goes into the evidence: metrics JSON, a markdown summary and base-rate charts, with every
per-group figure of a group below the minimum size suppressed, and of the groups withheld so that
those cannot be derived (:mod:`aimsflow.fairness.suppression`; the computation keeps them all)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aimsflow.fairness.metrics import (
    BASE_RATE,
    FPR,
    TPR,
    FairnessReport,
    GroupingResult,
    MetricResult,
    Value,
)
from aimsflow.fairness.policy import FairnessPolicy, Outcome, Verdict
from aimsflow.fairness.suppression import Suppression, plan_suppression, spread_marker
from aimsflow.render import md_cell, md_table

SCHEMA = "aimsflow.fairness/1"
_EOD_METRIC = "true_positive_rate/false_positive_rate"
_SPREAD_THRESHOLDS = ("demographic_parity_difference", "demographic_parity_ratio", "missing_rate_difference")


def suppress(grouping: str, figures: dict[str, Any], plan: Suppression) -> dict[str, Any]:
    """Per-group ``figures`` with every withheld group's figure replaced by its marker. A group absent
    from the data (count 0, e.g. a reference group nobody belongs to) is never withheld: it singles
    out no one, and its absence is the finding."""
    return {group: plan.marker(grouping, group) or value for group, value in figures.items()}


def _figure(value: Value | None) -> Any:
    return None if value is None else value.as_json()


def _metric_json(name: str, metric: MetricResult, grouping: str, plan: Suppression) -> dict[str, Any]:
    by_group = {g: v.as_json() for g, v in metric.by_group.items()}
    withheld = plan.spread_withheld(grouping, name)
    return {
        "overall": _figure(metric.overall),
        "by_group": suppress(grouping, by_group, plan),
        "difference": spread_marker() if withheld else _figure(metric.difference),
        "ratio": spread_marker() if withheld else _figure(metric.ratio),
    }


def _eod_withheld(grouping: str, plan: Suppression) -> bool:
    """max(TPR difference, FPR difference) would give away whichever of the two is withheld."""
    return plan.spread_withheld(grouping, TPR) or plan.spread_withheld(grouping, FPR)


def _grouping_json(grouping: GroupingResult, plan: Suppression) -> dict[str, Any]:
    name = grouping.name
    out: dict[str, Any] = {
        "features": list(grouping.features),
        "counts": suppress(name, dict(grouping.counts), plan),
        "suppressed_groups": len(plan.primary.get(name, ())),
        "complementary_groups": len(plan.secondary.get(name, ())),
        "metrics": {m: _metric_json(m, metric, name, plan) for m, metric in grouping.metrics.items()},
    }
    if grouping.equalized_odds_difference is not None:
        out["equalized_odds_difference"] = (
            spread_marker() if _eod_withheld(name, plan) else grouping.equalized_odds_difference.as_json()
        )
    return out


def verdict_withheld(verdict: Verdict, plan: Suppression) -> bool:
    """Whether a verdict's value would give away a withheld figure: a withheld group's own figure (the
    worst representation gap) or a spread whose extreme group is withheld."""
    if verdict.group is not None and verdict.group in plan.hidden(verdict.grouping):
        return True
    if verdict.threshold in _SPREAD_THRESHOLDS:
        return plan.spread_withheld(verdict.grouping, verdict.metric)
    if verdict.threshold == "equalized_odds_difference":
        return _eod_withheld(verdict.grouping, plan)
    return False


def _published_spread(report: FairnessReport, verdict: Verdict, plan: Suppression) -> str:
    """:func:`aimsflow.fairness.policy._spread` over the published groups only (the lowest and highest
    group are named with their values; a withheld group must be neither)."""
    grouping = report.groupings.get(verdict.grouping)
    metric = grouping.metrics.get(verdict.metric) if grouping is not None else None
    if metric is None:
        return verdict.detail
    hidden = plan.hidden(verdict.grouping)
    values = {g: v for g, v in metric.defined_groups().items() if g not in hidden}
    if len(values) < 2:
        return "lowest and highest published group: too few published groups"
    lo, hi = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
    if values[lo] == values[hi]:
        return f"all {len(values)} published groups {values[lo]:.4f}"
    return f"lowest published {lo!r} {values[lo]:.4f}, highest published {hi!r} {values[hi]:.4f}"


def _verdict_json(verdict: Verdict, report: FairnessReport, plan: Suppression) -> dict[str, Any]:
    out = verdict.as_dict()
    if verdict.value is None:
        return out
    if verdict_withheld(verdict, plan):
        if verdict.group is not None:
            out["value"] = plan.marker(verdict.grouping, verdict.group)
            out["detail"] = f"largest gap in group {verdict.group!r}; its figure is suppressed"
        else:
            out["value"] = spread_marker()
            out["detail"] = "figure withheld: its largest or smallest group is suppressed; the outcome stands"
    elif verdict.threshold in _SPREAD_THRESHOLDS and plan.hidden(verdict.grouping):
        out["detail"] = _published_spread(report, verdict, plan)
    return out


def overall_status(verdicts: Sequence[Verdict]) -> str:
    return "failed" if any(v.outcome is Outcome.breach for v in verdicts) else "passed"


def report_to_json(
    report: FairnessReport,
    verdicts: Sequence[Verdict],
    min_group_size: int | None = None,
    suppression: Suppression | None = None,
) -> dict[str, Any]:
    """The evidence document: every metric in MetricFrame's shape per grouping, and the verdicts.

    A figure is a number or ``{"undefined": reason}``; ``difference``/``ratio`` are null where they
    are not computed (shares, representation gaps). Groups smaller than ``min_group_size`` (default:
    the report's) and the groups withheld to protect them (``suppression``, default planned here)
    show ``{"suppressed": ...}`` instead of their figures and counts; a spread that would give one of
    them away is withheld too."""
    min_size = report.min_group_size if min_group_size is None else min_group_size
    plan = suppression or plan_suppression(report, min_size)
    tally = Counter(v.outcome.value for v in verdicts)
    return {
        "schema": SCHEMA,
        "rows": report.rows,
        "label": report.label,
        "predictions": report.predictions,
        "sensitive_features": list(report.sensitive_features),
        "intersection_depth": report.depth,
        "min_group_size": min_size,
        "status": overall_status(verdicts),
        "verdict_counts": {o.value: tally.get(o.value, 0) for o in Outcome},
        "verdicts": [_verdict_json(v, report, plan) for v in verdicts],
        "groupings": {name: _grouping_json(g, plan) for name, g in report.groupings.items()},
        "suppression": plan.as_dict(),
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _shown(value: Any) -> str:
    """A verdict's value as the summary shows it: 4 decimals, or "suppressed" for a small group."""
    if isinstance(value, dict):
        return "suppressed"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_markdown(
    report: FairnessReport,
    verdicts: Sequence[Verdict],
    policy: FairnessPolicy,
    *,
    title: str = "Bias assessment",
    suppression: Suppression | None = None,
) -> str:
    """A short human-readable summary: outcome, breaches, and base rates per single feature."""
    min_size = max(report.min_group_size, policy.min_group_size)
    plan = suppression or plan_suppression(report, min_size)
    tally = Counter(v.outcome for v in verdicts)
    status = overall_status(verdicts)
    lines = [
        f"# {title}",
        "",
        f"**Result: {status}** — {tally[Outcome.breach]} breach(es), {tally[Outcome.passed]} pass, "
        f"{tally[Outcome.insufficient]} with insufficient data, over {report.rows:,} rows.",
        "",
        f"Label `{report.label}`"
        + (f", predictions `{report.predictions}`" if report.predictions else " (data only, no predictions)")
        + f"; sensitive features {', '.join(f'`{f}`' for f in report.sensitive_features)}; intersections "
        f"up to depth {report.depth}; groups under {min_size} rows are suppressed and excluded from "
        "comparisons; groups marked *withheld* are assessed, but their figures are withheld so that "
        "a small group's cannot be derived from them.",
        "",
    ]
    shown = [_verdict_json(v, report, plan) for v in verdicts]
    breaches = [v for v in shown if v["outcome"] == Outcome.breach.value]
    if breaches:
        lines += ["## Breaches", ""]
        lines += md_table(
            ("threshold", "grouping", "figure", "value", "bound", "detail"),
            (
                (v["threshold"], v["grouping"], v["metric"], _shown(v["value"]), v["bound"], v["detail"])
                for v in breaches
            ),
        )
        lines.append("")
    insufficient = [v for v in verdicts if v.outcome is Outcome.insufficient]
    if insufficient:
        lines += ["## Not assessable", ""]
        lines += [
            f"- {md_cell(v.threshold)} for {md_cell(v.grouping)} ({md_cell(v.metric)}): {md_cell(v.detail)}"
            for v in insufficient[:20]
        ]
        if len(insufficient) > 20:
            lines.append(f"- … and {len(insufficient) - 20} more (see metrics.json)")
        lines.append("")
    lines += ["## Label base rate by group", ""]
    for feature in report.sensitive_features:
        grouping = report.groupings[feature]
        base = grouping.metrics[BASE_RATE]
        primary = plan.primary.get(feature, frozenset())
        secondary = plan.secondary.get(feature, frozenset())
        if plan.spread_withheld(feature, BASE_RATE):
            spread = "Demographic parity difference and ratio withheld (a withheld group is the highest or lowest)."
        else:
            spread = (
                f"Demographic parity difference {_fmt(base.difference.value if base.difference and base.difference.defined else None)}, "
                f"ratio {_fmt(base.ratio.value if base.ratio and base.ratio.defined else None)}."
            )
        lines += [f"### {md_cell(feature)}", "", spread, ""]
        lines += md_table(
            ("group", "rows", "base rate"),
            (
                (group, f"suppressed (< {min_size})", "suppressed")
                if group in primary
                else (group, "withheld (complementary)", "withheld")
                if group in secondary
                else (
                    group,
                    f"{grouping.counts[group]:,}",
                    _fmt(value.value) if value.defined else value.undefined,
                )
                for group, value in base.by_group.items()
            ),
        )
        lines.append("")
    return "\n".join(lines)


def base_rate_chart_png(
    report: FairnessReport, feature: str, policy: FairnessPolicy, suppression: Suppression | None = None
) -> bytes:
    """A horizontal bar chart of the label base rate per group of ``feature`` (a grouping name),
    with the four-fifths-style line (policy ratio x best published group's rate) and the overall rate
    marked, and withheld groups (below the minimum size, or complementary) drawn without a value."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    grouping = report.groupings[feature]
    base = grouping.metrics[BASE_RATE]
    min_size = max(report.min_group_size, policy.min_group_size)
    plan = suppression or plan_suppression(report, min_size)
    small = plan.hidden(feature)
    thresholds = policy.thresholds_for(feature)
    groups = list(base.by_group)
    defined = {g: v for g, v in base.defined_groups().items() if g not in small}
    best = max(defined.values()) if defined else None
    floor = (
        thresholds.demographic_parity_ratio.min * best
        if thresholds.demographic_parity_ratio and best is not None
        else None
    )

    fig = Figure(figsize=(8, 1.9 + 0.42 * len(groups)), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ys = list(range(len(groups)))[::-1]
    for y, group in zip(ys, groups, strict=True):
        if group in defined:
            rate = defined[group]
            colour = "#c0392b" if floor is not None and rate < floor else "#2e86c1"
            ax.barh(y, rate, color=colour, height=0.65)
            ax.text(
                rate + 0.01,
                y,
                f"{rate:.1%}  (n={grouping.counts[group]:,})",
                va="center",
                fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.8},
            )
        else:
            reason = (
                f"suppressed: n < {min_size}"
                if group in plan.primary.get(feature, ())
                else "withheld (complementary)"
                if group in small
                else "undefined"
            )
            ax.barh(y, 1.0, color="none", edgecolor="#999999", hatch="///", height=0.65, linewidth=0.5)
            ax.text(0.01, y, reason, va="center", fontsize=8, color="#555555")
    if floor is not None:
        ratio = thresholds.demographic_parity_ratio.min  # type: ignore[union-attr]
        ax.axvline(
            floor,
            color="#c0392b",
            linestyle="--",
            linewidth=1.2,
            label=f"{ratio:g} × best group ({floor:.1%})",
        )
    if base.overall is not None and base.overall.defined and base.overall.value is not None:
        ax.axvline(
            base.overall.value,
            color="#555555",
            linestyle=":",
            linewidth=1,
            label=f"overall ({base.overall.value:.1%})",
        )
    ax.set_yticks(ys, groups)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel(f"base rate: share of rows with {report.label} = 1")
    ax.set_ylabel(feature)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ratio_text = _fmt(base.ratio.value) if base.ratio is not None and base.ratio.defined else "undefined"
    if plan.spread_withheld(feature, BASE_RATE):
        ratio_text = "withheld"
    ax.set_title(
        f"Label base rate by {feature} — {report.rows:,} rows; demographic parity ratio {ratio_text}",
        fontsize=10,
    )
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
