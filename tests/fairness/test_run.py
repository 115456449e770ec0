"""The bias assessment of a catalog pair: partition choice, bad input, onboarding by catalog entry."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pyarrow as pa
import pytest

from aimsflow.catalog import load_inventory
from aimsflow.fairness.job import ASSESS as _ASSESS
from aimsflow.fairness.run import assess_pair, training_pairs
from aimsflow.periods import Period
from aimsflow.prep.partitions import latest_version, write_version
from aimsflow.results import JobError, SpecRef, Status, sha256_file
from tests.conftest import END, PROJECT, declared

assess_pair = declared(_ASSESS, assess_pair)

DAY = END - dt.timedelta(days=2)


@pytest.fixture
def data(prepared_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(prepared_data, root)
    return root


def _rewrite(data, change) -> None:
    folder = data / f"training/loan_training_set/date={DAY}"
    frame = change(pd.read_parquet(latest_version(folder)))
    write_version(pa.Table.from_pandas(frame, preserve_index=False), folder)


def test_demo_training_set_breaches_the_four_fifths_rule_for_ethnicity(data):
    result = assess_pair(load_inventory(), "loan_training_set", Period.day(DAY), data)
    assert result.status == Status.failed
    assert result.summary["label_demographic_parity_ratio"]["ethnicity"] < 0.8
    assert {"metrics.json", "summary.md", "base_rate_sex.png"} <= set(result.files)
    assert result.files["base_rate_sex.png"][:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads(result.files["metrics.json"])
    policy = PROJECT / "include" / "config" / "policies" / "fairness" / "loan_approval.yaml"
    assert result.specs == [
        SpecRef.of_file(policy),
        SpecRef.of_file(PROJECT / "include" / "config" / "datasets.yaml"),
    ]
    assert metrics["policy"] == {"path": str(policy), "sha256": sha256_file(policy), "dataset_section": False}
    assert result.inputs[0].dataset == "loan_training_set" and metrics


def test_period_of_several_days_assesses_the_last_day(data):
    result = assess_pair(
        load_inventory(), "loan_training_set", Period.days(DAY - dt.timedelta(days=3), DAY), data
    )
    assert result.subject.partition == DAY.isoformat()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["ethnicity"]), "sensitive/label column(s) ['ethnicity'] missing"),
        (lambda f: f.assign(label=f["label"] * 2), "must be 0/1"),
        (lambda f: f.assign(sex="female"), "every row is in one group of 'sex'"),
        (lambda f: f.head(0), "no rows"),
    ],
    ids=["sensitive-column-missing", "label-not-binary", "one-group", "empty"],
)
def test_bad_input_is_an_error_naming_the_problem(data, change, message):
    _rewrite(data, change)
    with pytest.raises(
        JobError,
        match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)"),
    ) as err:
        assess_pair(load_inventory(), "loan_training_set", Period.day(DAY), data)
    assert err.value.result.status == Status.error and err.value.result.check == "bias_assessment/assess"


def test_missing_partition_is_an_error(data):
    shutil.rmtree(data / f"training/loan_training_set/date={DAY}")
    with pytest.raises(JobError, match="missing partition"):
        assess_pair(load_inventory(), "loan_training_set", Period.day(DAY), data)


def test_a_new_training_dataset_is_onboarded_by_configuration_only(data, tmp_path):
    """A catalog entry, and a line in its AI system's policy for the dataset's minimum group size."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    with (config / "datasets.yaml").open("a") as fh:
        fh.write(
            """
  - id: small_business_training
    uri: "{data}/sb/date={date}.csv"
    format: csv
    owner: ds@example.com
    ai_system: loan_approval
    role: train
    label_column: approved
    sensitive_features: [owner_sex]
    data_class: training_data
    provenance: {source: test, collection_method: test, legal_basis: test}
    columns:
      owner_sex: {type: string}
      approved: {type: integer}
"""
        )
    policy = config / "policies" / "fairness" / "loan_approval.yaml"
    text = policy.read_text()
    policy.write_text(
        text.replace("\ndatasets: {}", "\ndatasets:\n  small_business_training: {min_group_size: 2}")
    )
    inventory = load_inventory(config)
    assert {"ai_system": "loan_approval", "dataset": "small_business_training"} in training_pairs(inventory)
    (data / "sb").mkdir()
    (data / f"sb/date={DAY}.csv").write_text("owner_sex,approved\nf,1\nf,0\nf,0\nm,1\nm,1\nm,1\n")
    result = assess_pair(inventory, "small_business_training", Period.day(DAY), data)
    assert result.summary["label_demographic_parity_ratio"]["owner_sex"] == pytest.approx(1 / 3)
    assert result.status == Status.failed
    assert result.summary["min_group_size"] == 2
    assert json.loads(result.files["metrics.json"])["policy"]["dataset_section"] is True
    assert result.specs[0] == SpecRef.of_file(policy)


def test_numbers_in_a_sensitive_column_declared_string_are_an_error_record(data, tmp_path):
    """The catalog cannot see that a CSV column declared ``string`` holds ages: the assessment does,
    and refuses it naming dataset, column and what to add, with the catalog among the specs."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    with (config / "datasets.yaml").open("a") as fh:
        fh.write(
            """
  - id: age_training
    uri: "{data}/age/date={date}.csv"
    format: csv
    owner: ds@example.com
    ai_system: loan_approval
    role: train
    label_column: approved
    sensitive_features: [owner_age]
    data_class: training_data
    provenance: {source: test, collection_method: test, legal_basis: test}
    columns:
      owner_age: {type: string}
      approved: {type: integer}
"""
        )
    inventory = load_inventory(config)
    (data / "age").mkdir()
    (data / f"age/date={DAY}.csv").write_text("owner_age,approved\n23,1\n41,0\n67,1\n35,0\n")
    with pytest.raises(
        JobError, match=r"age_training \(.*\): sensitive feature 'owner_age' is numeric"
    ) as err:
        assess_pair(inventory, "age_training", Period.day(DAY), data)
    assert "columns.owner_age" in str(err.value) and "bins: [18, 25" in str(err.value)
    result = err.value.result
    assert result.status is Status.error and result.check == "bias_assessment/assess"
    assert [s.path.rsplit("/", 1)[-1] for s in result.specs] == ["loan_approval.yaml", "datasets.yaml"]
