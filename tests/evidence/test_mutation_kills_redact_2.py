"""Mutation kills for evidence/redact.py left by the full run of this session (see docs/mutation.md)."""

from __future__ import annotations

import os

from aimsflow import settings
from aimsflow.evidence.redact import MASK, redact_text, secret_values
from tests.conftest import new_key


def test_a_signing_key_file_gone_bad_does_not_unmask_the_pseudonym_key(monkeypatch, tmp_path):
    """The signing key file replaced by a bad one after start (``signing_key_b64`` raises
    ``SettingsError``): the pseudonym key read from its file is still a secret value and masked.
    Kills redact._secret_values ``continue`` -> ``break`` in the loop over key files (the pseudonym
    key would then be written into evidence unmasked whenever the signing key file is unreadable)."""
    for name in list(os.environ):
        if name.startswith(("AIMSFLOW_", "AIRFLOW_CONN_")):
            monkeypatch.delenv(name)
    _, seed, _ = new_key("file-key")
    seed_file, pseudo_file = tmp_path / "signing.key", tmp_path / "pseudonym.key"
    seed_file.write_text(seed)
    pseudo_file.write_text("pseudonym-key-from-a-file")
    monkeypatch.setenv("AIMSFLOW_SIGNING_KEY_FILE", str(seed_file))
    monkeypatch.setenv("AIMSFLOW_PSEUDONYM_KEY_FILE", str(pseudo_file))
    settings.options()  # validated at start, both files good
    seed_file.write_text("not a key")
    try:
        settings.signing_key_b64()
    except settings.SettingsError:
        pass
    else:  # the premise of the test: the signing key is refused now
        raise AssertionError("a bad signing key file was read without complaint")
    assert secret_values() == ("pseudonym-key-from-a-file",)
    assert redact_text("hmac key pseudonym-key-from-a-file") == f"hmac key {MASK}"
