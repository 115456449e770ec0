from __future__ import annotations

import pytest

from aimsflow import settings
from aimsflow.evidence.redact import (
    MASK,
    pseudonymise,
    redact_params,
    redact_text,
    suppress_small_groups,
)


def test_configured_secrets_and_url_passwords_are_masked(aims_env, monkeypatch):
    seed = settings.signing_key_b64()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://etl:hunter2-very-secret@db:5432/dw")
    text = f"boom with key {seed} while connecting to postgres://etl:hunter2-very-secret@db:5432/dw"
    out = redact_text(text)
    assert seed not in out and "hunter2" not in out and out.count(MASK) >= 2


def test_secret_looking_params_are_masked_others_kept():
    assert redact_params({"period": "2026-11", "api_key": "abc", "db_password": "x", "execute": True}) == {
        "period": "2026-11",
        "api_key": MASK,
        "db_password": MASK,
        "execute": True,
    }


def test_pseudonym_is_keyed_so_a_birth_date_cannot_be_recovered_by_trying_every_date():
    a = pseudonymise("1980-01-02", b"key-one")
    assert a == pseudonymise("1980-01-02", b"key-one") != pseudonymise("1980-01-02", b"key-two")
    assert "1980" not in a and a.startswith("hmac:")


def test_pseudonym_without_key_masks_instead_of_hashing(monkeypatch):
    monkeypatch.delenv("AIMSFLOW_PSEUDONYM_KEY", raising=False)
    assert pseudonymise("1980-01-02") == MASK


def test_small_groups_are_suppressed():
    out = suppress_small_groups({"a": 50, "b": 3}, {"a": 0.5, "b": 1.0, "c": 0.2}, min_size=10)
    assert out["a"] == 0.5 and "suppressed" in out["b"] and "suppressed" in out["c"]


@pytest.mark.parametrize("name", ["AIMSFLOW_SIGNING_KEY", "AIMSFLOW_PSEUDONYM_KEY"])
def test_key_values_from_env_are_redacted(aims_env, name, monkeypatch):
    monkeypatch.setenv(name, "a-long-secret-value-123")
    assert "a-long-secret-value-123" not in redact_text("x a-long-secret-value-123 y")
