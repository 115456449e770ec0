"""``report.html``: the compliance report as one self-contained page (inline CSS, inline SVG charts, no
script, nothing from a network, every value escaped by the template), for a manager who opens nothing
else. Everything shown comes from :class:`~aimsflow.compliance.report.ComplianceReport`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aimsflow.compliance import charts
from aimsflow.compliance.coverage import ControlCoverage, FrameworkItemCoverage, Freshness
from aimsflow.compliance.crosswalk import BASE
from aimsflow.compliance.report import AGE_BUCKETS, ComplianceReport
from aimsflow.render import render_html

TEMPLATE = "compliance_report.html.j2"
NONE = "—"
FRESHNESS_CSS = {"fresh": "passed", "stale": "warning", "missing": "failed", "excluded": "muted"}
LEVEL_COLORS = [charts.GREEN, charts.AMBER, charts.ORANGE, charts.RED]


def when(moment: dt.datetime | str | None) -> str:
    """``2026-11-28 07:00 UTC``."""
    if moment is None:
        return NONE
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class ControlView:
    id: str
    title: str
    applicable: bool
    evidenced_by: str
    verdict: str | None
    verdict_period: str | None
    verdict_record: str | None
    freshness: str
    age: str
    ncs: list[str]
    gap: str | None
    justification: str
    evidence: list[dict[str, Any]]

    @property
    def row_css(self) -> str:
        if not self.applicable:
            return "muted"
        if self.freshness == "missing" or self.verdict in ("failed", "error"):
            return "failed"
        if self.gap:
            return "warning"
        return ""


def _age(days: int | None, max_days: int | None) -> str:
    if days is None:
        return NONE if max_days is None else f"{NONE} / {max_days} d"
    return f"{days} / {max_days} d" if max_days is not None else f"{days} d"


def control_view(c: ControlCoverage) -> ControlView:
    evidence = []
    for e in c.evidence:
        doc = e.document
        evidence.append(
            {
                "source": e.source
                if e.source != "manual"
                else (f"document: {doc.name}" if doc else "documents"),
                "freshness": str(e.freshness),
                "age": _age(e.age_days, e.max_age_days),
                "latest": e.latest,
                "last_pass": e.last_pass,
                "gap": e.gap,
                "review_date": doc.review_date.isoformat() if doc and doc.review_date else None,
                "owner": doc.owner if doc else None,
            }
        )
    return ControlView(
        id=c.id,
        title=c.title,
        applicable=c.applicable,
        evidenced_by=c.evidenced_by,
        verdict=c.verdict.status if c.verdict else None,
        verdict_period=c.verdict.period if c.verdict else None,
        verdict_record=c.verdict.record if c.verdict else None,
        freshness=str(c.freshness),
        age=_age(c.age_days, c.deciding.max_age_days if c.deciding else c.max_age_days)
        if c.applicable
        else NONE,
        ncs=[nc.id for nc in c.nonconformities] if c.applicable else [],
        gap=c.gap,
        justification=c.justification,
        evidence=evidence,
    )


@dataclass(frozen=True)
class FrameworkView:
    name: str
    title: str
    anchor: str
    base: bool
    controls: list[ControlView]
    items: list[FrameworkItemCoverage]
    counted: int  # items (or applicable controls) with at least one applicable control
    fresh_without_gap: int


def framework_view(
    name: str, title: str, rows: list[FrameworkItemCoverage], report: ComplianceReport
) -> FrameworkView:
    applicable = [r for r in rows if r.applicable]
    clean = [r for r in applicable if r.freshness == Freshness.fresh and not r.gaps]
    controls = [control_view(c) for c in report.coverage.controls] if name == BASE else []
    return FrameworkView(name, title, f"fw-{name}", name == BASE, controls, rows, len(applicable), len(clean))


def _tiles(report: ComplianceReport) -> list[dict[str, Any]]:
    counts = report.coverage.summary()
    ncs = len(report.nonconformities)
    above = len(report.risks.above_appetite) if report.risks else None
    tiles = [
        {
            "label": "Annex A controls evidenced and fresh",
            "value": f"{counts['fresh']} / {counts['applicable']}",
            "css": "passed" if counts["fresh"] == counts["applicable"] else "warning",
        },
        {"label": "stale", "value": counts["stale"], "css": "warning" if counts["stale"] else "passed"},
        {
            "label": "without evidence",
            "value": counts["missing"],
            "css": "failed" if counts["missing"] else "passed",
        },
        {
            "label": "failing latest verdict",
            "value": counts["failing"],
            "css": "failed" if counts["failing"] else "passed",
        },
        {"label": "open nonconformities", "value": ncs, "css": "warning" if ncs else "passed"},
        {
            "label": "risks above appetite",
            "value": NONE if above is None else above,
            "css": "muted" if above is None else ("failed" if above else "passed"),
        },
    ]
    if report.untrusted:
        tiles.insert(
            0, {"label": "records that do not verify", "value": len(report.untrusted), "css": "failed"}
        )
    return tiles


def _charts(report: ComplianceReport) -> dict[str, Any]:
    trend = report.trend
    days = [d.isoformat() for d in trend.days]
    coverage = charts.stacked_bars(
        days,
        [
            charts.Series("fresh", charts.GREEN, [p.counts["fresh"] for p in trend.coverage]),
            charts.Series("stale", charts.AMBER, [p.counts["stale"] for p in trend.coverage]),
            charts.Series("without evidence", charts.RED, [p.counts["missing"] for p in trend.coverage]),
        ],
        "Applicable Annex A controls per day by freshness",
    )
    heat = charts.heatmap(
        days,
        [(dag, [charts.Cell(s.passing, s.total) for s in shares]) for dag, shares in trend.passing.items()],
        "Share of passing verdicts per DAG and day",
    )
    nc = charts.hbars(
        [
            (label, n, charts.AMBER if bound is not None and bound <= 30 else charts.RED)
            for (bound, label), n in zip(AGE_BUCKETS, report.nc_by_age().values(), strict=True)
        ],
        "Open nonconformities by age",
    )
    levels = None
    if report.risks is not None:
        colors = LEVEL_COLORS[-len(report.risks.levels) :] if len(report.risks.levels) <= 4 else None
        levels = charts.hbars(
            [
                (name, n, (colors[i] if colors else charts.INK))
                for i, (name, n) in enumerate(report.risks.by_level.items())
            ],
            "Risks by current level",
        )
    return {"coverage": coverage, "passing": heat, "nc_age": nc, "risk_levels": levels}


def render_report_html(report: ComplianceReport) -> bytes:
    cov = report.coverage
    frameworks = [framework_view(name, title, rows, report) for name, title, rows in report.frameworks()]
    gaps = [control_view(c) for c in cov.controls if c.applicable and c.freshness != Freshness.fresh]
    failing = [
        control_view(c)
        for c in cov.controls
        if c.applicable
        and c.freshness == Freshness.fresh
        and c.verdict
        and c.verdict.status in ("failed", "error")
    ]
    first_point = report.trend.coverage[0] if report.trend.coverage else None
    last_point = report.trend.coverage[-1] if report.trend.coverage else None
    return render_html(
        TEMPLATE,
        title=f"Compliance report {report.period.label}",
        r=report,
        status=str(report.status),
        period=report.period.label,
        as_of=when(report.as_of),
        known_at=when(report.known_at),
        soa=cov.soa,
        summary=report.summary_lines(),
        reasons=list(report.reasons),
        tiles=_tiles(report),
        frameworks=frameworks,
        gaps=gaps,
        failing=failing,
        ncs=report.nonconformities,
        nc_by_age=report.nc_by_age(),
        risks=report.risks,
        risk_note=report.risk_note,
        changes=report.changes,
        control_titles={c.id: c.title for c in cov.controls},
        history=report.history,
        trend_days=[d.isoformat() for d in report.trend.days],
        first_point=first_point,
        last_point=last_point,
        charts=_charts(report),
        untrusted=report.untrusted,
        fresh_css=FRESHNESS_CSS,
        when=when,
        dash=NONE,
    )
