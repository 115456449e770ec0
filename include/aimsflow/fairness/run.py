"""Bias assessment of one (AI system, training dataset) pair for a period: which partition, which
policy, and the bad-input checks that come before any metric."""

from __future__ import annotations

from pathlib import Path

from aimsflow import settings
from aimsflow.catalog import Inventory
from aimsflow.fairness.assess import assess_training_set
from aimsflow.fairness.policy import assessed, load_fairness_policies
from aimsflow.periods import Period
from aimsflow.quality.loading import BadInput, read_partition
from aimsflow.results import JobError, JobResult, SpecRef, Subject, partial_result


def training_pairs(inventory: Inventory) -> list[dict[str, str]]:
    """Every (AI system, training dataset) the catalog gives sensitive features and a label."""
    return [
        {"ai_system": d.ai_system, "dataset": d.id}
        for d in sorted(inventory.datasets.values(), key=lambda d: d.id)
        if assessed(d)
    ]


def assess_pair(
    inventory: Inventory,
    dataset_id: str,
    period: Period,
    data_root: Path | None = None,
    policy_folder: Path | None = None,
) -> JobResult:
    """Assess the training set as of the period's last day (training sets are trailing windows),
    against the policy of its AI system (``policy_folder``, default: the inventory's
    ``policies/fairness``; see :func:`aimsflow.fairness.policy.load_fairness_policies`)."""
    dataset = inventory.dataset(dataset_id)
    day = max(period.dates())
    base = partial_result(Subject(dataset.ai_system, dataset.id, day.isoformat()))
    try:
        policy, spec = load_fairness_policies(inventory, policy_folder).for_system(dataset.ai_system)
    except ValueError as exc:
        raise JobError(f"fairness policy: {exc}", base) from None
    base.specs = [spec]
    try:
        partition = read_partition(dataset, day, data_root or settings.data_root())
    except BadInput as exc:
        raise JobError(str(exc), base) from None
    frame = partition.frame
    absent = [c for c in [dataset.label_column, *dataset.sensitive_features] if c not in frame.columns]
    if absent:
        raise JobError(f"{partition.path}: sensitive/label column(s) {absent} missing from the data", base)
    catalog = SpecRef.of_file(inventory.files["datasets"])  # its bins and sensitive features
    try:
        result = assess_training_set(
            frame,
            dataset,
            policy,
            spec,
            partition=day.isoformat(),
            predictions=dataset.predictions,
            inputs=[partition.ref],
        )
    except JobError as exc:
        if exc.result is not None:
            exc.result.specs.append(catalog)
        raise
    result.specs.append(catalog)
    return result
