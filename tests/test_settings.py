"""Settings: every option typed and validated in one place; a bad value is refused naming the
variable and its value (never a secret's); secrets never appear in a repr, a str or an error."""

from __future__ import annotations

import ast
import base64
import datetime as dt
import re
from pathlib import Path

import pytest

from aimsflow import settings
from aimsflow.settings import MIN_GROUP_SIZE_FLOOR, SettingsError

PROJECT = Path(__file__).resolve().parents[1]
SEED = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No aimsflow variable set (conftest sets some for the whole session)."""
    for name in settings.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _refused(env: pytest.MonkeyPatch, name: str, value: str) -> str:
    env.setenv(name, value)
    with pytest.raises(SettingsError) as exc:
        settings.options()
    [problem] = exc.value.problems
    assert problem.startswith(f"{name}=")
    return problem


# --- defaults and good values ---------------------------------------------------------------------


def test_defaults(env):
    root = settings.project_root()
    assert root == PROJECT
    assert settings.config_dir() == root / "include" / "config"
    assert settings.expectations_dir() == root / "expectations"
    assert settings.data_root() == root / "data"
    assert settings.evidence_root() == root / "evidence"
    assert settings.witness_dir() == root / "witness"
    assert settings.keys_dir() == Path.home() / ".aimsflow"
    assert settings.trusted_keys_path() == Path.home() / ".aimsflow" / "trusted_keys.json"
    assert settings.openlineage_dir() == root / "openlineage" / "staging"
    assert settings.openlineage_root() == root / "openlineage"
    assert settings.manual_inbox() == root / "inbox"
    assert settings.signing_key_b64() is None and settings.signing_key_id() is None
    assert settings.signing_conn_id() == "aimsflow_signing"
    assert settings.pseudonym_key() is None
    assert settings.min_group_size() == 10
    assert (settings.task_retries(), settings.retry_delay_seconds()) == (2, 300)
    assert settings.start_date() == dt.date(2026, 11, 1)
    assert settings.airflow_api_url() == "http://127.0.0.1:8080"
    assert settings.airflow_api_username() is None and settings.airflow_api_password() is None
    assert settings.close_allows_dag_test() is False
    assert (settings.log_origin(), settings.seal_interval_hours()) == ("aimsflow.local/evidence", 24)


def test_good_values(env, tmp_path):
    env.setenv("AIMSFLOW_HOME", str(tmp_path))
    env.setenv("AIMSFLOW_DATA_ROOT", "~/somewhere")
    env.setenv("AIMSFLOW_KEYS_DIR", str(tmp_path / "keys"))
    env.setenv("AIMSFLOW_OPENLINEAGE_DIR", str(tmp_path / "ol" / "staging"))
    env.setenv("AIMSFLOW_SIGNING_KEY", SEED)
    env.setenv("AIMSFLOW_SIGNING_KEY_ID", "k-1")
    env.setenv("AIMSFLOW_PSEUDONYM_KEY", "p" * 16)
    env.setenv("AIMSFLOW_MIN_GROUP_SIZE", "25")
    env.setenv("AIMSFLOW_TASK_RETRIES", "0")
    env.setenv("AIMSFLOW_RETRY_DELAY_SECONDS", "0")
    env.setenv("AIMSFLOW_START_DATE", "2028-02-29")
    env.setenv("AIMSFLOW_AIRFLOW_URL", "https://airflow.example.org/base/")
    env.setenv("AIMSFLOW_AIRFLOW_PASSWORD", "pw")
    assert settings.config_dir() == tmp_path / "include" / "config"  # follows AIMSFLOW_HOME
    assert settings.data_root() == Path.home() / "somewhere"
    assert settings.trusted_keys_path() == tmp_path / "keys" / "trusted_keys.json"
    # The retention root follows the staging folder unless it is set itself.
    assert settings.openlineage_root() == tmp_path / "ol" / "staging"
    env.setenv("AIMSFLOW_OPENLINEAGE_ROOT", str(tmp_path / "ol"))
    assert settings.openlineage_root() == tmp_path / "ol"
    assert settings.signing_key_b64() == SEED and settings.signing_key_id() == "k-1"
    assert settings.pseudonym_key() == b"p" * 16
    assert settings.min_group_size() == 25
    assert (settings.task_retries(), settings.retry_delay_seconds()) == (0, 0)
    assert settings.start_date() == dt.date(2028, 2, 29)
    assert settings.airflow_api_url() == "https://airflow.example.org/base"
    assert settings.airflow_api_password() == "pw"


def test_relative_path_is_resolved_against_the_current_folder(env, tmp_path):
    env.chdir(tmp_path)
    env.setenv("AIMSFLOW_EVIDENCE_ROOT", "store")
    assert settings.evidence_root() == tmp_path / "store"


def test_empty_variable_means_unset(env):
    """``VAR=`` (as in docker/.env.example) keeps the default, as before the settings model."""
    env.setenv("AIMSFLOW_MIN_GROUP_SIZE", "")
    env.setenv("AIMSFLOW_SIGNING_KEY", "")
    env.setenv("AIMSFLOW_DATA_ROOT", "")
    assert settings.min_group_size() == 10
    assert settings.signing_key_b64() is None
    assert settings.data_root() == PROJECT / "data"


def test_names_are_case_sensitive(env):
    env.setenv("aimsflow_min_group_size", "0")
    assert settings.min_group_size() == 10


def test_monkeypatched_environment_is_honoured(env, tmp_path):
    """The parsed options are cached by the variables' values: a changed value is read again."""
    env.setenv("AIMSFLOW_EVIDENCE_ROOT", str(tmp_path / "a"))
    assert settings.evidence_root() == tmp_path / "a"
    env.setenv("AIMSFLOW_EVIDENCE_ROOT", str(tmp_path / "b"))
    assert settings.evidence_root() == tmp_path / "b"
    env.delenv("AIMSFLOW_EVIDENCE_ROOT")
    assert settings.evidence_root() == PROJECT / "evidence"


def test_start_date_of_the_dags_is_the_setting(env):
    from aimsflow.airflow_glue import start_date

    env.setenv("AIMSFLOW_START_DATE", "2026-03-04")
    assert start_date() == dt.datetime(2026, 3, 4, tzinfo=dt.UTC)


# --- bad values -----------------------------------------------------------------------------------


def test_min_group_size_zero_is_refused(env):
    """Bug: ``AIMSFLOW_MIN_GROUP_SIZE=0`` was accepted and silently switched off small-group
    suppression (every group has at least 0 members)."""
    problem = _refused(env, "AIMSFLOW_MIN_GROUP_SIZE", "0")
    assert problem.startswith("AIMSFLOW_MIN_GROUP_SIZE='0': expected a whole number >= 3")
    assert "suppression" in problem


def test_min_group_size_not_a_number_is_refused(env):
    """Bug: ``AIMSFLOW_MIN_GROUP_SIZE=abc`` gave a bare ``int()`` error naming neither the variable
    nor what was expected."""
    problem = _refused(env, "AIMSFLOW_MIN_GROUP_SIZE", "abc")
    assert problem.startswith("AIMSFLOW_MIN_GROUP_SIZE='abc': expected a whole number >= 3")


@pytest.mark.parametrize(
    ("name", "refused", "accepted"),
    [
        ("AIMSFLOW_MIN_GROUP_SIZE", str(MIN_GROUP_SIZE_FLOOR - 1), str(MIN_GROUP_SIZE_FLOOR)),
        ("AIMSFLOW_TASK_RETRIES", "-1", "0"),
        ("AIMSFLOW_RETRY_DELAY_SECONDS", "-1", "0"),
        ("AIMSFLOW_START_DATE", "2027-02-29", "2028-02-29"),
        ("AIMSFLOW_AIRFLOW_URL", "ftp://airflow:21", "https://airflow:8443"),
        ("AIMSFLOW_AIRFLOW_URL", "airflow:8080", "http://airflow:8080"),
        ("AIMSFLOW_PSEUDONYM_KEY", "k" * 15, "k" * 16),
        ("AIMSFLOW_SIGNING_KEY", base64.b64encode(bytes(31)).decode(), SEED),
        ("AIMSFLOW_SIGNING_KEY_ID", "my key", "my-key"),
        ("AIMSFLOW_SEAL_INTERVAL_HOURS", "0", "1"),
        ("AIMSFLOW_LOG_ORIGIN", "example.com/log+1", "example.com/log-1"),
        ("AIMSFLOW_LOG_ORIGIN", "example.com/my log", "example.com/my_log"),
    ],
)
def test_boundary(env, name, refused, accepted):
    _refused(env, name, refused)
    env.setenv(name, accepted)
    settings.options()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AIMSFLOW_MIN_GROUP_SIZE", "1.5", "expected a whole number >= 3"),
        ("AIMSFLOW_TASK_RETRIES", "-2", "expected a whole number >= 0"),
        ("AIMSFLOW_TASK_RETRIES", "two", "expected a whole number >= 0"),
        ("AIMSFLOW_RETRY_DELAY_SECONDS", "5m", "expected a whole number of seconds >= 0"),
        ("AIMSFLOW_START_DATE", "yesterday", "expected a date as YYYY-MM-DD"),
        ("AIMSFLOW_START_DATE", "2026-13-01", "month value is outside expected range"),
        ("AIMSFLOW_START_DATE", "2026-11-01T05:00", "expected a date as YYYY-MM-DD"),
        ("AIMSFLOW_AIRFLOW_URL", "file:///etc/passwd", "expected an http:// or https:// URL"),
        ("AIMSFLOW_AIRFLOW_URL", "http://", "expected an http:// or https:// URL"),
    ],
)
def test_bad_value_names_variable_value_and_expectation(env, name, value, expected):
    problem = _refused(env, name, value)
    assert problem.startswith(f"{name}={value!r}: ") and expected in problem


def test_every_bad_value_is_listed_at_once(env):
    env.setenv("AIMSFLOW_TASK_RETRIES", "-1")
    env.setenv("AIMSFLOW_START_DATE", "soon")
    with pytest.raises(SettingsError) as exc:
        settings.data_root()  # any accessor refuses: a bad option is found when the process starts
    assert [p.split("=")[0] for p in exc.value.problems] == ["AIMSFLOW_TASK_RETRIES", "AIMSFLOW_START_DATE"]
    assert isinstance(exc.value, ValueError)


# --- secrets --------------------------------------------------------------------------------------

SECRET_VALUES = {
    "AIMSFLOW_SIGNING_KEY": SEED,
    "AIMSFLOW_PSEUDONYM_KEY": "pseudonym-key-0123456789",
    "AIMSFLOW_AIRFLOW_PASSWORD": "hunter2-airflow",
}


def test_secrets_are_not_in_repr_or_str(env):
    for name, value in SECRET_VALUES.items():
        env.setenv(name, value)
    opts = settings.options()
    for text in (repr(opts), str(opts), str(opts.model_dump()), opts.model_dump_json()):
        for value in SECRET_VALUES.values():
            assert value not in text
    assert settings.signing_key_b64() == SEED  # the accessor unwraps it for the signer


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("AIMSFLOW_SIGNING_KEY", "not-base64-but-secret-material"),
        ("AIMSFLOW_PSEUDONYM_KEY", "shortsecret"),
    ],
)
def test_secret_values_are_not_in_errors(env, name, bad):
    env.setenv(name, bad)
    env.setenv("AIMSFLOW_AIRFLOW_PASSWORD", "hunter2-airflow")
    env.setenv("AIMSFLOW_MIN_GROUP_SIZE", "0")  # a second error beside the secret one
    with pytest.raises(SettingsError) as exc:
        settings.options()
    problem = next(p for p in exc.value.problems if p.startswith(name))
    assert problem.startswith(f"{name}=<secret, not shown>: expected")
    for text in (str(exc.value), repr(exc.value), *exc.value.problems):
        assert bad not in text and "hunter2-airflow" not in text
    # The pydantic error (which holds the inputs) is not chained into the traceback.
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


# --- one place reads the environment --------------------------------------------------------------


def _environment_reads(path: Path) -> list[str]:
    """``os.environ.get(...)``, ``os.getenv(...)``, ``os.environ[...]`` reads and iteration
    (``os.environ[...] = ...`` and ``setdefault`` are writes)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        text = ast.unparse(node) if isinstance(node, ast.Call | ast.Subscript) else ""
        read = (
            isinstance(node, ast.Call) and re.match(r"os\.(environ\.(get|items|keys|values)|getenv)\(", text)
        ) or (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and text.startswith("os.environ[")
        )
        if read:
            found.append(f"{path.name}:{node.lineno}: {text}")
    return found


def test_only_the_settings_module_reads_the_environment():
    """Options are read in ``settings`` only (before, ``AIMSFLOW_START_DATE`` was read in the glue,
    the OpenLineage folders in the transport and in retention). ``redact`` scans every variable for
    secret values to mask: that is not reading an option."""
    allowed = {"include/aimsflow/settings.py", "include/aimsflow/evidence/redact.py"}
    reads = [
        hit
        for path in sorted((PROJECT / "include").rglob("*.py")) + sorted((PROJECT / "dags").rglob("*.py"))
        if str(path.relative_to(PROJECT)) not in allowed
        for hit in _environment_reads(path)
    ]
    assert reads == []


def test_the_probe_finds_reads_and_not_writes(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        "import os\n"
        "a = os.environ.get('A')\n"
        "b = os.environ['B']\n"
        "c = os.getenv('C')\n"
        "os.environ['D'] = 'x'\n"
        "os.environ.setdefault('E', 'y')\n"
    )
    assert _environment_reads(path) == [
        "probe.py:2: os.environ.get('A')",
        "probe.py:3: os.environ['B']",
        "probe.py:4: os.getenv('C')",
    ]


def test_every_option_is_documented_in_the_readme():
    readme = (PROJECT / "README.md").read_text()
    assert [name for name in settings.VARIABLES if f"`{name}`" not in readme] == []


def test_close_allows_dag_test_is_a_boolean(env):
    """Closing by dag.test() is a test configuration's choice, spelled as a boolean; anything else is
    refused rather than read as "on"."""
    env.setenv("AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "true")
    assert settings.close_allows_dag_test() is True
    env.setenv("AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "0")
    assert settings.close_allows_dag_test() is False
    assert "expected true or false" in _refused(env, "AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "sometimes")


# --- keys from files (compose secrets) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "accessor", "value", "expected"),
    [
        ("AIMSFLOW_SIGNING_KEY_FILE", settings.signing_key_b64, SEED, SEED),
        ("AIMSFLOW_PSEUDONYM_KEY_FILE", settings.pseudonym_key, "p" * 16, b"p" * 16),
    ],
)
def test_a_key_is_read_from_the_file_its_file_option_names(
    env, tmp_path, variable, accessor, value, expected
):
    """Compose mounts keys as secret files (``/run/secrets/...``), never as environment variables:
    ``*_FILE`` names the file, the key's one accessor reads it (a trailing newline is no part of it)."""
    path = tmp_path / "key"
    path.write_text(value + "\n")
    env.setenv(variable, str(path))
    assert accessor() == expected
    assert value not in repr(settings.options())


@pytest.mark.parametrize(
    ("variable", "content", "expected"),
    [
        ("AIMSFLOW_SIGNING_KEY_FILE", "bm90IGEgc2VlZA==", "32-byte Ed25519 seed"),
        ("AIMSFLOW_PSEUDONYM_KEY_FILE", "short-key-1", "at least 16 characters"),
    ],
)
def test_a_bad_key_file_is_refused_naming_the_file_never_the_key(env, tmp_path, variable, content, expected):
    path = tmp_path / "key"
    path.write_text(content)
    problem = _refused(env, variable, str(path))
    assert expected in problem and str(path) in problem and content not in problem


def test_a_missing_key_file_is_refused(env, tmp_path):
    problem = _refused(env, "AIMSFLOW_SIGNING_KEY_FILE", str(tmp_path / "absent"))
    assert "cannot read" in problem


@pytest.mark.parametrize("name", ["AIMSFLOW_SIGNING_KEY", "AIMSFLOW_PSEUDONYM_KEY"])
def test_a_key_and_its_file_together_are_refused(env, tmp_path, name):
    value = SEED if name == "AIMSFLOW_SIGNING_KEY" else "p" * 16
    path = tmp_path / "key"
    path.write_text(value)
    env.setenv(name, value)
    problem = _refused(env, f"{name}_FILE", str(path))
    assert f"{name} is set too" in problem and value not in problem


def test_a_key_from_a_file_is_redacted_like_one_from_the_environment(env, tmp_path):
    from aimsflow.evidence.redact import redact_text

    path = tmp_path / "key"
    path.write_text("a-pseudonym-key-from-a-file\n")
    env.setenv("AIMSFLOW_PSEUDONYM_KEY_FILE", str(path))
    assert redact_text("key a-pseudonym-key-from-a-file leaked") == "key *** leaked"
