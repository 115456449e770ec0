"""The bias assessment job and its declaration: what the bias_assessment DAG runs per (AI system,
training dataset). The work (pandas, metrics, charts) is in :mod:`aimsflow.fairness.run` and
:mod:`aimsflow.fairness.assess`, imported when the job runs."""

from __future__ import annotations

from aimsflow.jobs import Job, PeriodUse, SubjectKind
from aimsflow.periods import Period
from aimsflow.results import JobResult


def pairs() -> list[dict[str, str]]:
    """The (AI system, training dataset) pairs the catalog gives sensitive features and a label."""
    from aimsflow.catalog import load_inventory
    from aimsflow.fairness.run import training_pairs

    return training_pairs(load_inventory())


def assess(period: Period, *, dataset: str) -> JobResult:
    """The training set as of the period's last day, against its AI system's fairness policy."""
    from aimsflow.catalog import load_inventory
    from aimsflow.fairness.run import assess_pair

    return assess_pair(load_inventory(), dataset, period)


ASSESS = Job(
    "bias_assessment",
    "assess",
    ("A.5.4", "A.7.4", "A.6.2.4"),
    SubjectKind.dataset,
    PeriodUse.span,
    assess,
    "group shares, base rates, parity (alone and intersectional), error rates; policy verdicts",
    reads=("data_quality/validate",),
)
JOBS = (ASSESS,)
