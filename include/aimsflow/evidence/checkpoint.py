"""Checkpoints: the log's signed tree heads, as C2SP ``tlog-checkpoint`` signed notes.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` (c2sp.org/tlog-checkpoint),
followed by a blank line and one signature line ``— <key name> <base64(key hash || Ed25519 signature)>``
(c2sp.org/signed-note): the key name is the origin (the spec's SHOULD), the 4-byte key hash is
``SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]`` and the signature covers the note text.
So any signed-note or checkpoint tool (golang.org/x/mod/sumdb/note, transparency-dev/formats, a
witness) reads them, given the verifier key :func:`verifier_key` prints.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from aimsflow.evidence.keys import Signer, TrustedKey, TrustedKeys

EM_DASH = "\u2014"
SIG_ED25519 = 0x01
_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """A malformed note or checkpoint, or one no trusted key signed."""


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash (key ID) of an Ed25519 key under ``name`` (c2sp.org/signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([SIG_ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string of golang.org/x/mod/sumdb/note: ``<name>+<hex key hash>+<base64(0x01 || key)>``."""
    encoded = base64.b64encode(bytes([SIG_ED25519]) + public_key).decode()
    return f"{name}+{note_key_hash(name, public_key).hex()}+{encoded}"


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r}: must be non-empty, without spaces or '+'")
    return name


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text holds a control character")


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes


def sign_note(text: str, name: str, signer: Signer) -> str:
    """``text`` as a signed note with one Ed25519 signature line by ``signer`` under ``name``."""
    _check_text(text)
    check_key_name(name)
    public = base64.b64decode(signer.public_key_b64)
    blob = note_key_hash(name, public) + signer.sign(text.encode())
    return f"{text}\n{EM_DASH} {name} {base64.b64encode(blob).decode()}\n"


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """(text, signatures) of a signed note; raises :class:`NoteError` when it is malformed. The text
    ends at the last blank line; every line after it must be a signature line."""
    if not note.endswith("\n"):
        raise NoteError("note must end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    signatures = []
    for line in block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise NoteError(f"malformed signature line {line!r}")
        name = check_key_name(parts[1])
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"signature of {name!r} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"signature of {name!r} is too short")
        signatures.append(NoteSignature(name, blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("note carries no signature")
    return text, signatures


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The origin, tree size and root hash of checkpoint note text; extension lines are refused (this
    log writes none, so one would be an addition)."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError("checkpoint text must be exactly three lines: origin, tree size, root hash")
    origin, size, root = lines[:3]
    if not origin:
        raise NoteError("checkpoint origin is empty")
    if not _SIZE.fullmatch(size):
        raise NoteError(f"checkpoint tree size {size!r} is not a decimal without leading zeroes")
    try:
        digest = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"checkpoint root hash {root!r} is not base64") from None
    if len(digest) != 32 or base64.b64encode(digest).decode() != root:
        raise NoteError(f"checkpoint root hash {root!r} is not the base64 of 32 bytes")
    return Checkpoint(origin, int(size), digest)


def open_checkpoint(note: str, keys: TrustedKeys, signed_at: dt.datetime) -> tuple[Checkpoint, TrustedKey]:
    """The checkpoint of a signed note once a trusted key, valid at ``signed_at`` (the checkpoint's
    time), signed it under the checkpoint's origin; raises :class:`NoteError`.

    As c2sp.org/signed-note asks: signatures by unknown keys are ignored, a signature by a known key
    (name and key hash match) that does not verify rejects the note, and a note without a verified
    signature by a known key is rejected."""
    text, signatures = parse_note(note)
    checkpoint = parse_checkpoint(text)
    verified: TrustedKey | None = None
    for sig in signatures:
        if sig.name != checkpoint.origin:
            continue
        key = next((k for k in keys if note_key_hash(sig.name, k.public_raw) == sig.key_hash), None)
        if key is None:
            continue
        problem = keys.check(key.key_id, text.encode(), sig.signature, signed_at)
        if problem is not None:
            raise NoteError(f"checkpoint signature: {problem}")
        verified = key
    if verified is None:
        raise NoteError(
            f"checkpoint is not signed by a trusted key under its origin {checkpoint.origin!r} "
            f"(signed by {', '.join(sorted({s.name + '+' + s.key_hash.hex() for s in signatures}))})"
        )
    return checkpoint, verified
