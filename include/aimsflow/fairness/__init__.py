"""Bias assessment: group metrics of a dataset (and a model's predictions) with fairlearn MetricFrame
semantics, judged against the fairness policy of the dataset's AI system, reported as evidence with small groups suppressed."""

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
    DatasetPolicy,
    FairnessPolicy,
    Outcome,
    PolicySet,
    Thresholds,
    Verdict,
    evaluate,
    load_fairness_policies,
    load_fairness_policy,
    policy_dir,
)
from aimsflow.fairness.report import base_rate_chart_png, report_to_json, summary_markdown

__all__ = [
    "CONTROLS",
    "MISSING_GROUP",
    "DatasetPolicy",
    "FairnessPolicy",
    "FairnessReport",
    "GroupingResult",
    "MetricResult",
    "Outcome",
    "PolicySet",
    "Thresholds",
    "Value",
    "Verdict",
    "assess_training_set",
    "base_rate_chart_png",
    "compute_group_metrics",
    "evaluate",
    "load_fairness_policies",
    "load_fairness_policy",
    "policy_dir",
    "report_to_json",
    "summary_markdown",
]
