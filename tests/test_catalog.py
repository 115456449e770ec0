"""The inventory: the shipped config loads; every bad file is reported with file, line and column,
path, value and what was expected, all problems at once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aimsflow import settings
from aimsflow.catalog import ConfigError, Inventory, load_inventory

SHIPPED = settings.project_root() / "include" / "config"
FILES = ("ai_systems", "certification", "datasets")

Docs = dict[str, Any]


@pytest.fixture(scope="module")
def shipped() -> Inventory:
    return load_inventory(SHIPPED)


def _docs() -> Docs:
    return {name: yaml.safe_load((SHIPPED / f"{name}.yaml").read_text()) for name in FILES}


def _write(folder: Path, docs: Docs) -> Path:
    for name, doc in docs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def _problems(folder: Path, edit: Callable[[Docs], None] | None = None) -> list[str]:
    docs = _docs()
    if edit is not None:
        edit(docs)
    _write(folder, docs)
    with pytest.raises(ConfigError) as exc:
        load_inventory(folder)
    return exc.value.problems


def _one(problems: list[str], *parts: str) -> str:
    """The single problem that contains every one of ``parts``."""
    hits = [p for p in problems if all(part in p for part in parts)]
    assert len(hits) == 1, f"expected one problem with {parts}, got {problems}"
    return hits[0]


_POSITION = re.compile(r"^(?P<file>/\S+\.yaml):(?P<line>\d+):(?P<column>\d+): (?P<where>[^:]+): ")


def _points_at_its_key(problem: str) -> None:
    """The problem names file, line and column, and the text there is the key it is about (for a
    missing key or a whole list item: the item, whose first key is at that position)."""
    m = _POSITION.match(problem)
    assert m, f"no file:line:column: path in {problem!r}"
    line = Path(m["file"]).read_text().splitlines()[int(m["line"]) - 1]
    text = line[int(m["column"]) - 1 :]
    last = re.split(r"[.\[]", m["where"])[-1]
    if "<missing>" in problem or last.endswith("]"):
        assert re.match(r"\w+:", text), (problem, line)
    else:
        assert text.startswith(f"{last}:"), (problem, line)


# --- the shipped configuration --------------------------------------------------------------------


def test_shipped_config_loads(shipped):
    assert sorted(shipped.datasets) == [
        "loan_applications_clean",
        "loan_applications_raw",
        "loan_training_set",
    ]
    assert list(shipped.ai_systems) == ["loan_approval"]
    assert [c.id for c in shipped.certification_cycles] == ["cycle-2024", "cycle-2027"]
    assert {d.ai_system for d in shipped.datasets.values()} == {"loan_approval"}
    assert shipped.files == {name: SHIPPED / f"{name}.yaml" for name in FILES}
    system = shipped.ai_systems["loan_approval"]
    assert system.lifecycle_stage == "operation" and system.risk_class == "high"
    assert system.retirement_date is None


def test_dataset_lookup(shipped):
    assert shipped.dataset("loan_training_set").role == "train"
    with pytest.raises(KeyError, match="unknown dataset 'loans'.*loan_applications_raw"):
        shipped.dataset("loans")


def test_partition_path_and_uri(shipped, tmp_path, monkeypatch):
    raw = shipped.dataset("loan_applications_raw")
    day = dt.date(2026, 11, 25)
    assert raw.partition_path(day, tmp_path) == (
        tmp_path / "raw/loan_applications/date=2026-11-25/applications.csv"
    )
    assert raw.partition_uri(day) == "{data}/raw/loan_applications/date=2026-11-25/applications.csv"
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(tmp_path / "elsewhere"))
    clean = shipped.dataset("loan_applications_clean")
    assert clean.partition_path(day) == tmp_path / "elsewhere/clean/loan_applications/date=2026-11-25"


def test_personal_columns(shipped):
    assert shipped.dataset("loan_applications_raw").personal_columns == {
        "applicant_name",
        "email",
        "date_of_birth",
        "postcode",
        "sex",
        "ethnicity",
    }
    assert shipped.dataset("loan_applications_clean").personal_columns == {
        "applicant_ref",
        "age",
        "sex",
        "ethnicity",
    }
    assert shipped.dataset("loan_training_set").personal_columns == {"sex", "ethnicity"}


@pytest.mark.parametrize(
    ("day", "cycle"),
    [
        (dt.date(2024, 2, 29), None),
        (dt.date(2024, 3, 1), "cycle-2024"),
        (dt.date(2026, 11, 25), "cycle-2024"),
        (dt.date(2027, 2, 28), "cycle-2024"),
        (dt.date(2027, 3, 1), "cycle-2027"),  # cycles are half-open: the boundary day is the new cycle's
        (dt.date(2030, 2, 28), "cycle-2027"),
        (dt.date(2030, 3, 1), None),
    ],
)
def test_cycle_of(shipped, day, cycle):
    found = shipped.cycle_of(day)
    assert (found.id if found else None) == cycle


def test_cycles_are_sorted_by_start(tmp_path):
    docs = _docs()
    docs["certification"]["certification_cycles"].reverse()
    inventory = load_inventory(_write(tmp_path, docs))
    assert [c.id for c in inventory.certification_cycles] == ["cycle-2024", "cycle-2027"]


def test_config_dir_setting_is_the_default(tmp_path, monkeypatch):
    _write(tmp_path, _docs())
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(tmp_path))
    assert load_inventory().files["datasets"] == tmp_path / "datasets.yaml"


# --- bad files ------------------------------------------------------------------------------------


def _set(name: str, path: tuple[Any, ...], value: Any) -> Callable[[Docs], None]:
    def edit(docs: Docs) -> None:
        node = docs[name]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


def _delete(name: str, path: tuple[Any, ...]) -> Callable[[Docs], None]:
    def edit(docs: Docs) -> None:
        node = docs[name]
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return edit


@pytest.mark.parametrize(
    ("edit", "parts"),
    [
        pytest.param(
            _set("ai_systems", ("ai_systems", 0, "lifecycle_stage"), "production"),
            (
                "ai_systems.yaml:",
                "ai_systems[0].lifecycle_stage",
                "'production'",
                "'operation'",
                "'retired'",
            ),
            id="lifecycle_stage-enum",
        ),
        pytest.param(
            _set("ai_systems", ("ai_systems", 0, "risk_class"), "medium"),
            ("ai_systems.yaml:", "ai_systems[0].risk_class", "'medium'", "'limited'"),
            id="risk_class-enum",
        ),
        pytest.param(
            _set("datasets", ("datasets", 2, "role"), "training"),
            ("datasets.yaml:", "datasets[2].role", "'training'", "'train', 'eval' or 'operational'"),
            id="role-enum",
        ),
        pytest.param(
            _set("datasets", ("datasets", 1, "columns", "age", "type"), "int"),
            ("datasets.yaml:", "datasets[1].columns.age.type", "'int'", "'integer'"),
            id="column-type-enum",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "format"), "xlsx"),
            ("datasets.yaml:", "datasets[0].format", "'xlsx'", "'csv' or 'parquet'"),
            id="format-enum",
        ),
        pytest.param(
            _delete("datasets", ("datasets", 0, "owner")),
            ("datasets.yaml:", "datasets[0].owner", "<missing>", "expected this key to be set"),
            id="missing-field",
        ),
        pytest.param(
            _delete("datasets", ("datasets", 1, "provenance", "legal_basis")),
            (
                "datasets.yaml:",
                "datasets[1].provenance.legal_basis",
                "<missing>",
                "expected this key to be set",
            ),
            id="missing-nested-field",
        ),
        pytest.param(
            _delete("ai_systems", ("ai_systems", 0, "purpose")),
            ("ai_systems.yaml:", "ai_systems[0].purpose", "<missing>", "expected this key to be set"),
            id="missing-ai-system-field",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "descripton"), "typo"),
            ("datasets.yaml:", "datasets[0].descripton", "'typo'", "unknown key"),
            id="unknown-field",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "columns", "email", "personnal"), True),
            (
                "datasets.yaml:",
                "datasets[0].columns.email.personnal",
                "True",
                "unknown key",
            ),
            id="unknown-column-field",
        ),
        pytest.param(
            _set("ai_systems", ("ai_systems", 0, "risk"), "high"),
            ("ai_systems.yaml:", "ai_systems[0].risk", "unknown key"),
            id="unknown-ai-system-field",
        ),
        pytest.param(
            _set("datasets", ("datasets", 1, "uri"), "{data}/clean/loan_applications/latest"),
            ("datasets.yaml:", "datasets[1].uri", "'{data}/clean/loan_applications/latest'", "'{date}'"),
            id="uri-without-date",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "label_column"), "approval"),
            ("datasets.yaml:", "datasets[0]: ", "'approval'", "not among the declared columns"),
            id="label-column-undeclared",
        ),
        pytest.param(
            _set("datasets", ("datasets", 2, "sensitive_features"), ["sex", "gender"]),
            ("datasets.yaml:", "datasets[2]: ", "['gender']", "not among the declared columns"),
            id="sensitive-column-undeclared",
        ),
        pytest.param(
            _set("datasets", ("datasets", 1, "ai_system"), "fraud_model"),
            ("datasets.yaml:", "datasets[1].ai_system", "'fraud_model'", "['loan_approval']"),
            id="unknown-ai-system",
        ),
        pytest.param(
            _set("datasets", ("datasets", 2, "id"), "loan_applications_raw"),
            ("datasets.yaml:", "datasets[2].id", "'loan_applications_raw'", "unique", "datasets[0]"),
            id="duplicate-dataset-id",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "id"), "Loan-Apps"),
            ("datasets.yaml:", "datasets[0].id", "'Loan-Apps'", "pattern"),
            id="bad-id-pattern",
        ),
        pytest.param(
            _set("certification", ("certification_cycles", 1, "end"), dt.date(2027, 1, 1)),
            (
                "certification.yaml:",
                "certification_cycles[1]: ",
                "2027-01-01",
                "must be after start 2027-03-01",
            ),
            id="cycle-end-before-start",
        ),
        pytest.param(
            _set("certification", ("certification_cycles", 0, "start"), "March 2024"),
            ("certification.yaml:", "certification_cycles[0].start", "'March 2024'", "valid date"),
            id="cycle-start-not-a-date",
        ),
        pytest.param(
            _set("datasets", ("datasets", 0, "columns"), {}),
            ("datasets.yaml:", "datasets[0].columns", "{}", "at least 1"),
            id="no-columns",
        ),
    ],
)
def test_bad_value_is_named(tmp_path, edit, parts):
    problems = _problems(tmp_path, edit)
    _points_at_its_key(_one(problems, *parts))
    assert len(problems) == 1, problems


def test_duplicate_ai_system_id(tmp_path):
    def edit(docs: Docs) -> None:
        docs["ai_systems"]["ai_systems"].append(dict(docs["ai_systems"]["ai_systems"][0]))

    problems = _problems(tmp_path, edit)
    _one(problems, "ai_systems.yaml:", "ai_systems[1].id", "'loan_approval'", "ai_systems[0]")
    assert len(problems) == 1, problems


def test_duplicate_cycle_id(tmp_path):
    """Bug: duplicate certification cycle ids were accepted (ids were only checked for datasets and AI
    systems), leaving two cycles of one name."""
    problems = _problems(tmp_path, _set("certification", ("certification_cycles", 1, "id"), "cycle-2024"))
    _one(problems, "certification.yaml:", "certification_cycles[1].id", "'cycle-2024'", "already defined")
    assert len(problems) == 1, problems


def test_invalid_yaml_syntax(tmp_path):
    _write(tmp_path, _docs())
    (tmp_path / "datasets.yaml").write_text("datasets:\n  - id: loans\n    columns: {a: {type: string}\n")
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    [problem] = exc.value.problems
    # Where the parser gave up (end of file) and where the unclosed mapping began.
    assert problem.startswith(f"{tmp_path / 'datasets.yaml'}:4:1: not valid YAML: expected ',' or '}}'")
    assert "while parsing a flow mapping at line 3, column 14" in problem


def test_impossible_date_is_a_config_error(tmp_path):
    """Bug: an impossible date (``2027-02-30``) made PyYAML raise a bare ValueError, so
    ``load_inventory`` crashed without naming the file instead of raising ConfigError."""
    _write(tmp_path, _docs())
    path = tmp_path / "certification.yaml"
    text = path.read_text().replace("2027-03-01", "2027-02-30", 1)
    path.write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "2027-02-30" in t)
    column = text.splitlines()[line - 1].index("2027-02-30") + 1
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    [problem] = exc.value.problems
    assert problem.startswith(f"{path}:{line}:{column}: not valid YAML: invalid value '2027-02-30'")
    assert "day is out of range" in problem


def test_missing_file(tmp_path):
    _write(tmp_path, _docs())
    (tmp_path / "certification.yaml").unlink()
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    assert exc.value.problems == [f"{tmp_path / 'certification.yaml'}: file not found"]


def test_missing_folder_lists_every_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path / "nowhere")
    assert [p.rsplit("/", 1)[-1] for p in exc.value.problems] == [
        f"{name}.yaml: file not found" for name in FILES
    ]


def test_top_level_key_absent(tmp_path):
    def edit(docs: Docs) -> None:
        docs["datasets"] = {"dataset": docs["datasets"]["datasets"]}

    problems = _problems(tmp_path, edit)
    problem = _one(
        problems, "datasets.yaml:1:1: datasets: ", "expected a list under the top-level key 'datasets'"
    )
    assert "no such key" in problem and "['dataset']" in problem
    assert len(problems) == 1, problems


def test_top_level_key_not_a_list(tmp_path):
    problems = _problems(tmp_path, _set("certification", ("certification_cycles",), {"id": "cycle-2024"}))
    _one(problems, "certification.yaml:1:1: certification_cycles: ", "expected a list", "got dict")


def test_document_not_a_mapping(tmp_path):
    _write(tmp_path, _docs())
    (tmp_path / "ai_systems.yaml").write_text("- loan_approval\n")
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    _one(exc.value.problems, "ai_systems.yaml:1:1: ai_systems: ", "expected a list", "got list")


def test_empty_file_is_not_an_empty_inventory(tmp_path):
    """Bug: an empty (or comment-only) YAML file loaded as None and was silently taken as "no items",
    so emptying ``datasets.yaml`` gave an inventory without datasets instead of an error."""
    _write(tmp_path, _docs())
    (tmp_path / "datasets.yaml").write_text("# datasets of the AI systems\n")
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    [problem] = exc.value.problems
    assert problem.startswith(
        f"{tmp_path / 'datasets.yaml'}:1:1: datasets: expected a list under the top-level key"
    )


def test_item_not_a_mapping(tmp_path):
    problems = _problems(tmp_path, _set("datasets", ("datasets", 1), "loan_applications_clean"))
    _one(problems, "datasets.yaml:", "datasets[1]: ", "'loan_applications_clean'", "dictionary")


def test_every_problem_is_listed(tmp_path):
    def edit(docs: Docs) -> None:
        system = docs["ai_systems"]["ai_systems"][0]
        system["lifecycle_stage"] = "live"
        del system["owner"]
        cycles = docs["certification"]["certification_cycles"]
        cycles[0]["end"] = dt.date(2020, 1, 1)
        raw, clean, train = docs["datasets"]["datasets"]
        raw["role"] = "ops"
        raw["columns"]["credit_score"]["type"] = "number"
        raw["colums"] = {}
        train["id"] = "loan_applications_clean"
        docs["datasets"]["datasets"].append({**clean, "id": "loan_extra", "uri": "{data}/clean"})

    problems = _problems(tmp_path, edit)
    expected = [
        ("ai_systems.yaml:", "ai_systems[0].lifecycle_stage", "'live'"),
        ("ai_systems.yaml:", "ai_systems[0].owner", "<missing>"),
        ("certification.yaml:", "certification_cycles[0]: ", "must be after start"),
        ("datasets.yaml:", "datasets[0].role", "'ops'"),
        ("datasets.yaml:", "datasets[0].columns.credit_score.type", "'number'"),
        ("datasets.yaml:", "datasets[0].colums", "unknown key"),
        ("datasets.yaml:", "datasets[2].id", "'loan_applications_clean'", "unique", "datasets[1]"),
        ("datasets.yaml:", "datasets[3].uri", "'{data}/clean'"),
    ]
    for parts in expected:
        _points_at_its_key(_one(problems, *parts))
    assert len(problems) == len(expected), problems
    # The exception's message carries them all too, one a line.
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    assert isinstance(exc.value, ValueError)
    assert str(exc.value).splitlines()[1:] == [f"  {p}" for p in problems]


def test_problems_in_several_files_and_a_broken_one(tmp_path):
    docs = _docs()
    docs["datasets"]["datasets"][0]["role"] = "serving"
    _write(tmp_path, docs)
    (tmp_path / "certification.yaml").write_text("certification_cycles: [\n")
    (tmp_path / "ai_systems.yaml").unlink()
    with pytest.raises(ConfigError) as exc:
        load_inventory(tmp_path)
    problems = exc.value.problems
    _one(problems, "ai_systems.yaml: file not found")
    _one(problems, "certification.yaml:", "not valid YAML")
    _one(problems, "datasets.yaml:", "datasets[0].role", "'serving'")
    # No dataset is reported for an unknown AI system: the AI systems could not be read at all.
    assert len(problems) == 3, problems


def test_invalid_ai_system_is_reported_once(tmp_path):
    """Bug: an AI system with one bad field dropped out of the cross-check, so each of its datasets
    was also reported, falsely, as pointing at an unknown AI system ("expected one of []")."""
    problems = _problems(tmp_path, _set("ai_systems", ("ai_systems", 0, "risk_class"), "severe"))
    assert len(problems) == 1 and "ai_systems[0].risk_class: value 'severe'" in problems[0], problems


def test_unknown_ai_system_names_the_dataset_own_index(tmp_path):
    """Bug: the AI-system cross-check numbered datasets by their position among the *valid, unique*
    datasets, so after an invalid or duplicate entry it named the wrong one (``datasets[0]`` for the
    third dataset)."""

    def edit(docs: Docs) -> None:
        raw, _, train = docs["datasets"]["datasets"]
        raw["role"] = "training"  # datasets[0] invalid: not among the validated items
        train["ai_system"] = "ghost"

    problems = _problems(tmp_path, edit)
    _one(problems, "datasets[0].role", "'training'")
    _one(problems, "datasets.yaml:", "datasets[2].ai_system", "'ghost'", "['loan_approval']")
    assert len(problems) == 2, problems


def test_unknown_uri_placeholder_is_a_config_error(tmp_path):
    """Bug: a uri with a placeholder other than {data}/{date} passed validation, then raised a bare
    KeyError in partition_path."""
    import shutil

    from aimsflow.catalog import ConfigError, load_inventory
    from tests.conftest import PROJECT

    for name in ("ai_systems", "certification", "datasets"):
        shutil.copy(PROJECT / "include" / "config" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    text = (
        (tmp_path / "datasets.yaml")
        .read_text()
        .replace("date={date}/applications.csv", "date={date}/{batch}.csv")
    )
    (tmp_path / "datasets.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_inventory(tmp_path)
    assert any("datasets[0].uri" in p and "batch" in p for p in err.value.problems)


def test_drift_reference_must_name_a_training_dataset(tmp_path):
    """Bug: an invalid training dataset made every drift_reference to it a second, misleading problem;
    a reference to a dataset that is not a training set is still reported."""
    import shutil

    from aimsflow.catalog import ConfigError, load_inventory
    from tests.conftest import PROJECT

    for name in ("ai_systems", "certification", "datasets"):
        shutil.copy(PROJECT / "include" / "config" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    path = tmp_path / "datasets.yaml"
    path.write_text(
        path.read_text().replace(
            "drift_reference: loan_training_set", "drift_reference: loan_applications_raw"
        )
    )
    with pytest.raises(ConfigError) as err:
        load_inventory(tmp_path)
    lines = path.read_text().splitlines()
    line = next(n for n, t in enumerate(lines, 1) if "drift_reference: loan_applications_raw" in t)
    column = lines[line - 1].index("drift_reference") + 1
    assert err.value.problems == [
        f"{path}:{line}:{column}: datasets[1].drift_reference: value 'loan_applications_raw': "
        "expected a training dataset of the catalog ['loan_training_set']"
    ]


def test_an_unknown_top_level_key_is_a_problem(tmp_path):
    """Bug: a top-level key beside ``datasets`` (a misplaced or misspelt block) was ignored silently."""

    def edit(docs: Docs) -> None:
        docs["datasets"]["dataset_defaults"] = {"owner": "x@example.com"}

    problems = _problems(tmp_path, edit)
    problem = _one(
        problems, "datasets.yaml:", ": dataset_defaults: ", "unknown key; expected only 'datasets'"
    )
    _points_at_its_key(problem)
    assert len(problems) == 1, problems


# --- sensitive features: numeric ones need bins ----------------------------------------------------


def _sensitive_age(**age: Any) -> Callable[[Docs], None]:
    """datasets[1] (the clean applications, with an integer ``age``) assessing ``age`` as well."""

    def edit(docs: Docs) -> None:
        clean = docs["datasets"]["datasets"][1]
        clean["sensitive_features"] = [*clean["sensitive_features"], "age"]
        clean["columns"]["age"].update(age)

    return edit


def test_numeric_sensitive_feature_without_bins_is_refused_at_load(tmp_path):
    """Bug: an integer ``age`` as a sensitive feature was accepted, and every distinct age became a
    group of its own. The problem names file, dataset, column and what to add."""
    problems = _problems(tmp_path, _sensitive_age())
    problem = _one(problems, "datasets.yaml:", "datasets[1]: ", "'loan_applications_clean'", "'age'")
    assert "declared integer but has no bins" in problem
    assert "bins: [18, 25, 35, 50, 65]" in problem and "categorical: true" in problem
    assert len(problems) == 1, problems


def test_numeric_sensitive_feature_with_bins_or_categorical_loads(tmp_path):
    docs = _docs()
    _sensitive_age(bins=[18, 25, 35, 50, 65])(docs)
    docs["datasets"]["datasets"][1]["columns"]["loan_term_months"]["categorical"] = True
    docs["datasets"]["datasets"][1]["sensitive_features"].append("loan_term_months")
    age = load_inventory(_write(tmp_path, docs)).dataset("loan_applications_clean").columns["age"]
    assert age.band_labels() == ["<18", "18-24", "25-34", "35-49", "50-64", "65+"]


@pytest.mark.parametrize(
    ("edit", "parts"),
    [
        pytest.param(
            _set("datasets", ("datasets", 1, "columns", "sex", "bins"), [1, 2]),
            ("datasets[1].columns.sex", "bins apply to integer and float columns, this one is string"),
            id="bins-on-a-string-column",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 35, 25]),
            ("datasets[1].columns.age.bins", "[18, 35, 25]", "strictly increasing"),
            id="bins-not-increasing",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 18, 25]),
            ("datasets[1].columns.age.bins", "strictly increasing"),
            id="bins-repeated-edge",
        ),
        pytest.param(
            _sensitive_age(bins=[18, "25"]),
            ("datasets[1].columns.age.bins", "band edges must be numbers, got ['25']"),
            id="bins-edge-a-string",
        ),
        pytest.param(
            _sensitive_age(bins=[True, 25]),
            ("datasets[1].columns.age.bins", "band edges must be numbers, got [True]"),
            id="bins-edge-a-boolean",
        ),
        pytest.param(
            _sensitive_age(bins=[18, float("inf")]),
            ("datasets[1].columns.age.bins", "finite"),
            id="bins-infinite-edge",
        ),
        pytest.param(
            _sensitive_age(bins=[]),
            ("datasets[1].columns.age.bins", "at least 1"),
            id="bins-empty",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 65], labels=["adult"]),
            ("datasets[1].columns.age", "1 label(s) for 2 band(s)"),
            id="labels-count",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 65], labels=["adult", "adult"]),
            ("datasets[1].columns.age", "['adult']", "each band needs its own name"),
            id="labels-repeated",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 65], labels=["adult", "missing"]),
            ("datasets[1].columns.age", "['missing']", "each band needs its own name"),
            id="label-missing-is-reserved",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 65], labels=["adult", "65|more"]),
            ("datasets[1].columns.age", "['65|more']", "contain '|'"),
            id="label-with-separator",
        ),
        pytest.param(
            _sensitive_age(labels=["a"]),
            ("datasets[1].columns.age", "labels name the bands of `bins`, which is not set"),
            id="labels-without-bins",
        ),
        pytest.param(
            _sensitive_age(bins=[18, 65], categorical=True),
            ("datasets[1].columns.age", "either binned (bins) or categorical"),
            id="bins-and-categorical",
        ),
        pytest.param(
            _set("datasets", ("datasets", 1, "columns", "age", "bins"), [18, 65]),
            ("datasets[1]: ", "column 'age' has bins but is not a sensitive feature"),
            id="bins-on-a-column-not-assessed",
        ),
        pytest.param(
            _set("datasets", ("datasets", 2, "min_group_size"), 50),
            (
                "datasets[2].min_group_size",
                "value 50",
                "moved to the fairness policy",
                "`datasets: {loan_training_set: {min_group_size: 50}}`",
                "policies/fairness/loan_approval.yaml",
            ),
            id="min-group-size-moved-to-the-policy",
        ),
    ],
)
def test_bad_bins_are_named(tmp_path, edit, parts):
    problems = _problems(tmp_path, edit)
    _one(problems, "datasets.yaml:", *parts)
    assert len(problems) == 1, problems


def test_reference_shares_of_a_binned_feature_must_name_its_bands(tmp_path):
    """A share for a band that does not exist (``65 +``) would show as a gap of the whole share."""

    def edit(docs: Docs) -> None:
        _sensitive_age(bins=[18, 25, 65])(docs)
        docs["datasets"]["datasets"][1]["reference_shares"] = {"age": {"18-24": 0.2, "65 +": 0.1}}

    problems = _problems(tmp_path, edit)
    problem = _one(problems, "datasets.yaml:", "datasets[1]: ", "reference_shares.age names ['65 +']")
    assert "['<18', '18-24', '25-64', '65+']" in problem
    assert len(problems) == 1, problems


@pytest.mark.parametrize(
    ("column", "labels"),
    [
        (
            {"type": "integer", "bins": [18, 25, 35, 50, 65]},
            ["<18", "18-24", "25-34", "35-49", "50-64", "65+"],
        ),
        ({"type": "integer", "bins": [18, 19, 30]}, ["<18", "18", "19-29", "30+"]),
        ({"type": "integer", "bins": [65]}, ["<65", "65+"]),
        ({"type": "float", "bins": [18, 25]}, ["<18", "[18, 25)", "25+"]),
        ({"type": "integer", "bins": [0.5, 2]}, ["<0.5", "[0.5, 2)", "2+"]),
        ({"type": "float", "bins": [1000, 2500.5]}, ["<1000", "[1000, 2500.5)", "2500.5+"]),
        ({"type": "integer", "bins": [18, 65], "labels": ["adult", "senior"]}, ["<18", "adult", "senior"]),
        ({"type": "integer"}, []),
    ],
)
def test_band_labels(column, labels):
    from aimsflow.catalog import Column

    assert Column.model_validate(column).band_labels() == labels


# --- containment: a dataset URI template resolves under the data root -----------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        pytest.param("{data}/../outside/date={date}/a.csv", "'..'", id="dot-dot"),
        pytest.param("{data}/raw/date={date}/../../../../etc/a.csv", "'..'", id="dot-dot-after-date"),
        pytest.param("{data}/./raw/date={date}/a.csv", "'.'", id="dot"),
        pytest.param("/etc/aimsflow/date={date}/a.csv", "must start with '{data}/'", id="absolute"),
        pytest.param("raw/date={date}/a.csv", "must start with '{data}/'", id="relative"),
        pytest.param("/tmp/{data}/date={date}/a.csv", "must start with '{data}/'", id="data-not-first"),
        pytest.param("{data}/a/{data}/date={date}/a.csv", "'{data}' once", id="data-twice"),
        pytest.param("{data}date={date}/a.csv", "must start with '{data}/'", id="no-separator"),
        pytest.param("{data}/raw/date={date}\\..\\..\\a.csv", "backslash", id="backslash"),
    ],
)
def test_a_dataset_uri_outside_the_data_root_is_refused_at_load(tmp_path, uri, expected):
    """Attack: dataset URI templates were not confined to the data root: ``{data}/../x``, an absolute
    path elsewhere or a relative one loaded, and jobs (and retention's deletions) acted outside
    ``AIMSFLOW_DATA_ROOT``. The catalog now refuses them, naming file, field and value."""
    problems = _problems(tmp_path, _set("datasets", ("datasets", 0, "uri"), uri))
    problem = _one(problems, "datasets.yaml:", "datasets[0].uri", repr(uri), expected)
    _points_at_its_key(problem)


def _link_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A config folder and a data root (AIMSFLOW_DATA_ROOT) for the shipped catalog."""
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    data.mkdir()
    _write(config, _docs())
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(data))
    return config, data


def test_a_symlink_out_of_the_data_root_is_refused_at_load(tmp_path, monkeypatch):
    """Attack, symlinked escape: ``data/raw`` links to a folder outside the data root, so the
    well-formed template ``{data}/raw/...`` reads and writes (and retention deletes) elsewhere."""
    config, data = _link_catalog(tmp_path, monkeypatch)
    outside = tmp_path / "outside"
    outside.mkdir()
    (data / "raw").symlink_to(outside)
    with pytest.raises(ConfigError) as exc:
        load_inventory(config)
    problem = _one(
        exc.value.problems, "datasets.yaml:", "datasets[0].uri", "symbolic link", str(data / "raw")
    )
    assert str(outside) in problem
    _points_at_its_key(problem)


def test_symlinks_that_stay_inside_the_data_root_load(tmp_path, monkeypatch):
    """The negative case: a data root that is itself a link, and a link inside it to another folder of
    it, are fine."""
    config, data = _link_catalog(tmp_path, monkeypatch)
    (data / "elsewhere").mkdir()
    (data / "raw").symlink_to(data / "elsewhere")
    real = tmp_path / "real-root"
    real.mkdir()
    linked = tmp_path / "linked-root"
    linked.symlink_to(real)
    assert load_inventory(config).datasets
    monkeypatch.setenv("AIMSFLOW_DATA_ROOT", str(linked))
    inventory = load_inventory(config)
    raw = inventory.dataset("loan_applications_raw")
    assert raw.partition_path(dt.date(2026, 11, 25)).is_relative_to(real)  # the root, resolved


def test_a_partition_linked_out_of_the_data_root_is_refused_when_used(tmp_path, monkeypatch):
    """A link that appears after load (one partition's folder) is refused where the path is built:
    ``partition_path`` names dataset, template and the link's target."""
    config, data = _link_catalog(tmp_path, monkeypatch)
    raw = load_inventory(config).dataset("loan_applications_raw")
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = data / "raw" / "loan_applications"
    folder.mkdir(parents=True)
    (folder / "date=2026-11-25").symlink_to(outside)
    assert raw.partition_path(dt.date(2026, 11, 24)).parent == folder / "date=2026-11-24"
    with pytest.raises(ValueError, match="outside the data root") as exc:
        raw.partition_path(dt.date(2026, 11, 25))
    assert "loan_applications_raw" in str(exc.value) and str(outside) in str(exc.value)
