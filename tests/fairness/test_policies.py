"""One fairness policy per AI system (``policies/fairness/<ai_system_id>.yaml``), checked against the
inventory, with per-dataset sections; the record pins the exact file used."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml

from aimsflow.catalog import ConfigError, load_inventory
from aimsflow.fairness.assess import assess_training_set
from aimsflow.fairness.policy import FairnessPolicy, load_fairness_policies, policy_dir
from aimsflow.fairness.run import assess_pair
from aimsflow.periods import Period
from aimsflow.results import JobError, SpecRef, Status, sha256_bytes, sha256_file
from tests.conftest import PROJECT
from tests.fairness._frames import make_frame
from tests.fairness.test_report import _dataset as report_dataset

DAY = dt.date(2026, 6, 30)
SHIPPED = PROJECT / "include" / "config"

CREDIT_SYSTEM = {
    "id": "credit_scoring",
    "name": "SME credit scoring",
    "purpose": "Scores small-business credit applications.",
    "ai_type": "logistic regression",
    "owner": "sme-risk@example.com",
    "lifecycle_stage": "validation",
    "decisions_influenced": ["credit limit"],
    "affected_stakeholders": ["business owners"],
    "risk_class": "high",
}
CREDIT_TRAINING = {
    "id": "credit_training",
    "uri": "{data}/credit/date={date}.csv",
    "format": "csv",
    "owner": "ds@example.com",
    "ai_system": "credit_scoring",
    "role": "train",
    "label_column": "approved",
    "sensitive_features": ["owner_age", "owner_sex"],
    "data_class": "training_data",
    "provenance": {"source": "s", "collection_method": "c", "legal_basis": "l"},
    "columns": {
        "owner_age": {"type": "integer", "bins": [18, 40, 60]},
        "owner_sex": {"type": "string"},
        "approved": {"type": "integer"},
    },
}
CREDIT_POLICY = {
    "min_group_size": 5,
    "intersection_depth": 1,
    "thresholds": {"demographic_parity_ratio": {"min": 0.9}},
}


def _config(tmp_path: Path, credit_policy: dict | None = CREDIT_POLICY) -> Path:
    """The shipped config plus a second AI system with a binned training set (and its policy)."""
    config = tmp_path / "config"
    shutil.copytree(SHIPPED, config)
    systems = yaml.safe_load((config / "ai_systems.yaml").read_text())
    systems["ai_systems"].append(CREDIT_SYSTEM)
    (config / "ai_systems.yaml").write_text(yaml.safe_dump(systems, sort_keys=False))
    datasets = yaml.safe_load((config / "datasets.yaml").read_text())
    datasets["datasets"].append(CREDIT_TRAINING)
    (config / "datasets.yaml").write_text(yaml.safe_dump(datasets, sort_keys=False))
    if credit_policy is not None:
        _write_policy(config, "credit_scoring", credit_policy)
    return config


def _write_policy(config: Path, name: str, doc: dict) -> Path:
    path = policy_dir(config) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _edit_loan(config: Path, **changes) -> Path:
    path = policy_dir(config) / "loan_approval.yaml"
    doc = yaml.safe_load(path.read_text()) | changes
    return _write_policy(config, "loan_approval", doc)


def _problems(config: Path) -> dict[str | None, list[str]]:
    return load_fairness_policies(load_inventory(config)).problems


def _one(problems: list[str], *parts: str) -> str:
    hits = [p for p in problems if all(part in p for part in parts)]
    assert len(hits) == 1, f"expected one problem with {parts}, got {problems}"
    return hits[0]


def _credit_csv(data: Path) -> None:
    """Owners under 40 approved 2 in 6, 40-59 5 in 6, 60+ 4 in 6: a base-rate ratio of 0.4 by age
    band; 9 in 18 for either sex."""
    rows = ["owner_age,owner_sex,approved"]
    for start, approved in ((25, 2), (40, 5), (60, 4)):
        rows += [f"{start + 2 * i},{'f' if i % 2 else 'm'},{int(i < approved)}" for i in range(6)]
    (data / "credit").mkdir(parents=True)
    (data / f"credit/date={DAY}.csv").write_text("\n".join(rows) + "\n")


# --- the shipped layout ----------------------------------------------------------------------------


def test_shipped_policies_have_no_problem_and_pin_the_file_by_hash():
    policies = load_fairness_policies(load_inventory(SHIPPED))
    policies.check()
    policy, spec = policies.for_system("loan_approval")
    path = SHIPPED / "policies" / "fairness" / "loan_approval.yaml"
    assert spec == SpecRef(str(path), sha256_bytes(path.read_bytes()))
    assert policy.thresholds.demographic_parity_ratio.min == 0.8 and policy.datasets == {}
    assert not (SHIPPED / "policies" / "fairness.yaml").exists()


# --- per AI system ---------------------------------------------------------------------------------


def test_each_ai_system_is_judged_by_its_own_policy_and_its_file_is_in_the_record(tmp_path):
    config = _config(tmp_path)
    inventory = load_inventory(config)
    data = tmp_path / "data"
    _credit_csv(data)
    result = assess_pair(inventory, "credit_training", Period.day(DAY), data)
    assert result.status is Status.failed
    credit_policy = policy_dir(config) / "credit_scoring.yaml"
    assert result.specs == [SpecRef.of_file(credit_policy), SpecRef.of_file(config / "datasets.yaml")]
    metrics = json.loads(result.files["metrics.json"])
    assert metrics["policy"]["sha256"] == sha256_file(credit_policy)
    bounds = {v["bound"] for v in metrics["verdicts"] if v["threshold"] == "demographic_parity_ratio"}
    assert bounds == {">= 0.9"}  # credit_scoring's, not loan_approval's 0.8
    assert set(metrics["groupings"]) == {"owner_age", "owner_sex"}  # its depth 1
    assert set(metrics["groupings"]["owner_age"]["counts"]) == {"18-39", "40-59", "60+"}
    assert result.summary["label_demographic_parity_ratio"]["owner_age"] == pytest.approx(0.4)


def test_a_policy_change_of_one_system_leaves_the_other_systems_hash_alone(tmp_path):
    config = _config(tmp_path)
    before = load_fairness_policies(load_inventory(config)).for_system("loan_approval")[1]
    _write_policy(config, "credit_scoring", CREDIT_POLICY | {"min_group_size": 6})
    policies = load_fairness_policies(load_inventory(config))
    assert policies.for_system("loan_approval")[1] == before
    assert policies.for_system("credit_scoring")[1].sha256 != sha256_bytes(
        yaml.safe_dump(CREDIT_POLICY).encode()
    )


def test_an_ai_system_without_a_policy_is_a_configuration_error_of_that_system_only(tmp_path):
    """No default: the loan system's policy must not silently judge the credit system's data."""
    config = _config(tmp_path, credit_policy=None)
    policies = load_fairness_policies(load_inventory(config))
    with pytest.raises(ConfigError) as info:
        policies.for_system("credit_scoring")
    [problem] = info.value.problems
    assert problem.startswith(f"{policy_dir(config) / 'credit_scoring.yaml'}: file not found")
    assert "['credit_training']" in problem and "no default policy" in problem
    policies.for_system("loan_approval")  # the other system is still assessed
    data = tmp_path / "data"
    _credit_csv(data)
    with pytest.raises(JobError, match="(?s)fairness policy: .*credit_scoring.yaml: file not found") as err:
        assess_pair(load_inventory(config), "credit_training", Period.day(DAY), data)
    assert err.value.result.status is Status.error and err.value.result.specs == []


def test_an_ai_system_with_nothing_to_assess_needs_no_policy(tmp_path):
    config = _config(tmp_path, credit_policy=None)
    datasets = yaml.safe_load((config / "datasets.yaml").read_text())
    datasets["datasets"][-1]["role"] = "operational"
    (config / "datasets.yaml").write_text(yaml.safe_dump(datasets, sort_keys=False))
    assert _problems(config) == {}


# --- validation at load ----------------------------------------------------------------------------


def test_file_named_after_no_ai_system_concerns_every_system(tmp_path):
    config = _config(tmp_path)
    stray = _write_policy(config, "credit_scorng", CREDIT_POLICY)
    problems = _problems(config)
    assert list(problems) == [None]
    [problem] = problems[None]
    assert problem.startswith(f"{stray}: value 'credit_scorng': the file name must be the id of an AI system")
    assert "(did you mean 'credit_scoring'?)" in problem
    with pytest.raises(ConfigError):
        load_fairness_policies(load_inventory(config)).for_system("loan_approval")


@pytest.mark.parametrize(
    ("datasets", "parts"),
    [
        pytest.param(
            {"loan_trainig_set": {"min_group_size": 50}},
            (
                "datasets.loan_trainig_set: value 'loan_trainig_set': unknown dataset",
                "(did you mean 'loan_training_set'?)",
            ),
            id="unknown-dataset",
        ),
        pytest.param(
            {"credit_training": {"min_group_size": 50}},
            (
                "datasets.credit_training: value 'credit_training': a dataset of AI system 'credit_scoring', "
                "not 'loan_approval'",
                "credit_scoring.yaml",
            ),
            id="dataset-of-another-ai-system",
        ),
        pytest.param(
            {"loan_applications_clean": {"min_group_size": 50}},
            (
                "datasets.loan_applications_clean: value 'loan_applications_clean'",
                "does not cover it (role operational)",
            ),
            id="dataset-not-assessed",
        ),
        pytest.param(
            {"loan_training_set": {"overrides": {"sex|age": {"demographic_parity_ratio": {"min": 0.7}}}}},
            (
                "datasets.loan_training_set.overrides.sex|age: value 'sex|age': names ['age']",
                "dataset 'loan_training_set'",
            ),
            id="dataset-override-of-an-unknown-feature",
        ),
        pytest.param(
            {"loan_training_set": {"min_grup_size": 50}},
            (
                "datasets.loan_training_set.min_grup_size: value 50: unknown key; expected one of",
                "'min_group_size'",
            ),
            id="unknown-key-in-a-dataset-section",
        ),
        pytest.param(
            {"loan_training_set": {"thresholds": {"demographic_parity_ratio": {"min": 1.2}}}},
            ("datasets.loan_training_set.thresholds.demographic_parity_ratio.min: value 1.2",),
            id="bad-threshold-in-a-dataset-section",
        ),
        pytest.param(
            {"loan_training_set": {"intersection_depth": 0}},
            ("datasets.loan_training_set.intersection_depth: value 0: expected greater than or equal to 1",),
            id="bad-depth-in-a-dataset-section",
        ),
        pytest.param(
            {
                "loan_training_set": {
                    "overrides": {
                        "sex|ethnicity": {"demographic_parity_ratio": {"min": 0.7}},
                        "ethnicity|sex": {"demographic_parity_ratio": {"min": 0.6}},
                    }
                }
            },
            (
                "datasets.loan_training_set.overrides",
                "'sex|ethnicity' and 'ethnicity|sex' name the same grouping",
            ),
            id="one-grouping-twice",
        ),
    ],
)
def test_dataset_sections_are_checked_against_the_inventory(tmp_path, datasets, parts):
    config = _config(tmp_path)
    path = _edit_loan(config, datasets=datasets)
    problems = _problems(config)
    assert list(problems) == ["loan_approval"], problems
    _one(problems["loan_approval"], f"{path}:", *parts)
    assert len(problems["loan_approval"]) == 1, problems
    load_fairness_policies(load_inventory(config)).for_system("credit_scoring")  # unaffected


@pytest.mark.parametrize(
    ("changes", "parts"),
    [
        pytest.param(
            {"overrides": {"sex|gender": {"demographic_parity_ratio": {"min": 0.7}}}},
            (
                "overrides.sex|gender: value 'sex|gender': names ['gender'], not a sensitive feature of the 'loan_approval' datasets",
            ),
            id="override-of-an-unknown-feature",
        ),
        pytest.param(
            {"reference_shares": {"owner_sex": {"f": 0.5}}},
            ("reference_shares.owner_sex: value 'owner_sex': names ['owner_sex']",),
            id="reference-shares-of-another-systems-feature",
        ),
    ],
)
def test_grouping_names_are_checked_against_the_systems_features(tmp_path, changes, parts):
    config = _config(tmp_path)
    path = _edit_loan(config, **changes)
    problems = _problems(config)
    _one(problems["loan_approval"], f"{path}:", *parts)
    assert len(problems["loan_approval"]) == 1 and list(problems) == ["loan_approval"], problems


def test_the_old_global_file_and_yml_files_are_refused(tmp_path):
    """A leftover ``policies/fairness.yaml`` would look in force while nothing reads it."""
    config = _config(tmp_path)
    legacy = config / "policies" / "fairness.yaml"
    shutil.copy(policy_dir(config) / "loan_approval.yaml", legacy)
    yml = policy_dir(config) / "loan_approval.yml"
    yml.write_text("min_group_size: 1\n")
    (policy_dir(config) / "README.md").write_text("notes\n")  # other files are left alone
    problems = _problems(config)
    assert list(problems) == [None] and len(problems[None]) == 2, problems
    _one(problems[None], f"{legacy}: superseded by one policy per AI system")
    _one(problems[None], f"{yml}: not read: a policy file ends in .yaml")


def test_every_problem_is_listed_at_once(tmp_path):
    config = _config(tmp_path, credit_policy={"min_group_size": 0, "intersection_depth": 1})
    _edit_loan(config, datasets={"nope": {}}, overrides={"age": {}})
    _write_policy(config, "ghost", CREDIT_POLICY)
    problems = load_fairness_policies(load_inventory(config))
    with pytest.raises(ConfigError) as info:
        problems.check()
    joined = "\n".join(info.value.problems)
    assert len(info.value.problems) == 5, joined
    for part in (
        "min_group_size: value 0",
        "thresholds: value <missing>",
        "datasets.nope",
        "overrides.age",
        "'ghost'",
    ):
        assert part in joined


def test_the_hash_is_of_the_bytes_validated(tmp_path, monkeypatch):
    """A file rewritten while it is read is refused, never recorded under the other version's hash."""
    import aimsflow.fairness.policy as module

    config = _config(tmp_path)
    path = policy_dir(config) / "credit_scoring.yaml"
    real = module.read_mapping

    def read_then_edit(p, *args, **kwargs):
        doc = real(p, *args, **kwargs)
        if Path(p) == path:
            path.write_text(path.read_text() + "# edited\n")
        return doc

    monkeypatch.setattr(module, "read_mapping", read_then_edit)
    problems = _problems(config)
    assert problems == {"credit_scoring": [f"{path}: changed while it was read; run again"]}


# --- per-dataset sections --------------------------------------------------------------------------


def test_a_dataset_section_replaces_what_it_sets_and_nothing_else(tmp_path):
    config = _config(tmp_path)
    _edit_loan(
        config,
        overrides={
            "ethnicity|sex": {"demographic_parity_ratio": {"min": 0.6}},
            "sex|age_band": {"demographic_parity_difference": {"max": 0.3}},
        },
        datasets={
            "loan_training_set": {
                "min_group_size": 50,
                "thresholds": {"demographic_parity_ratio": {"min": 0.9}, "representation_gap": None},
                "overrides": {"sex|ethnicity": {"demographic_parity_difference": {"max": 0.2}}},
            }
        },
    )
    inventory = load_inventory(config)
    system, _ = load_fairness_policies(inventory).for_system("loan_approval")
    applied = system.for_dataset(inventory.dataset("loan_training_set"))
    assert applied.min_group_size == 50 and applied.intersection_depth == system.intersection_depth
    t = applied.thresholds
    assert t.demographic_parity_ratio.min == 0.9 and t.representation_gap is None
    assert t.demographic_parity_difference.max == 0.1 and t.equalized_odds_difference.max == 0.1
    # the dataset's override of sex|ethnicity replaces the system's (written the other way round) ...
    assert applied.thresholds_for("sex|ethnicity").demographic_parity_difference.max == 0.2
    assert applied.thresholds_for("sex|ethnicity").demographic_parity_ratio.min == 0.9
    # ... and the system's override of another grouping still beats the dataset's defaults
    assert applied.thresholds_for("age_band|sex").demographic_parity_difference.max == 0.3
    assert applied.datasets == {} and applied.for_dataset(inventory.dataset("loan_training_set")) == applied
    # the catalog's reference shares of the dataset are the ones used
    assert applied.reference_shares["sex"] == {"female": 0.50, "male": 0.48, "non-binary": 0.02}
    # another dataset of the system gets the system's policy
    credit = inventory.dataset("credit_training").model_copy(update={"ai_system": "loan_approval"})
    assert system.for_dataset(credit).min_group_size == system.min_group_size


def test_assessment_applies_the_dataset_section(tmp_path):
    config = _config(tmp_path)
    inventory = load_inventory(config)
    data = tmp_path / "data"
    _credit_csv(data)
    path = _write_policy(
        config,
        "credit_scoring",
        CREDIT_POLICY
        | {"datasets": {"credit_training": {"thresholds": {"demographic_parity_ratio": {"min": 0.3}}}}},
    )
    result = assess_pair(inventory, "credit_training", Period.day(DAY), data)
    assert result.status is Status.passed, result.message  # 0.4 >= 0.3
    metrics = json.loads(result.files["metrics.json"])
    assert metrics["policy"] == {"path": str(path), "sha256": sha256_file(path), "dataset_section": True}


def test_assess_training_set_applies_the_section_of_its_dataset():
    """A caller that passes the system's policy cannot skip the dataset's section."""
    policy = FairnessPolicy.model_validate(
        {
            "min_group_size": 1,
            "intersection_depth": 1,
            "thresholds": {"demographic_parity_ratio": {"min": 0.8}},
            "datasets": {"loan_training_set": {"thresholds": {"demographic_parity_ratio": {"min": 0.01}}}},
        }
    )
    df = make_frame(600, seed=7, n_ethnicities=3, bias=0.3)
    spec = SpecRef("policy.yaml", "0" * 64)
    assert assess_training_set(df, report_dataset(), policy, spec).status is Status.passed
    system_only = policy.model_copy(update={"datasets": {}})
    assert assess_training_set(df, report_dataset(), system_only, spec).status is Status.failed
