"""The bias assessment job of a training set (ISO/IEC 42001 A.5.4, A.7.4, A.6.2.4)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aimsflow.catalog import Dataset
from aimsflow.fairness.bands import grouped
from aimsflow.fairness.metrics import BASE_RATE, FairnessReport, compute_group_metrics
from aimsflow.fairness.policy import FairnessPolicy, Outcome, Verdict, evaluate
from aimsflow.fairness.report import base_rate_chart_png, report_to_json, summary_markdown, verdict_withheld
from aimsflow.fairness.suppression import Suppression, plan_suppression
from aimsflow.results import DataRef, JobError, JobResult, SpecRef, Status, Subject, record_json

_SHOWN_BREACHES = 10


def _unmatched_policy_keys(report: FairnessReport, policy: FairnessPolicy) -> list[str]:
    """Override / reference-share keys naming no grouping of the report (typos, features not in the data)."""
    known = {frozenset(g.features) for g in report.groupings.values()}
    unmatched = [k for k in policy.overrides if frozenset(k.split("|")) not in known]
    unmatched += [k for k in policy.reference_shares if k not in report.groupings]
    return sorted(set(unmatched))


def _breach_line(v: Verdict, plan: Suppression) -> str:
    value = "withheld" if verdict_withheld(v, plan) else "?" if v.value is None else f"{v.value:.4f}"
    return f"{v.threshold} {v.grouping} ({v.metric}) {value}, bound {v.bound}"


def _summary(
    report: FairnessReport, verdicts: Sequence[Verdict], policy: FairnessPolicy, plan: Suppression
) -> dict[str, Any]:
    tally = Counter(v.outcome.value for v in verdicts)
    single = [f for f in report.sensitive_features if f in report.groupings]
    per_feature: dict[str, dict[str, float | None]] = {
        "demographic_parity_ratio": {},
        "demographic_parity_difference": {},
    }
    for feature in single:
        base = report.groupings[feature].metrics[BASE_RATE]
        for key, figure in (
            ("demographic_parity_ratio", base.ratio),
            ("demographic_parity_difference", base.difference),
        ):
            per_feature[key][feature] = (
                round(figure.value, 6)
                if figure is not None
                and figure.defined
                and figure.value is not None
                and not plan.spread_withheld(feature, BASE_RATE)
                else None
            )
    breaches = [v for v in verdicts if v.outcome is Outcome.breach]
    # Representation breaches name a group and its figure; the summary only names the grouping.
    return {
        "rows": report.rows,
        "groupings": len(report.groupings),
        "intersection_depth": report.depth,
        "min_group_size": report.min_group_size,
        "verdicts": {o.value: tally.get(o.value, 0) for o in Outcome},
        "breaches": [
            _breach_line(v, plan) if v.group is None else f"{v.threshold} {v.grouping}, bound {v.bound}"
            for v in breaches[:_SHOWN_BREACHES]
        ],
        "suppressed_groups": sum(len(g) for g in plan.primary.values()),
        "complementary_groups": sum(len(g) for g in plan.secondary.values()),
        "suppression_residual": ["=".join(cell) for cell in plan.residual],
        "unmatched_policy_keys": _unmatched_policy_keys(report, policy),
        **{f"label_{k}": v for k, v in per_feature.items()},
    }


def assess_training_set(
    df: pd.DataFrame,
    dataset: Dataset,
    policy: FairnessPolicy,
    policy_spec: SpecRef,
    *,
    partition: str | None = None,
    predictions: str | None = None,
    inputs: Sequence[DataRef] = (),
) -> JobResult:
    """Group metrics of ``df`` per sensitive feature of ``dataset`` (numeric ones in the catalog's
    bands) and their intersections, judged against ``policy`` — the AI system's, whose section for
    the dataset is applied here — read from the file ``policy_spec`` pins: ``failed`` on any
    breach, ``passed`` otherwise (figures with insufficient data are counted in the summary, never
    breaches). Files: ``metrics.json`` (small groups suppressed), ``summary.md`` and
    ``base_rate_<feature>.png`` per sensitive feature. Bad input (no label, missing columns, a label
    that is not 0/1, a numeric sensitive column without bins, one group only) raises :class:`JobError`."""
    subject = Subject(dataset.ai_system, dataset.id, partition)
    specs = [policy_spec]
    applied = policy.for_dataset(dataset)

    def error(message: str) -> JobError:
        return JobError.partial(
            message, subject, summary={"problem": message}, inputs=list(inputs), specs=specs
        )

    if not dataset.label_column:
        raise error(f"dataset {dataset.id!r} declares no label_column")
    if not dataset.sensitive_features:
        raise error(f"dataset {dataset.id!r} declares no sensitive_features")
    where = dataset.id + (f" ({partition})" if partition else "")
    try:
        frame = grouped(df, dataset)
        for feature in dataset.sensitive_features:
            if len(frame) and feature in frame.columns and frame[feature].nunique(dropna=False) < 2:
                raise ValueError(f"every row is in one group of {feature!r}: there is nothing to compare")
        report = compute_group_metrics(
            frame,
            dataset.sensitive_features,
            dataset.label_column,
            predictions=predictions,
            depth=applied.intersection_depth,
            min_group_size=applied.min_group_size,
            reference_shares=applied.reference_shares,
        )
    except ValueError as exc:
        raise error(f"{where}: {exc}") from None
    verdicts = evaluate(report, applied)
    # One plan for every file: which groups (and spreads) are withheld must agree between them.
    plan = plan_suppression(report, max(report.min_group_size, applied.min_group_size))

    doc = report_to_json(report, verdicts, suppression=plan)
    doc["policy"] = {
        "path": policy_spec.path,
        "sha256": policy_spec.sha256,
        "dataset_section": dataset.id in policy.datasets,
    }
    bands = {f: dataset.columns[f].band_labels() for f in dataset.sensitive_features}
    doc["bands"] = {
        f: {"bins": dataset.columns[f].bins, "groups": labels} for f, labels in bands.items() if labels
    }
    files: dict[str, bytes | Path] = {
        "metrics.json": record_json(doc),
        "summary.md": summary_markdown(
            report,
            verdicts,
            applied,
            title=f"Bias assessment of {dataset.id}" + (f" ({partition})" if partition else ""),
            suppression=plan,
        ).encode("utf-8"),
    }
    for feature in dataset.sensitive_features:
        files[f"base_rate_{feature}.png"] = base_rate_chart_png(report, feature, applied, suppression=plan)

    summary = _summary(report, verdicts, applied, plan)
    breaches = [v for v in verdicts if v.outcome is Outcome.breach]
    counts = summary["verdicts"]
    if breaches:
        message = f"{len(breaches)} breach(es) of the fairness policy: " + "; ".join(summary["breaches"][:3])
    else:
        message = f"no breach: {counts[Outcome.passed.value]} pass"
    if counts[Outcome.insufficient.value]:
        message += f", {counts[Outcome.insufficient.value]} with insufficient data"
    return JobResult(
        subject,
        Status.failed if breaches else Status.passed,
        summary=summary,
        files=files,
        inputs=list(inputs),
        specs=specs,
        message=message,
    )
