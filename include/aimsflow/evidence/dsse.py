"""DSSE envelopes (Dead Simple Signing Envelope, as used by in-toto): the signature covers
``PAE(payloadType, payload)`` where payload is exactly the stored manifest bytes."""

from __future__ import annotations

import base64
import json
from typing import Any

from aimsflow.evidence.keys import Signer

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding, DSSE v1."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign_envelope(payload: bytes, signer: Signer, payload_type: str = PAYLOAD_TYPE) -> bytes:
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {
                "keyid": signer.key_id,
                "sig": base64.b64encode(signer.sign(pae(payload_type, payload))).decode(),
            }
        ],
    }
    return (json.dumps(envelope, indent=2) + "\n").encode()


def parse_envelope(data: bytes) -> tuple[str, bytes, list[dict[str, Any]]]:
    """(payloadType, payload bytes, signatures); raises ValueError on a malformed envelope."""
    try:
        env = json.loads(data)
        return env["payloadType"], base64.b64decode(env["payload"], validate=True), list(env["signatures"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"malformed DSSE envelope: {exc!r}") from None
