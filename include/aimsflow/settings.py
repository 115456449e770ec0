"""Every aimsflow option, one accessor each (the OpenLineage provider's ``conf.py`` pattern).

Options come from environment variables so that the scheduler, workers, tests and the CLI read
them the same way. Nothing here is cached: tests point options at temporary folders.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# Values a driver (the cycle, ``make retention``) sets for its own process without touching
# ``os.environ``: they win over the environment while :func:`overridden` is active.
_overrides: dict[str, str] = {}


def _get(name: str, default: str | None = None) -> str | None:
    return _overrides[name] if name in _overrides else os.environ.get(name, default)


@contextlib.contextmanager
def overridden(**values: str) -> Iterator[None]:
    """Options set for this process only, by variable name (``AIMSFLOW_RETRY_DELAY_SECONDS="1"``)."""
    saved = dict(_overrides)
    _overrides.update(values)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


def _path(env: str, default: Path) -> Path:
    value = _get(env)
    return Path(value).expanduser().resolve() if value else default


def project_root() -> Path:
    """``AIMSFLOW_HOME``: the project checkout (default: two levels above the package, i.e. the repo)."""
    return _path("AIMSFLOW_HOME", _PACKAGE_DIR.parents[1])


def config_dir() -> Path:
    """``AIMSFLOW_CONFIG_DIR``: inventory and policy YAML (default ``include/config``)."""
    return _path("AIMSFLOW_CONFIG_DIR", project_root() / "include" / "config")


def expectations_dir() -> Path:
    """``AIMSFLOW_EXPECTATIONS_DIR``: Great Expectations suites (default ``expectations/``)."""
    return _path("AIMSFLOW_EXPECTATIONS_DIR", project_root() / "expectations")


def data_root() -> Path:
    """``AIMSFLOW_DATA_ROOT``: where ``{data}`` in dataset URI templates points (default ``data/``)."""
    return _path("AIMSFLOW_DATA_ROOT", project_root() / "data")


def evidence_root() -> Path:
    """``AIMSFLOW_EVIDENCE_ROOT``: the evidence store (default ``evidence/``)."""
    return _path("AIMSFLOW_EVIDENCE_ROOT", project_root() / "evidence")


def witness_dir() -> Path:
    """``AIMSFLOW_WITNESS``: folder outside the store that keeps the latest seal head."""
    return _path("AIMSFLOW_WITNESS", project_root() / "witness")


def keys_dir() -> Path:
    """``AIMSFLOW_KEYS_DIR``: where ``aimsflow keys demo`` writes a demo key pair (outside the repo)."""
    return _path("AIMSFLOW_KEYS_DIR", Path.home() / ".aimsflow")


def trusted_keys_path() -> Path:
    """``AIMSFLOW_TRUSTED_KEYS``: JSON list of public keys with validity windows (outside the store)."""
    return _path("AIMSFLOW_TRUSTED_KEYS", keys_dir() / "trusted_keys.json")


def signing_key_b64() -> str | None:
    """``AIMSFLOW_SIGNING_KEY``: base64 Ed25519 private seed (32 bytes). Never logged or stored."""
    return _get("AIMSFLOW_SIGNING_KEY") or None


def signing_key_id() -> str | None:
    """``AIMSFLOW_SIGNING_KEY_ID``: key id written beside each signature."""
    return _get("AIMSFLOW_SIGNING_KEY_ID") or None


def signing_conn_id() -> str:
    """``AIMSFLOW_SIGNING_CONN_ID``: Airflow connection holding the key (login = key id, password = seed)."""
    return _get("AIMSFLOW_SIGNING_CONN_ID", "aimsflow_signing")


def pseudonym_key() -> bytes | None:
    """``AIMSFLOW_PSEUDONYM_KEY``: HMAC key for personal values that must stay linkable (outside the store)."""
    value = _get("AIMSFLOW_PSEUDONYM_KEY")
    return value.encode() if value else None


def min_group_size() -> int:
    """``AIMSFLOW_MIN_GROUP_SIZE``: default minimum group size below which per-group figures are suppressed."""
    return int(_get("AIMSFLOW_MIN_GROUP_SIZE", "10"))


def task_retries() -> int:
    """``AIMSFLOW_TASK_RETRIES``: retries of every governance task after an ``error`` (default 2)."""
    return int(_get("AIMSFLOW_TASK_RETRIES", "2"))


def retry_delay_seconds() -> int:
    """``AIMSFLOW_RETRY_DELAY_SECONDS``: wait between tries (default 300; ``make run`` uses 1 because
    ``dag.test()`` waits out retry delays)."""
    return int(_get("AIMSFLOW_RETRY_DELAY_SECONDS", "300"))


def airflow_api_url() -> str:
    """``AIMSFLOW_AIRFLOW_URL``: the Airflow API server ``aimsflow nc close`` talks to (default ``http://127.0.0.1:8080``)."""
    return _get("AIMSFLOW_AIRFLOW_URL", "http://127.0.0.1:8080").rstrip("/")


def airflow_api_username() -> str | None:
    """``AIMSFLOW_AIRFLOW_USERNAME``: the Airflow user who closes nonconformities."""
    return _get("AIMSFLOW_AIRFLOW_USERNAME") or None


def airflow_api_password() -> str | None:
    """``AIMSFLOW_AIRFLOW_PASSWORD``: that user's password (never logged; else asked on the terminal)."""
    return _get("AIMSFLOW_AIRFLOW_PASSWORD") or None


def start_date() -> str:
    """``AIMSFLOW_START_DATE``: first period the governance DAGs cover (default 2026-11-01)."""
    return _get("AIMSFLOW_START_DATE", "2026-11-01") or "2026-11-01"
