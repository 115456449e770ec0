"""Keep secrets and personal data out of evidence."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from typing import Any

from aimsflow import settings

MASK = "***"
_SECRET_NAME = re.compile(r"pass(word)?|secret|token|private|credential|api[_-]?key|seed|signing", re.I)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _secret_values() -> Iterable[str]:
    """Values that must never appear in a record: configured keys and Airflow connection URIs."""
    for name, value in os.environ.items():
        if len(value) >= 8 and (
            (
                name.startswith(("AIMSFLOW_SIGNING_KEY", "AIMSFLOW_PSEUDONYM_KEY", "AIRFLOW_CONN_"))
                and not name.endswith("_FILE")  # a path; the file's key is yielded below
            )
            or (is_secret_name(name) and not name.endswith(("_ID", "_PATH", "_FILE", "_CONN_ID")))
        ):
            yield value
    # Keys read from files (AIMSFLOW_*_KEY_FILE, compose secrets) are no environment value.
    for read in (settings.signing_key_b64, settings.pseudonym_key):
        try:
            key = read()
        except settings.SettingsError:
            continue
        if key:
            yield key if isinstance(key, str) else key.decode()


def secret_values() -> tuple[str, ...]:
    """The secret values :func:`redact_text` masks, read from the environment now: pass them to
    ``redact_text`` when redacting many strings (reading the environment per string is slow)."""
    return tuple(_secret_values())


def redact_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """Mask known secret values (default: :func:`secret_values` now) and passwords embedded in URLs."""
    for value in _secret_values() if secrets is None else secrets:
        text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(rf"\g<scheme>{MASK}@", text)


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """A run's Params for the manifest, with values of secret-looking names masked."""
    return {k: (MASK if is_secret_name(k) else v) for k, v in params.items()}


def pseudonymise(value: object, key: bytes | None = None) -> str:
    """HMAC-SHA256 of a personal value: linkable across records, not reversible by trying every
    value (unlike a plain hash of a birth date) while the key stays outside the store."""
    key = key or settings.pseudonym_key()
    if key is None:
        return MASK
    return "hmac:" + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:16]


def suppress_small_groups(
    counts: dict[str, int], figures: dict[str, Any], min_size: int | None = None
) -> dict[str, Any]:
    """Per-group ``figures`` with groups smaller than ``min_size`` replaced by a suppression marker,
    so a record never singles out a handful of people (the count itself is suppressed too)."""
    min_size = settings.min_group_size() if min_size is None else min_size
    return {
        group: (value if counts.get(group, 0) >= min_size else {"suppressed": f"group size < {min_size}"})
        for group, value in figures.items()
    }
