"""Signing keys and trusted public keys.

The private key never touches the repo or the store: it comes from ``AIMSFLOW_SIGNING_KEY`` (base64
Ed25519 seed) with ``AIMSFLOW_SIGNING_KEY_ID``, or from an Airflow connection (login = key id,
password = seed). Public keys live in a trusted-keys file outside the store, each with a validity
window, so rotation keeps old records verifiable and a signature outside its key's window is caught.

Airflow is imported only inside :meth:`Signer.from_settings`, when no key is in the environment and
the connection must be read (inside a task): verifying a store needs no Airflow.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from aimsflow import settings
from aimsflow.fsutil import atomic_write
from aimsflow.periods import to_utc


class KeyError_(LookupError):
    """No usable signing key, or a trusted-keys file that cannot be read."""


def _public_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@dataclass(frozen=True)
class Signer:
    key_id: str
    _private: Ed25519PrivateKey

    def __repr__(self) -> str:  # never show key material
        return f"Signer(key_id={self.key_id!r})"

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    @property
    def public_key_b64(self) -> str:
        return _public_b64(self._private.public_key())

    @classmethod
    def from_seed_b64(cls, key_id: str, seed_b64: str) -> Signer:
        try:
            seed = base64.b64decode(seed_b64.strip(), validate=True)
            private = Ed25519PrivateKey.from_private_bytes(seed)
        except Exception as exc:
            raise KeyError_(f"signing key {key_id!r} is not a base64 32-byte Ed25519 seed") from exc
        return cls(key_id, private)

    @classmethod
    def from_settings(cls) -> Signer:
        """The configured signing key: environment first, then the Airflow connection."""
        seed, key_id = settings.signing_key_b64(), settings.signing_key_id()
        if seed:
            if not key_id:
                raise KeyError_("AIMSFLOW_SIGNING_KEY is set but AIMSFLOW_SIGNING_KEY_ID is not")
            return cls.from_seed_b64(key_id, seed)
        conn_id = settings.signing_conn_id()
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:
            raise KeyError_(
                f"no signing key: set AIMSFLOW_SIGNING_KEY and AIMSFLOW_SIGNING_KEY_ID, "
                f"or create the Airflow connection {conn_id!r} (login = key id, password = seed)"
            ) from exc
        if not conn.login or not conn.password:
            raise KeyError_(f"Airflow connection {conn_id!r} needs login (key id) and password (seed)")
        return cls.from_seed_b64(conn.login, conn.password)


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    public_key: Ed25519PublicKey
    valid_from: dt.datetime
    valid_until: dt.datetime | None

    def valid_at(self, moment: dt.datetime) -> bool:
        moment = to_utc(moment)
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    @property
    def public_raw(self) -> bytes:
        """The 32 raw bytes of the public key (signed-note key hashes are computed over them)."""
        return self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class TrustedKeys:
    """The trusted-keys file: ``{"keys": [{"key_id", "public_key" (base64 raw), "valid_from", "valid_until"}]}``."""

    def __init__(self, keys: list[TrustedKey]):
        self._keys = {k.key_id: k for k in keys}

    @classmethod
    def load(cls, path: Path | None = None) -> TrustedKeys:
        path = path or settings.trusted_keys_path()
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            keys = [
                TrustedKey(
                    entry["key_id"],
                    Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"])),
                    to_utc(dt.datetime.fromisoformat(entry["valid_from"])),
                    to_utc(dt.datetime.fromisoformat(entry["valid_until"]))
                    if entry.get("valid_until")
                    else None,
                )
                for entry in doc["keys"]
            ]
        except FileNotFoundError:
            raise KeyError_(f"{path}: trusted-keys file not found (set AIMSFLOW_TRUSTED_KEYS)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyError_(f"{path}: invalid trusted-keys file: {exc!r}") from None
        return cls(keys)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._keys.values())

    def check(self, key_id: str, data: bytes, signature: bytes, signed_at: dt.datetime) -> str | None:
        """None when the signature is valid and its key trusted at ``signed_at``; else the problem."""
        key = self._keys.get(key_id)
        if key is None:
            return f"signed by unknown key {key_id!r}"
        try:
            key.public_key.verify(signature, data)
        except InvalidSignature:
            return f"signature by key {key_id!r} does not match"
        if not key.valid_at(signed_at):
            return f"signed at {signed_at.isoformat()} outside the validity of key {key_id!r}"
        return None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def add_trusted_key(path: Path, key_id: str, public_key_b64: str, valid_from: dt.datetime) -> None:
    """Append a public key to the trusted-keys file (created if absent); existing entries are kept."""
    doc = json.loads(path.read_text()) if path.exists() else {"keys": []}
    if any(k["key_id"] == key_id for k in doc["keys"]):
        return
    doc["keys"].append(
        {
            "key_id": key_id,
            "public_key": public_key_b64,
            "valid_from": valid_from.isoformat(),
            "valid_until": None,
        }
    )
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())


def ensure_demo_key(keys_dir: Path | None = None) -> tuple[str, Path]:
    """Create (once) a local DEMO key pair outside the repo; return (key id, private key file).

    The private seed is written with mode 0600 to ``<keys_dir>/demo-signing.key`` as ``key_id seed``;
    its public half is added to ``<keys_dir>/trusted_keys.json`` valid from now (validity is about
    when a record was signed, not the period it covers). Not for production: production keys come from a secrets backend.
    """
    keys_dir = keys_dir or settings.keys_dir()
    key_file = keys_dir / "demo-signing.key"
    if not key_file.exists():
        private = Ed25519PrivateKey.generate()
        public_b64 = _public_b64(private.public_key())
        key_id = "demo-" + base64.b32encode(base64.b64decode(public_b64)).decode()[:8].lower()
        seed = base64.b64encode(private.private_bytes_raw()).decode()
        _write_private(key_file, f"{key_id} {seed}\n")
        add_trusted_key(
            keys_dir / "trusted_keys.json",
            key_id,
            public_b64,
            dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
    key_id = key_file.read_text().split()[0]
    return key_id, key_file


def ensure_demo_pseudonym_key(keys_dir: Path | None = None) -> Path:
    """Create (once) a DEMO HMAC key for pseudonyms, mode 0600, beside the demo signing key."""
    import secrets

    path = (keys_dir or settings.keys_dir()) / "demo-pseudonym.key"
    if not path.exists():
        _write_private(path, secrets.token_hex(32))
    return path
