"""Bias assessment: group metrics of a dataset (and a model's predictions) with fairlearn MetricFrame
semantics, judged against a YAML fairness policy, reported as evidence with small groups suppressed."""

from aimsflow.fairness.job import CONTROLS, assess_training_set
from aimsflow.fairness.metrics import (
    MISSING_GROUP,
    FairnessReport,
    GroupingResult,
    MetricResult,
    Value,
    compute_group_metrics,
)
from aimsflow.fairness.policy import (
    FairnessPolicy,
    Outcome,
    Thresholds,
    Verdict,
    evaluate,
    load_fairness_policy,
)
from aimsflow.fairness.report import base_rate_chart_png, report_to_json, summary_markdown

__all__ = [
    "CONTROLS",
    "MISSING_GROUP",
    "FairnessPolicy",
    "FairnessReport",
    "GroupingResult",
    "MetricResult",
    "Outcome",
    "Thresholds",
    "Value",
    "Verdict",
    "assess_training_set",
    "base_rate_chart_png",
    "compute_group_metrics",
    "evaluate",
    "load_fairness_policy",
    "report_to_json",
    "summary_markdown",
]
