"""Checkpoints as C2SP signed notes, checked against the published vectors of golang.org/x/mod/sumdb/note
(note_test.go) and c2sp.org/signed-note, so other tools read what aimsflow signs."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aimsflow.evidence.checkpoint import (
    Checkpoint,
    NoteError,
    note_key_hash,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    sign_note,
    verifier_key,
)
from aimsflow.evidence.keys import Signer, TrustedKey, TrustedKeys
from aimsflow.evidence.merkle import EMPTY_ROOT

# golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
# c2sp.org/signed-note's example (the verifier key is published with it in golang.org/x/mod's tests).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
T = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def _go_signer() -> Signer:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Signer.from_seed_b64("peter", base64.b64encode(raw[1:]).decode())


def _public_of(vkey: str) -> bytes:
    raw = base64.b64decode(vkey.split("+", 2)[2])
    assert raw[0] == 1
    return raw[1:]


def test_signing_reproduces_the_published_go_note():
    """Ed25519 is deterministic: the same text and key give the published note byte for byte."""
    signer = _go_signer()
    assert verifier_key("PeterNeumann", base64.b64decode(signer.public_key_b64)) == GO_VKEY
    assert sign_note(GO_TEXT, "PeterNeumann", signer) == GO_NOTE


@pytest.mark.parametrize(("vkey", "note"), [(GO_VKEY, GO_NOTE), (SPEC_VKEY, SPEC_NOTE)])
def test_published_notes_parse_and_their_signatures_verify(vkey, note):
    name, key_hash_hex, _ = vkey.split("+", 2)
    public = _public_of(vkey)
    assert note_key_hash(name, public).hex() == key_hash_hex
    text, [sig] = parse_note(note)
    assert (sig.name, sig.key_hash.hex()) == (name, key_hash_hex)
    Ed25519PublicKey.from_public_bytes(public).verify(sig.signature, text.encode())


def test_note_with_two_signatures_parses_both():
    text, sigs = parse_note(GO_NOTE + ENOCH_SIG)
    assert text == GO_TEXT and [s.name for s in sigs] == ["PeterNeumann", "EnochRoot"]
    assert sigs[1].key_hash.hex() == "af0cfe78"


@pytest.mark.parametrize(
    "bad",
    [
        GO_TEXT,  # no signatures
        GO_TEXT + "\n",  # a blank line and nothing after it
        GO_NOTE[:-1],  # no final newline
        "\x01" + GO_NOTE,  # a control character
        GO_TEXT
        + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        GO_NOTE + "Unexpected line.\n",
        GO_TEXT + "\n— PeterNeumann not*base64\n",
    ],
)
def test_malformed_notes_are_refused(bad):
    """The malformed messages of note_test.go's TestOpen, and a signature that is not base64."""
    with pytest.raises(NoteError):
        parse_note(bad)


def test_checkpoint_text_is_the_c2sp_format():
    root = bytes(range(32))
    checkpoint = Checkpoint("example.com/log", 20852163, root)
    text = checkpoint.text()
    assert text == f"example.com/log\n20852163\n{base64.b64encode(root).decode()}\n"
    assert parse_checkpoint(text) == checkpoint
    assert parse_checkpoint(Checkpoint("o", 0, EMPTY_ROOT).text()).size == 0


@pytest.mark.parametrize(
    "bad",
    [
        "origin\n1\n",  # two lines
        "\n1\n" + base64.b64encode(bytes(32)).decode() + "\n",  # empty origin
        "origin\n01\n" + base64.b64encode(bytes(32)).decode() + "\n",  # leading zero
        "origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n1\n" + base64.b64encode(bytes(31)).decode() + "\n",  # 31 bytes
        "origin\n1\n" + base64.b64encode(bytes(32)).decode() + "\nextension\n",  # extension lines
        "origin\n1\n" + base64.b64encode(bytes(32)).decode(),  # no final newline
    ],
)
def test_malformed_checkpoints_are_refused(bad):
    with pytest.raises(NoteError):
        parse_checkpoint(bad)


def _keys(signer: Signer, valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_until=None) -> TrustedKeys:
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signer.public_key_b64))
    return TrustedKeys([TrustedKey(signer.key_id, public, valid_from, valid_until)])


def test_checkpoint_signed_by_a_trusted_key_opens():
    signer = _go_signer()
    note = sign_note(Checkpoint("aimsflow.test/log", 3, EMPTY_ROOT).text(), "aimsflow.test/log", signer)
    checkpoint, key = open_checkpoint(note, _keys(signer), T)
    assert (checkpoint.origin, checkpoint.size, key.key_id) == ("aimsflow.test/log", 3, "peter")


def test_checkpoint_with_a_wrong_signature_under_a_trusted_key_is_refused():
    """One bit of the Ed25519 signature flipped, name and key hash kept (issue 12: no test had a
    wrong signature under a trusted key)."""
    signer = _go_signer()
    note = sign_note(Checkpoint("aimsflow.test/log", 3, EMPTY_ROOT).text(), "aimsflow.test/log", signer)
    head, _, line = note[:-1].rpartition("\n")
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[20] ^= 0x01
    forged = f"{head}\n— aimsflow.test/log {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(NoteError, match="does not match"):
        open_checkpoint(forged, _keys(signer), T)


def test_checkpoint_refused_when_no_trusted_key_signed_it_under_its_origin():
    signer = _go_signer()
    text = Checkpoint("aimsflow.test/log", 3, EMPTY_ROOT).text()
    rogue = Signer.from_seed_b64("rogue", base64.b64encode(bytes(range(32))).decode())
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        open_checkpoint(sign_note(text, "aimsflow.test/log", rogue), _keys(signer), T)
    with pytest.raises(NoteError, match="not signed by a trusted key"):  # trusted key, other name
        open_checkpoint(sign_note(text, "other.test/log", signer), _keys(signer), T)


def test_checkpoint_key_must_be_valid_at_the_checkpoint_time():
    signer = _go_signer()
    note = sign_note(Checkpoint("o", 1, EMPTY_ROOT).text(), "o", signer)
    keys = _keys(signer, valid_from=T, valid_until=T + dt.timedelta(days=1))
    open_checkpoint(note, keys, T)  # valid_from is inclusive
    with pytest.raises(NoteError, match="outside the validity"):
        open_checkpoint(note, keys, T - dt.timedelta(microseconds=1))
    with pytest.raises(NoteError, match="outside the validity"):
        open_checkpoint(note, keys, T + dt.timedelta(days=1))  # valid_until is exclusive
