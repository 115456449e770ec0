"""The fairness policy file and the verdicts."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from aimsflow.catalog import ConfigError
from aimsflow.fairness.metrics import INSUFFICIENT, compute_group_metrics
from aimsflow.fairness.policy import FairnessPolicy, Outcome, Verdict, evaluate, load_fairness_policy
from tests.fairness._frames import DEMO_POLICY, edge_frame, make_frame

DEMO = DEMO_POLICY

MINIMAL = """
min_group_size: 30
intersection_depth: 2
thresholds:
  demographic_parity_ratio: {min: 0.8}
"""


def _policy(**overrides) -> FairnessPolicy:
    doc = {
        "min_group_size": 1,
        "intersection_depth": 1,
        "thresholds": {
            "demographic_parity_ratio": {"min": 0.8},
            "demographic_parity_difference": {"max": 0.1},
            "equalized_odds_difference": {"max": 0.1},
            "representation_gap": {"max": 0.1},
        },
    }
    doc.update(overrides)
    return FairnessPolicy.model_validate(doc)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fairness.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_policy_is_the_four_fifths_rule():
    policy = load_fairness_policy(DEMO)
    assert policy.min_group_size == 30 and policy.intersection_depth == 2
    assert policy.thresholds.demographic_parity_ratio.min == 0.8
    assert policy.thresholds.demographic_parity_difference.max == 0.1
    assert policy.thresholds.equalized_odds_difference.max == 0.1
    assert policy.thresholds.representation_gap.max == 0.1
    assert policy.reference_shares == {}  # the demo's reference shares live in the catalog


def test_minimal_policy(tmp_path):
    policy = load_fairness_policy(_write(tmp_path, MINIMAL))
    assert policy.thresholds.demographic_parity_difference is None
    assert policy.overrides == {} and policy.reference_shares == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            MINIMAL.replace("min_group_size: 30", "min_group_size: 0"),
            "min_group_size: value 0: expected greater than or equal to 1",
        ),
        (
            MINIMAL.replace("intersection_depth: 2", "intersection_depth: two"),
            "intersection_depth: value 'two': expected a valid integer",
        ),
        (
            MINIMAL.replace("{min: 0.8}", "{max: 0.8}"),
            "thresholds.demographic_parity_ratio.max: value 0.8: unknown key; expected one of ['max_depth', 'min']",
        ),
        (
            MINIMAL.replace("{min: 0.8}", "{min: 1.5}"),
            "thresholds.demographic_parity_ratio.min: value 1.5: expected less than or equal to 1",
        ),
        (
            MINIMAL.replace("{min: 0.8}", "{min: '0.8'}"),
            "thresholds.demographic_parity_ratio.min: value '0.8': expected a valid number",
        ),
        (
            MINIMAL.replace("demographic_parity_ratio", "four_fifths"),
            "thresholds.four_fifths: value {'min': 0.8}: unknown key; expected one of ['demographic_parity_difference', 'demographic_parity_ratio', 'equalized_odds_difference', 'missing_rate_difference', 'representation_gap']",
        ),
        (
            MINIMAL + "reference_shares: {sex: {female: 0.7, male: 0.6}}\n",
            "reference_shares: value {'sex': {'female': 0.7, 'male': 0.6}}: shares of 'sex' sum to 1.3; expected at most 1",
        ),
        (
            MINIMAL + "overrides: {sex: {equalized_odds_difference: {max: -1}}}\n",
            "overrides.sex.equalized_odds_difference.max: value -1: expected greater than or equal to 0",
        ),
        (MINIMAL + "version: 2\n", "version: value 2: expected 1"),
        (
            "min_group_size: 30\nintersection_depth: 2\n",
            "thresholds: value <missing>: expected this key to be set",
        ),
    ],
)
def test_invalid_policy_names_file_path_value_and_expectation(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_fairness_policy(path)
    located = rf"{re.escape(str(path))}:\d+:\d+: {re.escape(expected)}"  # file:line:column: path: ...
    assert any(re.fullmatch(located, p) for p in info.value.problems), info.value.problems


def test_every_problem_is_listed_at_once(tmp_path):
    text = "min_group_size: -3\nintersection_depth: 9\nthresholds: {representation_gap: {max: 2}}\nextra: 1\n"
    with pytest.raises(ConfigError) as info:
        load_fairness_policy(_write(tmp_path, text))
    joined = "\n".join(info.value.problems)
    assert len(info.value.problems) == 4, joined
    for where in ("min_group_size", "intersection_depth", "thresholds.representation_gap.max", "extra"):
        assert f": {where}: value" in joined


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "value an empty file: expected a mapping with policy keys"),
        ("- 1\n", "value list: expected a mapping with policy keys"),
        ("a: [", "not valid YAML"),
    ],
)
def test_unreadable_policy(tmp_path, text, expected):
    with pytest.raises(ConfigError, match="fairness.yaml") as info:
        load_fairness_policy(_write(tmp_path, text))
    assert expected in info.value.problems[0]
    with pytest.raises(ConfigError, match="file not found"):
        load_fairness_policy(tmp_path / "absent.yaml")


def test_overrides_replace_defaults_match_any_feature_order_and_null_switches_off():
    policy = _policy(
        overrides={
            "ethnicity|sex": {"demographic_parity_ratio": {"min": 0.7}, "representation_gap": None},
        }
    )
    t = policy.thresholds_for("sex|ethnicity")
    assert t.demographic_parity_ratio.min == 0.7 and t.representation_gap is None
    assert t.demographic_parity_difference.max == 0.1  # not overridden
    assert policy.thresholds_for("sex").demographic_parity_ratio.min == 0.8


def _verdicts(df, policy, **kwargs) -> dict[tuple[str, str, str], Verdict]:
    report = compute_group_metrics(
        df, kwargs.pop("features", ["grp"]), "label", min_group_size=policy.min_group_size, **kwargs
    )
    return {(v.threshold, v.grouping, v.metric): v for v in evaluate(report, policy)}


def test_verdicts_pass_and_breach_with_the_bound_inclusive():
    # rates 0.5 and 0.4: difference 0.1 (== max: pass), ratio 0.8 (== min: pass)
    df = pd.DataFrame({"grp": ["a"] * 10 + ["b"] * 10, "label": [1] * 5 + [0] * 5 + [1] * 4 + [0] * 6})
    v = _verdicts(df, _policy())
    assert v["demographic_parity_difference", "grp", "base_rate"].outcome is Outcome.passed
    assert v["demographic_parity_ratio", "grp", "base_rate"].outcome is Outcome.passed
    assert v["demographic_parity_ratio", "grp", "base_rate"].value == pytest.approx(0.8)
    strict = _policy(thresholds={"demographic_parity_ratio": {"min": 0.81}})
    verdict = _verdicts(df, strict)["demographic_parity_ratio", "grp", "base_rate"]
    assert verdict.outcome is Outcome.breach and verdict.bound == ">= 0.81"
    assert verdict.detail == "lowest 'b' 0.4000, highest 'a' 0.5000"


def test_undefined_never_breaches():
    df = edge_frame()  # label skew between groups is extreme (b: 0.0, d: 1.0)
    policy = _policy(min_group_size=100, thresholds={"demographic_parity_ratio": {"min": 0.99}})
    v = _verdicts(df, policy, predictions="pred")
    assert {x.outcome for x in v.values()} == {Outcome.insufficient}
    assert all(x.value is None and x.detail.startswith(INSUFFICIENT) for x in v.values())
    # the same data with small enough groups breaches
    v = _verdicts(df, _policy(min_group_size=20), predictions="pred")
    assert v["demographic_parity_ratio", "grp", "base_rate"].outcome is Outcome.breach


def test_predictions_add_selection_rate_parity_and_equalized_odds():
    df = make_frame(1_000, seed=5)
    v = _verdicts(df, _policy(min_group_size=30), features=["sex"], predictions="pred")
    assert ("demographic_parity_ratio", "sex", "selection_rate") in v
    eod = v["equalized_odds_difference", "sex", "true_positive_rate/false_positive_rate"]
    assert eod.outcome in (Outcome.passed, Outcome.breach) and eod.value is not None


def test_equalized_odds_with_one_half_undefined_breaches_only_when_the_known_half_already_does():
    # group a: positives and negatives; b: negatives only (TPR undefined) -> FPR difference known only
    df = pd.DataFrame(
        {
            "grp": ["a"] * 8 + ["b"] * 8,
            "label": [1, 1, 1, 1, 0, 0, 0, 0] + [0] * 8,
            "pred": [1, 1, 0, 0, 1, 0, 0, 0] + [1, 1, 1, 1, 0, 0, 0, 0],
        }
    )
    report = compute_group_metrics(df, ["grp"], "label", predictions="pred", min_group_size=1)
    eod = report.groupings["grp"].equalized_odds_difference
    assert not eod.defined and eod.value == pytest.approx(0.25)  # FPR 0.25 vs 0.5
    key = ("equalized_odds_difference", "grp", "true_positive_rate/false_positive_rate")
    breach = {(x.threshold, x.grouping, x.metric): x for x in evaluate(report, _policy())}[key]
    assert breach.outcome is Outcome.breach and "at least" in breach.detail
    lenient = _policy(thresholds={"equalized_odds_difference": {"max": 0.3}})
    assert {(x.threshold, x.grouping, x.metric): x for x in evaluate(report, lenient)}[
        key
    ].outcome is Outcome.insufficient


def test_representation_gap_verdict():
    df = pd.DataFrame({"grp": ["a"] * 80 + ["b"] * 20, "label": [0, 1] * 50})
    policy = _policy(reference_shares={"grp": {"a": 0.6, "b": 0.25, "c": 0.15}})
    verdict = _verdicts(df, policy, reference_shares=policy.reference_shares)[
        "representation_gap", "grp", "share"
    ]
    assert verdict.outcome is Outcome.breach and verdict.value == pytest.approx(0.2)
    assert verdict.group == "a" and "over-represented" in verdict.detail
    # a single feature without reference shares: insufficient data, not silently skipped
    verdict = _verdicts(df, _policy())["representation_gap", "grp", "share"]
    assert verdict.outcome is Outcome.insufficient and "no reference shares" in verdict.detail


def test_max_depth_limits_a_threshold_to_single_features():
    df = make_frame(600, seed=6)
    policy = _policy(
        intersection_depth=2,
        min_group_size=10,
        thresholds={"missing_rate_difference": {"max": 0.5, "max_depth": 1}},
    )
    report = compute_group_metrics(
        df,
        ["sex", "age_band"],
        "label",
        depth=2,
        min_group_size=10,
        columns=["annual_income", "credit_score"],
    )
    verdicts = evaluate(report, policy)
    assert [(v.threshold, v.grouping) for v in verdicts] == [
        ("missing_rate_difference", "sex"),
        ("missing_rate_difference", "age_band"),
    ]
    # the worst column is judged: income is missing more often for women
    assert verdicts[0].metric == "missing_rate:annual_income" and verdicts[0].outcome is Outcome.passed


def test_report_with_a_smaller_minimum_than_the_policy_is_refused():
    report = compute_group_metrics(edge_frame(), ["grp"], "label", min_group_size=5)
    with pytest.raises(ValueError, match="min_group_size 5"):
        evaluate(report, _policy(min_group_size=30))
