"""Bias assessment of one (AI system, training dataset) pair for a period: which partition, which
policy, and the bad-input checks that come before any metric."""

from __future__ import annotations

from pathlib import Path

from aimsflow import settings
from aimsflow.catalog import Inventory, Role
from aimsflow.configfile import config_path
from aimsflow.fairness.assess import assess_training_set
from aimsflow.fairness.policy import load_fairness_policy
from aimsflow.periods import Period
from aimsflow.quality.loading import BadInput, read_partition
from aimsflow.results import JobError, JobResult, SpecRef, Status, Subject


def policy_path() -> Path:
    return config_path("policies", "fairness.yaml")


def training_pairs(inventory: Inventory) -> list[dict[str, str]]:
    """Every (AI system, training dataset) the catalog gives sensitive features and a label."""
    return [
        {"ai_system": d.ai_system, "dataset": d.id}
        for d in sorted(inventory.datasets.values(), key=lambda d: d.id)
        if d.role == Role.train and d.sensitive_features and d.label_column
    ]


def assess_pair(
    inventory: Inventory, dataset_id: str, period: Period, data_root: Path | None = None
) -> JobResult:
    """Assess the training set as of the period's last day (training sets are trailing windows)."""
    dataset = inventory.dataset(dataset_id)
    day = max(period.dates())
    path = policy_path()
    base = JobResult(Subject(dataset.ai_system, dataset.id, day.isoformat()), Status.error)
    try:
        policy = load_fairness_policy(path)
    except ValueError as exc:
        raise JobError(f"fairness policy: {exc}", base) from None
    base.specs = [SpecRef.of_file(path)]
    updates = {}
    if dataset.reference_shares:
        updates["reference_shares"] = {**policy.reference_shares, **dataset.reference_shares}
    if dataset.min_group_size:
        updates["min_group_size"] = dataset.min_group_size
    policy = policy.model_copy(update=updates)
    try:
        partition = read_partition(dataset, day, data_root or settings.data_root())
    except BadInput as exc:
        raise JobError(str(exc), base) from None
    frame = partition.frame
    absent = [c for c in [dataset.label_column, *dataset.sensitive_features] if c not in frame.columns]
    if absent:
        raise JobError(f"{partition.path}: sensitive/label column(s) {absent} missing from the data", base)
    for feature in dataset.sensitive_features:
        if frame[feature].nunique(dropna=False) < 2:
            raise JobError(
                f"{partition.path}: every row is in one group of {feature!r}: there is nothing to compare",
                base,
            )
    result = assess_training_set(
        frame,
        dataset,
        policy,
        path,
        partition=day.isoformat(),
        predictions=dataset.predictions,
        inputs=[partition.ref],
    )
    result.specs.append(SpecRef.of_file(inventory.files["datasets"]))
    return result
