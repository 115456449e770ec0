"""Reading a record only after its signature verifies.

Every reader that decides something from records (risk signals, the nonconformity ledger, custody,
retention planning, sealing) goes through :func:`read_verified`: a folder whose envelope does not
verify against the trusted keys, at the time the caller judges it by, is an :class:`UntrustedRecord`
and is reported, never counted. Verify uses :func:`check_signature` for records and seals alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from aimsflow.evidence.dsse import PAYLOAD_TYPE, pae, parse_envelope
from aimsflow.evidence.keys import TrustedKeys
from aimsflow.evidence.record import ENVELOPE, MANIFEST
from aimsflow.evidence.storage import Storage


class UntrustedRecord(ValueError):
    """A record folder that must not be acted on: unreadable, unsigned or wrongly signed."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class VerifiedRecord:
    key: str
    manifest: bytes
    predicate: dict[str, Any]


def check_signature(
    envelope: bytes, body: bytes, payload_type: str, keys: TrustedKeys, signed_at: dt.datetime
) -> str | None:
    """None when ``envelope`` signs exactly ``body`` with a key trusted at ``signed_at``; else the problem."""
    try:
        ptype, payload, signatures = parse_envelope(envelope)
    except ValueError as exc:
        return str(exc)
    if ptype != payload_type:
        return f"envelope payloadType {ptype!r}, expected {payload_type!r}"
    if payload != body:
        return "signed payload differs from the stored file (edited after signing)"
    if not signatures:
        return "envelope carries no signature"
    problems = []
    for sig in signatures:
        try:
            problem = keys.check(sig["keyid"], pae(ptype, payload), base64.b64decode(sig["sig"]), signed_at)
        except (KeyError, ValueError, TypeError) as exc:
            problem = f"malformed signature entry: {exc!r}"
        if problem is None:
            return None
        problems.append(problem)
    return "; ".join(problems)


def read_verified(
    storage: Storage, key: str, keys: TrustedKeys, judged_at: dt.datetime | None = None
) -> VerifiedRecord:
    """The manifest of ``key`` once its DSSE signature verifies; raises :class:`UntrustedRecord`.

    ``judged_at`` is the moment key validity is judged at: the time of the checkpoint that first
    included the record when it is sealed, else now — never the record's own, self-declared
    ``ended_at``, which a retired or stolen key would backdate into its window (found in review).
    File hashes are not re-computed here: that is verify's job."""
    try:
        manifest = storage.get(f"{key}/{MANIFEST}")
        envelope = storage.get(f"{key}/{ENVELOPE}")
    except OSError as exc:
        raise UntrustedRecord(key, f"unreadable record: {exc.strerror or exc}") from None
    try:
        predicate = json.loads(manifest)["predicate"]
        dt.datetime.fromisoformat(predicate["ended_at"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UntrustedRecord(key, f"unreadable manifest: {exc!r}") from None
    judged_at = judged_at or dt.datetime.now(dt.UTC)
    problem = check_signature(envelope, manifest, PAYLOAD_TYPE, keys, judged_at)
    if problem is not None:
        raise UntrustedRecord(key, problem)
    return VerifiedRecord(key, manifest, predicate)
