"""Every aimsflow option, one accessor each (the OpenLineage provider's ``conf.py`` pattern).

Options come from environment variables so that the scheduler, workers, tests and the CLI read
them the same way. They are typed and validated together by :class:`Options` (pydantic-settings):
the first accessor called refuses a bad value anywhere with :class:`SettingsError`, naming the
variable, its value (never a secret's) and what was expected, rather than failing later or, worse,
silently changing behaviour (``AIMSFLOW_MIN_GROUP_SIZE=0`` would switch off small-group
suppression). Secrets are :class:`~pydantic.SecretStr` inside the model, so no repr, log line or
error shows them; only their accessors unwrap them.

The parsed options are cached keyed by the values of the variables themselves, so a test that
monkeypatches the environment is honoured on the next call. Relative paths are resolved on every
call (against the current directory of that moment).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent

#: The smallest ``AIMSFLOW_MIN_GROUP_SIZE`` accepted. 0 and 1 switch suppression off (every
#: non-empty group has at least one member); with 2 each member of a pair learns the other's outcome
#: from the group's rate by taking away their own. 3 is the threshold rule of statistical disclosure
#: control (at least three contributors per published cell); the default stays 10.
MIN_GROUP_SIZE_FLOOR = 3
#: The shortest pseudonym (HMAC) key accepted: a short key can be found by trying keys against one
#: known personal value, which makes every pseudonym reversible. 16 characters is 64 bits as hex.
PSEUDONYM_KEY_MIN_LENGTH = 16
SECRETS = frozenset({"AIMSFLOW_SIGNING_KEY", "AIMSFLOW_PSEUDONYM_KEY", "AIMSFLOW_AIRFLOW_PASSWORD"})


class SettingsError(ValueError):
    """One or more options are invalid; ``problems`` lists each as ``VARIABLE=value: expected ...``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid aimsflow setting(s):\n  " + "\n  ".join(problems))


def _seed(value: SecretStr | None) -> SecretStr | None:
    """A signing key must be a base64 32-byte Ed25519 seed (checked here so that a typo is refused
    when the process starts, not at the first record it signs)."""
    if value is not None:
        try:
            raw = base64.b64decode(value.get_secret_value().strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("expected the base64 encoding of a 32-byte Ed25519 seed")
    return value


def _long_enough(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < PSEUDONYM_KEY_MIN_LENGTH:
        raise ValueError(f"expected at least {PSEUDONYM_KEY_MIN_LENGTH} characters")
    return value


def _key_file(path: Path, check: Any) -> SecretStr:
    """The key in ``path`` (surrounding whitespace stripped), checked like the variable's value; a
    problem names the file, never its content."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"expected a readable file with the key: cannot read it ({exc.__class__.__name__})"
        ) from None
    return check(SecretStr(text))


def _file_of(key_field: str, variable: str, check: Any) -> Any:
    """Validator of a ``*_FILE`` option: the file must hold a valid key, and the key's own variable
    must not be set too (which one would win is nobody's guess)."""

    def validate(path: Path | None, info: ValidationInfo) -> Path | None:
        if path is None:
            return path
        if info.data.get(key_field) is not None:
            raise ValueError(f"{variable} is set too: set the key or the file holding it, not both")
        _key_file(path, check)
        return path

    return validate


def _env(name: str, expected: str, **kw: Any) -> Any:
    """A field read from ``name``; ``expected`` is what an error says a good value looks like."""
    return Field(validation_alias=name, description=expected, **kw)


OptionalPath = Path | None


class Options(BaseSettings):
    """Every option, typed; the field's alias is its environment variable."""

    model_config = SettingsConfigDict(
        case_sensitive=True,  # exactly AIMSFLOW_DATA_ROOT, not aimsflow_data_root too
        env_ignore_empty=True,  # VAR= (docker/.env.example) means unset, as before
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    home: OptionalPath = _env("AIMSFLOW_HOME", "a folder", default=None)
    config_dir: OptionalPath = _env("AIMSFLOW_CONFIG_DIR", "a folder", default=None)
    expectations_dir: OptionalPath = _env("AIMSFLOW_EXPECTATIONS_DIR", "a folder", default=None)
    data_root: OptionalPath = _env("AIMSFLOW_DATA_ROOT", "a folder", default=None)
    evidence_root: OptionalPath = _env("AIMSFLOW_EVIDENCE_ROOT", "a folder", default=None)
    witness: OptionalPath = _env("AIMSFLOW_WITNESS", "a folder", default=None)
    keys_dir: OptionalPath = _env("AIMSFLOW_KEYS_DIR", "a folder", default=None)
    trusted_keys: OptionalPath = _env("AIMSFLOW_TRUSTED_KEYS", "a file", default=None)
    openlineage_dir: OptionalPath = _env("AIMSFLOW_OPENLINEAGE_DIR", "a folder", default=None)
    openlineage_root: OptionalPath = _env("AIMSFLOW_OPENLINEAGE_ROOT", "a folder", default=None)
    manual_inbox: OptionalPath = _env("AIMSFLOW_MANUAL_INBOX", "a folder", default=None)
    signing_key: Annotated[SecretStr | None, AfterValidator(_seed)] = _env(
        "AIMSFLOW_SIGNING_KEY", "the base64 encoding of a 32-byte Ed25519 seed", default=None
    )
    signing_key_id: str | None = _env(
        "AIMSFLOW_SIGNING_KEY_ID", "a key id without spaces", default=None, pattern=r"^\S+$"
    )
    signing_conn_id: str = _env(
        "AIMSFLOW_SIGNING_CONN_ID",
        "an Airflow connection id without spaces",
        default="aimsflow_signing",
        pattern=r"^\S+$",
    )
    pseudonym_key: Annotated[SecretStr | None, AfterValidator(_long_enough)] = _env(
        "AIMSFLOW_PSEUDONYM_KEY", f"at least {PSEUDONYM_KEY_MIN_LENGTH} characters", default=None
    )
    # The keys as files (compose secrets, mounted at /run/secrets/...): declared after the keys, so
    # that their validators see whether the key itself is set too.
    signing_key_file: OptionalPath = _env(
        "AIMSFLOW_SIGNING_KEY_FILE", "a readable file holding the base64 Ed25519 seed", default=None
    )
    pseudonym_key_file: OptionalPath = _env(
        "AIMSFLOW_PSEUDONYM_KEY_FILE", "a readable file holding the pseudonym key", default=None
    )

    _signing_key_file = field_validator("signing_key_file")(
        _file_of("signing_key", "AIMSFLOW_SIGNING_KEY", _seed)
    )
    _pseudonym_key_file = field_validator("pseudonym_key_file")(
        _file_of("pseudonym_key", "AIMSFLOW_PSEUDONYM_KEY", _long_enough)
    )
    min_group_size: int = _env(
        "AIMSFLOW_MIN_GROUP_SIZE",
        f"a whole number >= {MIN_GROUP_SIZE_FLOOR}: a smaller minimum defeats small-group suppression",
        default=10,
        ge=MIN_GROUP_SIZE_FLOOR,
    )
    task_retries: int = _env("AIMSFLOW_TASK_RETRIES", "a whole number >= 0", default=2, ge=0)
    retry_delay_seconds: int = _env(
        "AIMSFLOW_RETRY_DELAY_SECONDS", "a whole number of seconds >= 0", default=300, ge=0
    )
    task_timeout_seconds: int = _env(
        "AIMSFLOW_TASK_TIMEOUT_SECONDS", "a whole number of seconds >= 1", default=7200, ge=1
    )
    intent_grace_seconds: int | None = _env(
        "AIMSFLOW_INTENT_GRACE_SECONDS", "a whole number of seconds >= 0", default=None, ge=0
    )
    start_date: dt.date = _env(
        "AIMSFLOW_START_DATE", "a date as YYYY-MM-DD, e.g. 2026-11-01", default=dt.date(2026, 11, 1)
    )
    airflow_url: HttpUrl = _env(
        "AIMSFLOW_AIRFLOW_URL",
        "an http:// or https:// URL, e.g. http://127.0.0.1:8080",
        default=HttpUrl("http://127.0.0.1:8080"),
    )
    airflow_username: str | None = _env("AIMSFLOW_AIRFLOW_USERNAME", "a user name", default=None)
    airflow_password: SecretStr | None = _env("AIMSFLOW_AIRFLOW_PASSWORD", "a password", default=None)
    close_allows_dag_test: bool = _env(
        "AIMSFLOW_CLOSE_ALLOWS_DAG_TEST", "true or false (test configurations only)", default=False
    )
    log_origin: str = _env(
        "AIMSFLOW_LOG_ORIGIN",
        "a log name without spaces or '+', e.g. evidence.example.com/aimsflow",
        default="aimsflow.local/evidence",
        pattern=r"^[^\s+]+$",
    )
    seal_interval_hours: int = _env(
        "AIMSFLOW_SEAL_INTERVAL_HOURS", "a whole number of hours >= 1", default=24, ge=1
    )


#: The environment variable of every option, in declaration order.
VARIABLES: tuple[str, ...] = tuple(
    str(f.validation_alias) for f in Options.model_fields.values() if f.validation_alias
)


_EXPECTED = {str(f.validation_alias): f.description or "" for f in Options.model_fields.values()}


def _problem(err: Any) -> str:
    """``VARIABLE=value: expected ... (pydantic's detail)``; a secret's value is never shown."""
    name = str(err["loc"][0]) if err["loc"] else "<settings>"
    shown = "<secret, not shown>" if name in SECRETS else repr(os.environ.get(name))
    detail = str(err["msg"]).removeprefix("Value error, ")
    if detail.startswith("expected "):  # our own validators say it already
        return f"{name}={shown}: {detail}"
    return f"{name}={shown}: expected {_EXPECTED.get(name, 'a valid value')} [{detail}]"


# Values a driver (the cycle, ``make retention``) sets for its own process without touching
# ``os.environ``: they win over the environment while :func:`overridden` is active.
_overrides: dict[str, str] = {}


@contextlib.contextmanager
def overridden(**values: str) -> Iterator[None]:
    """Options set for this process only, by variable name (``AIMSFLOW_RETRY_DELAY_SECONDS="1"``),
    validated like the environment's."""
    saved = dict(_overrides)
    _overrides.update(values)
    try:
        options()
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


@functools.lru_cache(maxsize=16)
def _parse(values: tuple[str | None, ...], overrides: tuple[tuple[str, str], ...]) -> Options:
    """``values``: the variables' values, the cache key (the model reads os.environ itself; the
    overrides are passed as init values, which win over it)."""
    try:
        return Options(**dict(overrides))
    except ValidationError as exc:
        # `from None`: the ValidationError would carry the inputs, secrets included, in a traceback.
        raise SettingsError([_problem(e) for e in exc.errors()]) from None


def options() -> Options:
    """The validated options of the current environment; raises :class:`SettingsError`."""
    return _parse(tuple(os.environ.get(name) for name in VARIABLES), tuple(sorted(_overrides.items())))


def _path(value: Path | None, default: Path) -> Path:
    return value.expanduser().resolve() if value is not None else default


def project_root() -> Path:
    """``AIMSFLOW_HOME``: the project checkout (default: two levels above the package, i.e. the repo)."""
    return _path(options().home, _PACKAGE_DIR.parents[1])


def config_dir() -> Path:
    """``AIMSFLOW_CONFIG_DIR``: inventory and policy YAML (default ``include/config``)."""
    return _path(options().config_dir, project_root() / "include" / "config")


def expectations_dir() -> Path:
    """``AIMSFLOW_EXPECTATIONS_DIR``: Great Expectations suites (default ``expectations/``)."""
    return _path(options().expectations_dir, project_root() / "expectations")


def data_root() -> Path:
    """``AIMSFLOW_DATA_ROOT``: where ``{data}`` in dataset URI templates points (default ``data/``)."""
    return _path(options().data_root, project_root() / "data")


def evidence_root() -> Path:
    """``AIMSFLOW_EVIDENCE_ROOT``: the evidence store (default ``evidence/``)."""
    return _path(options().evidence_root, project_root() / "evidence")


def witness_dir() -> Path:
    """``AIMSFLOW_WITNESS``: folder outside the store that keeps the latest seal head."""
    return _path(options().witness, project_root() / "witness")


def keys_dir() -> Path:
    """``AIMSFLOW_KEYS_DIR``: where ``aimsflow keys demo`` writes a demo key pair (outside the repo)."""
    return _path(options().keys_dir, Path.home() / ".aimsflow")


def trusted_keys_path() -> Path:
    """``AIMSFLOW_TRUSTED_KEYS``: JSON list of public keys with validity windows (outside the store)."""
    return _path(options().trusted_keys, keys_dir() / "trusted_keys.json")


def openlineage_dir() -> Path:
    """``AIMSFLOW_OPENLINEAGE_DIR``: the staging transport's folder, one file per OpenLineage event
    (default ``openlineage/staging``)."""
    return _path(options().openlineage_dir, project_root() / "openlineage" / "staging")


def openlineage_root() -> Path:
    """``AIMSFLOW_OPENLINEAGE_ROOT``: folder whose event files retention disposes of. Default: the
    staging folder when ``AIMSFLOW_OPENLINEAGE_DIR`` names one, else ``<project>/openlineage/``
    (which holds the transport's default ``staging/``)."""
    opts = options()
    return _path(opts.openlineage_root or opts.openlineage_dir, project_root() / "openlineage")


def manual_inbox() -> Path:
    """``AIMSFLOW_MANUAL_INBOX``: the folder where staff drop documents with their sidecars for the
    ``manual_evidence`` DAG (default ``inbox/``); ingested ones move to its ``.ingested/``."""
    return _path(options().manual_inbox, project_root() / "inbox")


def _from_file(variable: str, path: Path, check: Any) -> SecretStr:
    """A key file read again at use (validated at start too): a file replaced by a bad one since is
    refused like a bad value at start."""
    try:
        return _key_file(path, check)
    except ValueError as exc:
        raise SettingsError([f"{variable}={str(path)!r}: {exc}"]) from None


def signing_key_b64() -> str | None:
    """``AIMSFLOW_SIGNING_KEY``, or the file ``AIMSFLOW_SIGNING_KEY_FILE`` names: base64 Ed25519
    private seed (32 bytes). Never logged or stored."""
    opts = options()
    key = opts.signing_key
    if key is None and opts.signing_key_file is not None:
        key = _from_file("AIMSFLOW_SIGNING_KEY_FILE", opts.signing_key_file, _seed)
    return key.get_secret_value() if key is not None else None


def signing_key_id() -> str | None:
    """``AIMSFLOW_SIGNING_KEY_ID``: key id written beside each signature."""
    return options().signing_key_id


def signing_conn_id() -> str:
    """``AIMSFLOW_SIGNING_CONN_ID``: Airflow connection holding the key (login = key id, password = seed)."""
    return options().signing_conn_id


def pseudonym_key() -> bytes | None:
    """``AIMSFLOW_PSEUDONYM_KEY``, or the file ``AIMSFLOW_PSEUDONYM_KEY_FILE`` names: HMAC key for
    personal values that must stay linkable (outside the store)."""
    opts = options()
    key = opts.pseudonym_key
    if key is None and opts.pseudonym_key_file is not None:
        key = _from_file("AIMSFLOW_PSEUDONYM_KEY_FILE", opts.pseudonym_key_file, _long_enough)
    return key.get_secret_value().encode() if key is not None else None


def min_group_size() -> int:
    """``AIMSFLOW_MIN_GROUP_SIZE``: default minimum group size below which per-group figures are
    suppressed (default 10, at least :data:`MIN_GROUP_SIZE_FLOOR`)."""
    return options().min_group_size


def task_retries() -> int:
    """``AIMSFLOW_TASK_RETRIES``: retries of every governance task after an ``error`` (default 2)."""
    return options().task_retries


def retry_delay_seconds() -> int:
    """``AIMSFLOW_RETRY_DELAY_SECONDS``: wait between tries (default 300; ``make run`` uses 1 because
    ``dag.test()`` waits out retry delays)."""
    return options().retry_delay_seconds


def task_timeout_seconds() -> int:
    """``AIMSFLOW_TASK_TIMEOUT_SECONDS``: every governance task's ``execution_timeout`` (default 7200):
    a hung task ends with ``AirflowTaskTimeout`` and an ``error`` record instead of running forever."""
    return options().task_timeout_seconds


#: What :func:`intent_grace_seconds` adds to the task timeout by default: time to write the ``error``
#: record after a timeout, with room for a slow disk.
INTENT_GRACE_MARGIN_SECONDS = 900


def intent_grace_seconds() -> int:
    """``AIMSFLOW_INTENT_GRACE_SECONDS``: how old a task try's intent must be before verify reports
    that the try left no record (default: the task timeout plus 15 minutes, so a try still running,
    or still writing its record after a timeout, is never reported)."""
    grace = options().intent_grace_seconds
    return task_timeout_seconds() + INTENT_GRACE_MARGIN_SECONDS if grace is None else grace


def start_date() -> dt.date:
    """``AIMSFLOW_START_DATE``: first period governance DAGs cover (default 2026-11-01)."""
    return options().start_date


def airflow_api_url() -> str:
    """``AIMSFLOW_AIRFLOW_URL``: the Airflow API server ``aimsflow nc close`` talks to (default ``http://127.0.0.1:8080``)."""
    return str(options().airflow_url).rstrip("/")


def airflow_api_username() -> str | None:
    """``AIMSFLOW_AIRFLOW_USERNAME``: the Airflow user who closes nonconformities."""
    return options().airflow_username


def airflow_api_password() -> str | None:
    """``AIMSFLOW_AIRFLOW_PASSWORD``: that user's password (never logged; else asked on the terminal)."""
    password = options().airflow_password
    return password.get_secret_value() if password is not None else None


def close_allows_dag_test() -> bool:
    """``AIMSFLOW_CLOSE_ALLOWS_DAG_TEST``: let a ``dag.test()`` run (trigger type ``test``, user
    ``dag_test``, authenticated by nobody) close a nonconformity. For test configurations only;
    default false: closing needs a run triggered through the Airflow UI or REST API."""
    return options().close_allows_dag_test


def log_origin() -> str:
    """``AIMSFLOW_LOG_ORIGIN``: the transparency log's name, the first line of every checkpoint and the
    key name of its signature (default ``aimsflow.local/evidence``). Never change it for a store."""
    return options().log_origin


def seal_interval_hours() -> int:
    """``AIMSFLOW_SEAL_INTERVAL_HOURS``: the longest a record should wait for a seal (default 24, the
    daily ``evidence_seal``); verify fails when the witness is missing while older records exist."""
    return options().seal_interval_hours
