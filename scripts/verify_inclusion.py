#!/usr/bin/env python3
"""Check that one aimsflow evidence record is in the transparency log, with nothing but Python 3.

    aimsflow evidence prove RECORD --json > proof.json          (on a machine with aimsflow)
    python3 -I verify_inclusion.py proof.json RECORD/manifest.json [--trusted-keys FILE | --vkey KEY]

Checks, with the standard library only:
  1. the manifest file hashes (SHA-256) to the proof's manifest_sha256: the record's leaf data;
  2. the RFC 6962 audit path leads from that leaf (SHA-256(0x00 || digest)) at leaf_index to the
     root hash of the proof's checkpoint, a C2SP tlog-checkpoint note of tree_size leaves;
  3. with --trusted-keys (aimsflow's trusted-keys JSON) or --vkey (a note verifier key
     <name>+<hex key hash>+<base64(0x01 || public key)>): the checkpoint's Ed25519 signature, by a
     listed key under the checkpoint's origin (pure-Python Ed25519 of RFC 8032, section 6).

Not checked here (full `aimsflow evidence verify` does): the keys' validity windows at the
checkpoint's time, the rest of the log, the record's own files and signature, and the witness. Without
3 the checkpoint itself is unauthenticated: compare its root with one you trust (your witness's).

Exit status: 0 the record is in the log; 1 it is not, or a check failed (reason on stderr);
2 usage error or unreadable input.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys

# --- BEGIN shared stdlib verification ---------------------------------------------------------------
# Ed25519 verification (RFC 8032, section 6), RFC 6962 / RFC 9162 proofs and C2SP signed notes, with
# the standard library only. One source: include/aimsflow/audit/verify_bundle.py (the bundle's
# checker); `python -m aimsflow.audit.bundle --sync-scripts` copies it into scripts/verify_inclusion.py.
P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % P
    y = (a[1] + a[0]) * (b[1] + b[0]) % P
    c = 2 * a[3] * b[3] * D % P
    d = 2 * a[2] * b[2] % P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(s, point):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, point)
        point = _add(point, point)
        s >>= 1
    return acc


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
G = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, G), _add(r, _mul(h, a)))


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("audit path is too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("audit path is too short")
    return r


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]):
    """RFC 9162 section 2.1.4.2; raises ValueError unless the tree ``new_root`` extends ``old_root``."""
    if old_size < 0 or new_size < old_size:
        raise ValueError(f"tree size went down from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ValueError(f"consistency proof from size {old_size} to {new_size} must be empty")
        if old_size == new_size and old_root != new_root:
            raise ValueError(f"two different roots for the same tree size {new_size}")
        return
    if not proof:
        raise ValueError("empty consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("consistency proof is shorter than needed")
    if fr != old_root:
        raise ValueError(f"consistency proof does not lead to the old root (size {old_size})")
    if sr != new_root:
        raise ValueError(f"consistency proof does not lead to the new root (size {new_size})")


def parse_checkpoint_note(note: str) -> tuple[str, str, int, bytes, list[tuple[str, bytes, bytes]]]:
    """(text, origin, size, root, [(key name, key hash, signature)])."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise ValueError("checkpoint is not a signed note")
    text, sigs = note[: cut + 1], []
    for line in note[cut + 2 :].splitlines():
        dash, name, blob = line.split(" ")
        raw = base64.b64decode(blob, validate=True)
        if dash != "\u2014" or len(raw) < 5:
            raise ValueError(f"malformed signature line {line!r}")
        sigs.append((name, raw[:4], raw[4:]))
    origin, size, root, rest = text.split("\n", 3)
    if rest or not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise ValueError("checkpoint text is not origin, tree size, root hash")
    digest = base64.b64decode(root, validate=True)
    if len(digest) != 32:
        raise ValueError("checkpoint root hash is not 32 bytes")
    return text, origin, int(size), digest, sigs


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]


# --- END shared stdlib verification ---


def trusted_publics(args) -> list[tuple[str | None, bytes]]:
    """(key name or None for "the checkpoint's origin", public key) of the keys to check against."""
    if args.vkey:
        name, hash_hex, encoded = args.vkey.split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
        if raw[0] != 1 or len(raw) != 33 or key_hash(name, raw[1:]).hex() != hash_hex:
            raise ValueError(f"--vkey {args.vkey!r} is not an Ed25519 note verifier key")
        return [(name, raw[1:])]
    with open(args.trusted_keys, encoding="utf-8") as fh:
        return [(None, base64.b64decode(k["public_key"], validate=True)) for k in json.load(fh)["keys"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("proof", help="the JSON of `aimsflow evidence prove RECORD --json`")
    parser.add_argument("manifest", help="the record's manifest.json")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--trusted-keys", help="aimsflow trusted-keys JSON: also check the checkpoint's signature"
    )
    keys.add_argument("--vkey", help="a note verifier key: also check the checkpoint's signature")
    args = parser.parse_args(argv)
    try:
        with open(args.proof, encoding="utf-8") as fh:
            proof = json.load(fh)
        with open(args.manifest, "rb") as fh:
            digest = hashlib.sha256(fh.read()).digest()
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
        text, origin, cp_size, root, sigs = parse_checkpoint_note(proof["checkpoint"])
        publics = trusted_publics(args) if args.trusted_keys or args.vkey else None
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        print(f"verify_inclusion: cannot read input: {exc}", file=sys.stderr)
        return 2
    if digest.hex() != proof["manifest_sha256"]:
        print(f"NOT IN LOG: {args.manifest} hashes to {digest.hex()}, not the proof's leaf", file=sys.stderr)
        return 1
    if cp_size != size:
        print(f"NOT IN LOG: the checkpoint is of {cp_size} leaves, the proof of {size}", file=sys.stderr)
        return 1
    try:
        computed = root_from_inclusion(index, size, hashlib.sha256(b"\x00" + digest).digest(), path)
    except ValueError as exc:
        print(f"NOT IN LOG: {exc}", file=sys.stderr)
        return 1
    if computed != root:
        print("NOT IN LOG: the audit path does not lead to the checkpoint's root hash", file=sys.stderr)
        return 1
    signed = ", checkpoint signature NOT checked (pass --trusted-keys or --vkey)"
    if publics is not None:
        good = [
            name
            for name, kh, sig in sigs
            for want, public in publics
            if name == (want or origin)
            and kh == key_hash(name, public)
            and ed25519_verify(public, text.encode(), sig)
        ]
        if not good:
            print(f"NOT VERIFIED: no listed key signed the checkpoint of {origin}", file=sys.stderr)
            return 1
        signed = f", checkpoint signature verified ({good[0]})"
    print(f"OK: {proof.get('record', args.manifest)} is leaf {index} of {origin} at tree size {size}{signed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
