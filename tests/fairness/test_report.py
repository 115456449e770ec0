"""Evidence output (JSON with small groups suppressed, markdown, charts) and the bias assessment job."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from aimsflow.catalog import Dataset
from aimsflow.evidence.controls import ANNEX_A
from aimsflow.fairness.assess import assess_training_set
from aimsflow.fairness.job import ASSESS
from aimsflow.fairness.job import ASSESS as _ASSESS
from aimsflow.fairness.metrics import BASE_RATE, MISSING_GROUP, compute_group_metrics
from aimsflow.fairness.policy import FairnessPolicy, evaluate, load_fairness_policy
from aimsflow.fairness.report import base_rate_chart_png, report_to_json, summary_markdown
from aimsflow.fairness.suppression import COMPLEMENTARY as COMPLEMENTARY_TEXT
from aimsflow.fairness.suppression import SPREAD_WITHHELD as SPREAD_TEXT
from aimsflow.results import JobError, SpecRef, Status
from tests._markdown import assert_rectangular
from tests.conftest import declared
from tests.fairness._frames import DEMO_POLICY, make_frame

assess_training_set = declared(_ASSESS, assess_training_set)

DEMO_PATH = DEMO_POLICY
DEMO = SpecRef.of_file(DEMO_PATH)
PNG = b"\x89PNG\r\n\x1a\n"
SUPPRESSED = {"suppressed": "group size < 30"}
COMPLEMENTARY = {"suppressed": COMPLEMENTARY_TEXT}
SPREAD = {"suppressed": SPREAD_TEXT}


def _dataset(**overrides) -> Dataset:
    doc = {
        "id": "loan_training_set",
        "uri": "{data}/training/loan_training_set/date={date}",
        "format": "parquet",
        "owner": "team@example.com",
        "ai_system": "loan_approval",
        "role": "train",
        "label_column": "label",
        "sensitive_features": ["sex", "ethnicity"],
        "data_class": "training_data",
        "provenance": {"source": "s", "collection_method": "c", "legal_basis": "l"},
        "columns": {
            c: {"type": "string"}
            for c in ("sex", "ethnicity", "age_band", "annual_income", "credit_score", "label")
        },
    }
    doc.update(overrides)
    return Dataset.model_validate(doc)


@pytest.fixture(scope="module")
def policy() -> FairnessPolicy:
    return load_fairness_policy(DEMO_PATH)


@pytest.fixture(scope="module")
def biased() -> pd.DataFrame:
    # non-binary is ~4% of 600 rows (< 30 rows): suppressed everywhere in the evidence
    return make_frame(600, seed=7, n_ethnicities=3, bias=0.3)


def test_json_has_metricframe_shape_and_suppresses_small_groups(biased, policy):
    report = compute_group_metrics(
        biased, ["sex", "ethnicity"], "label", predictions="pred", depth=2, min_group_size=30
    )
    small = report.groupings["sex"].counts["non-binary"]
    assert 0 < small < 30
    verdicts = evaluate(report, policy)
    doc = report_to_json(report, verdicts)
    json.dumps(doc, allow_nan=False)  # JSON-able, no NaN
    sex = doc["groupings"]["sex"]
    # non-binary is small; female (the smallest other group) is withheld with it, or non-binary would
    # be the rows minus male and female
    assert sex["counts"]["non-binary"] == SUPPRESSED and sex["counts"]["male"] > 30
    assert sex["counts"]["female"] == COMPLEMENTARY
    assert sex["suppressed_groups"] == 1 and sex["complementary_groups"] == 1
    for name, metric in sex["metrics"].items():
        assert set(metric) == {"overall", "by_group", "difference", "ratio"}, name
        assert metric["by_group"]["non-binary"] == SUPPRESSED, name
        assert metric["by_group"]["female"] == COMPLEMENTARY, name
        assert isinstance(metric["by_group"]["male"], float), name
    # two assessed groups, one withheld: the spread would give its rate away (male's is published)
    base = sex["metrics"][BASE_RATE]
    assert base["difference"] == base["ratio"] == SPREAD
    assert doc["groupings"]["sex"]["equalized_odds_difference"] == SPREAD
    eth = doc["groupings"]["ethnicity"]
    assert eth["suppressed_groups"] == eth["complementary_groups"] == 0
    assert eth["metrics"][BASE_RATE]["difference"] == pytest.approx(
        report.groupings["ethnicity"].metrics[BASE_RATE].difference.value
    )
    assert all(
        v == SUPPRESSED
        for g, v in doc["groupings"]["sex|ethnicity"]["counts"].items()
        if g.startswith("non-binary")
    )
    # the computation keeps the small group's figures
    assert report.groupings["sex"].metrics[BASE_RATE].by_group["non-binary"].value is not None
    assert doc["status"] == "failed" and doc["verdict_counts"]["breach"] >= 1


def test_json_undefined_figures_and_suppressed_representation_verdict():
    df = pd.DataFrame(
        {"g": ["a"] * 50 + ["b"] * 40 + ["c"] * 5, "label": [1] * 50 + [0] * 45, "pred": [1, 0] * 47 + [1]}
    )
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 30,
            "intersection_depth": 1,
            "thresholds": {"representation_gap": {"max": 0.05}, "demographic_parity_ratio": {"min": 0.8}},
            "reference_shares": {"g": {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.0}},
        }
    )
    report = compute_group_metrics(
        df, ["g"], "label", predictions="pred", min_group_size=30, reference_shares=policy.reference_shares
    )
    doc = report_to_json(report, evaluate(report, policy))
    base = doc["groupings"]["g"]["metrics"][BASE_RATE]
    # c is small; b is withheld with it (else c = 95 - 50 - 40), and a too: b and c have no positive
    # label, so withholding only those two would show both rates to be 0 (50 positives, all a's)
    assert base["by_group"] == {"a": COMPLEMENTARY, "b": COMPLEMENTARY, "c": SUPPRESSED}
    assert base["difference"] == base["ratio"] == SPREAD
    tpr = doc["groupings"]["g"]["metrics"]["true_positive_rate"]
    assert tpr["by_group"]["b"] == COMPLEMENTARY
    assert tpr["difference"] == {"undefined": "insufficient data: 1 group(s) with a defined value, 2 needed"}
    assert doc["groupings"]["g"]["equalized_odds_difference"] == {
        "undefined": "insufficient data: TPR and FPR difference undefined"
    }
    gaps = doc["groupings"]["g"]["metrics"]["representation_gap"]
    assert gaps["by_group"]["d"] == 0.0  # reference group absent from the data: not suppressed
    assert gaps["by_group"]["c"] == SUPPRESSED
    verdict = next(v for v in doc["verdicts"] if v["threshold"] == "representation_gap")
    # c (5 of 95 = 0.053 vs 0.2) is the worst gap: the breach stands, its figure is suppressed
    assert verdict["outcome"] == "breach" and verdict["value"] == SUPPRESSED and verdict["group"] == "c"


def test_markdown_summary(biased, policy):
    report = compute_group_metrics(biased, ["sex", "ethnicity"], "label", depth=2, min_group_size=30)
    text = summary_markdown(report, evaluate(report, policy), policy, title="Bias assessment of x")
    assert text.startswith("# Bias assessment of x")
    assert "**Result: failed**" in text and "## Breaches" in text
    assert "| non-binary | suppressed (< 30) | suppressed |" in text
    assert "demographic_parity_ratio | sex | base_rate" in text


def test_breach_table_keeps_an_intersection_name_in_one_cell(biased, policy):
    """Bug: the intersection ``sex|ethnicity`` went into the breach table unescaped, so its pipe split
    the row into an extra column and every cell after it moved one column to the right."""
    report = compute_group_metrics(biased, ["sex", "ethnicity"], "label", depth=2, min_group_size=30)
    text = summary_markdown(report, evaluate(report, policy), policy)
    breaches = assert_rectangular(text)[0]
    assert breaches[0] == ["threshold", "grouping", "figure", "value", "bound", "detail"]
    rows = [row for row in breaches[1:] if row[1] == "sex\\|ethnicity"]
    assert [row[0] for row in rows] == ["demographic_parity_difference", "demographic_parity_ratio"]
    assert all(row[2] == "base_rate" and row[4] in ("<= 0.1", ">= 0.8") for row in rows)


def test_chart_is_a_png(biased, policy):
    report = compute_group_metrics(biased, ["sex"], "label", min_group_size=30)
    png = base_rate_chart_png(report, "sex", policy)
    assert png.startswith(PNG) and len(png) > 5_000


def test_job_fails_on_a_biased_training_set(biased, policy):
    df = biased.copy()
    df.loc[df.index[:3], "ethnicity"] = None
    policy = policy.model_copy(update={"reference_shares": {"age_band": {"18-24": 1.0}}})
    result = assess_training_set(df, _dataset(), policy, DEMO, partition="2026-06-30")
    assert result.status is Status.failed
    assert result.check == "bias_assessment/assess"
    assert result.controls == ASSESS.controls == ("A.5.4", "A.7.4", "A.6.2.4")
    assert all(c in ANNEX_A for c in result.controls)
    assert result.subject.as_dict() == {
        "ai_system": "loan_approval",
        "dataset": "loan_training_set",
        "partition": "2026-06-30",
    }
    assert result.specs == [DEMO]
    assert set(result.files) == {"metrics.json", "summary.md", "base_rate_sex.png", "base_rate_ethnicity.png"}
    assert all(result.files[f"base_rate_{f}.png"].startswith(PNG) for f in ("sex", "ethnicity"))
    doc = json.loads(result.files["metrics.json"])
    assert doc["policy"]["sha256"] == result.specs[0].sha256
    assert doc["groupings"]["ethnicity"]["counts"][MISSING_GROUP] == SUPPRESSED
    assert list(doc["groupings"]) == ["ethnicity", "sex", "sex|ethnicity"]  # record JSON: sorted keys
    summary = result.summary
    assert summary["verdicts"]["breach"] >= 1 and summary["breaches"]
    # non-binary is small and female is withheld with it: the sex ratio (male's rate against female's)
    # would give female's rate away, so it is withheld; the breach stands, without its value
    assert summary["label_demographic_parity_ratio"]["sex"] is None
    assert "demographic_parity_ratio sex (base_rate) withheld, bound >= 0.8" in summary["breaches"]
    assert summary["suppressed_groups"] >= 1 and summary["complementary_groups"] >= 1
    # one plan for every file: the summary withholds what metrics.json withholds
    assert doc["groupings"]["sex"]["counts"]["female"]["suppressed"].startswith("complementary")
    assert "| female | withheld (complementary) | withheld |" in result.files["summary.md"].decode()
    assert summary["suppression_residual"] == []
    assert summary["unmatched_policy_keys"] == ["age_band"]  # reference shares of a feature not assessed
    json.dumps(summary, allow_nan=False)
    assert result.message.startswith(f"{summary['verdicts']['breach']} breach(es)")


def test_job_passes_on_a_fair_training_set(policy):
    df = make_frame(3_000, seed=8, n_ethnicities=2, bias=0.0)
    # no non-binary rows; representation and missing rates within bounds
    df = df[df.sex != "non-binary"].drop(columns=["annual_income"])
    strict_free = policy.model_copy(update={"reference_shares": {}})
    result = assess_training_set(df, _dataset(), strict_free, DEMO)
    assert result.status is Status.passed, result.message
    assert result.summary["verdicts"]["breach"] == 0


@pytest.mark.parametrize(
    ("dataset", "df", "match"),
    [
        (_dataset(label_column=None), make_frame(50), "declares no label_column"),
        (_dataset(), make_frame(50).drop(columns=["ethnicity"]), "columns not in the data"),
        (_dataset(), make_frame(50).assign(label=2), "must be 0/1"),
    ],
)
def test_job_error_on_bad_input(dataset, df, match, policy):
    with pytest.raises(JobError, match=match) as info:
        assess_training_set(df, dataset, policy, DEMO)
    assert info.value.result.status is Status.error
    assert info.value.result.check == "bias_assessment/assess"
    assert info.value.result.specs == [DEMO]
