#!/usr/bin/env python3
"""Verify an aimsflow evidence bundle offline, with the Python standard library only (3.11 or later).

    unzip bundle.zip
    cd aimsflow-bundle-*/
    python3 -I verify_bundle.py [--trusted-keys YOUR_COPY.json | --keys-sha256 HEX] [--json]

For every record in the bundle (records/ and the sample record in sample/) it checks:
  files      every file hashes (SHA-256) to the value and size its manifest lists, and no other
             file lies in the record folder; the folder is where the manifest puts it;
  signature  the manifest's DSSE envelope signs exactly manifest.json, with Ed25519, by a trusted
             key valid at the time of the seal that took the record into the log (the record must
             also have ended by then);
  seal       that seal (seals/<n>/) is signed by a trusted key valid at its own time and lists the
             record's leaf (record key and manifest SHA-256) at the proof's position;
  inclusion  the RFC 6962 audit path (proofs/<record key>.json) leads from the record's leaf,
             SHA-256(0x00 || SHA-256(manifest.json)), to the root of its checkpoint, a C2SP signed
             note signed by a trusted key valid at that checkpoint's seal time;
  witness    that checkpoint is the one the witness accepted (witness/witness.json), or an earlier
             one a consistency proof (RFC 9162 2.1.4.2) leads from, to the witness's tree;
  sample     the record is one the sample drew, with the same manifest SHA-256; the sample record
             itself passes all of the above and its draw re-computes from its population.tsv
             (method sha256-rank/1: see README.txt);
  spec       every spec the manifest names is in specs/sha256/ and hashes to its name.
For the bundle as a whole: bundle.json lists every other file of the bundle (README.txt, index.html,
index.json, pages/, this checker, records, proofs, seals, witness, keys, specs) with its SHA-256, and
bundle.dsse.json signs it by a trusted key valid at the witness's checkpoint; any file that differs
from, is missing from, or is not in that list is reported.
It prints one verdict per record (OK or FAILED with the reasons), then a summary.

Trust: the keys checked against come from keys/trusted_keys.json INSIDE the bundle unless you pin
them: --trusted-keys FILE uses your own copy of the organisation's trusted keys (any key the bundle
lists that FILE does not, or lists differently, is reported as foreign), --keys-sha256 HEX requires
the bundle's key file to have that SHA-256 (the fingerprint the organisation gave you out of band).
Without a pin, whoever altered the bundle could have altered its keys too: the verdict is then
NOT PINNED, never OK. Get the fingerprint (and this checker's SHA-256) from the organisation through
another channel than the bundle.

Exit status: 0 OK: everything verifies against pinned keys; 1 a record, the sample or the bundle
failed a check (each reason printed); 2 usage error, or the folder is not a readable bundle;
3 NOT PINNED: everything verifies, but only against the bundle's own keys (pin them).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

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

BUNDLE_FORMAT = "aimsflow-bundle/1"
PROOF_FORMAT = "aimsflow-bundle-proof/1"
RECORD_PAYLOAD_TYPE = "application/vnd.in-toto+json"
SEAL_PAYLOAD_TYPE = "application/vnd.aimsflow.seal+json"
SEAL_FORMAT_2 = "aimsflow-seal/2"
SAMPLE_CHECK = "evidence_sample/sample"
SAMPLE_METHOD = "sha256-rank/1"
MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
POPULATION = "population.tsv"
KEYS_FILE = "keys/trusted_keys.json"
WITNESS_FILE = "witness/witness.json"
SPECS_DIR = "specs/sha256"
BUNDLE_MANIFEST = "bundle.json"
BUNDLE_ENVELOPE = "bundle.dsse.json"
BUNDLE_MANIFEST_FORMAT = "aimsflow-bundle-manifest/1"
BUNDLE_PAYLOAD_TYPE = "application/vnd.aimsflow.bundle+json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_PINNED = 0, 1, 2, 3
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: What malformed input raises: reported as a problem, never a traceback.
BROKEN = (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError)

# Problem codes a verdict names (README.txt explains each).
CODES = {
    "unreadable": "a record file, its manifest or envelope is missing or not what the format says",
    "misplaced": "the record folder is not where its manifest puts it",
    "file-missing": "a file the manifest lists is not in the record folder",
    "file-changed": "a file differs (SHA-256 or size) from what the signed manifest lists",
    "file-unlisted": "a file in the record folder is not listed in the signed manifest",
    "signature": "the manifest's DSSE signature does not verify under a trusted key valid at the seal time",
    "proof-missing": "the record has no inclusion proof in proofs/",
    "proof-invalid": "the inclusion proof does not lead from the record's leaf to its checkpoint's root, or the"
    " seal lists another manifest or another place for the record",
    "seal": "a seal or checkpoint the proof names is missing or does not verify",
    "witness": "the record's checkpoint is not (consistent with) the one the witness accepted",
    "not-in-sample": "the record is not one the sample drew (or another version of it)",
    "sample": "the sample record's draw does not re-compute from its population and parameters",
    "missing": "the sample drew the record but the bundle does not hold it",
    "spec": "a spec the manifest names is not in specs/sha256/, or its content there does not hash to its name",
    "bundle-manifest": "bundle.json is missing or malformed, or bundle.dsse.json does not sign it by a trusted"
    " key valid at the witness's checkpoint, or it names another sample or witness",
    "bundle-file": "a file of the bundle (a page, index.html, README.txt, ...) differs from, is missing from,"
    " or is not in the signed bundle.json",
    "index": "index.json (what index.html and the pages show) says something the signed manifest does not",
    "foreign-key": "the bundle's trusted keys are not the ones you pinned (--trusted-keys, --keys-sha256)",
}


class Problem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _time(value) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the draw: aimsflow.audit.sample imports these, so the tool and this checker draw alike ---------
def rank_hash(seed: str, key: str) -> str:
    """SHA-256 (hex) of the UTF-8 seed, one newline (0x0A) and the UTF-8 record key:
    ``printf '%s\\n%s' "$SEED" "$KEY" | sha256sum``."""
    return hashlib.sha256(seed.encode("utf-8") + b"\n" + key.encode("utf-8")).hexdigest()


def draw(population, seed: str, n: int, per_control: int | None = None, scope=None) -> list[dict]:
    """The sample (method sha256-rank/1) of ``population``, pairs (record key, controls).

    Every record is ranked by its rank hash (ascending, ties by key). With ``per_control`` K, for
    every control of ``scope`` the K lowest-ranked records carrying it are drawn (all of them when
    it has fewer). Then records are drawn in rank order until at least ``n`` are drawn (all of the
    population when it is smaller). The result, in rank order, does not depend on the order of
    ``population`` or ``scope``; it can exceed ``n`` when the strata alone need more."""
    keys = [key for key, _ in population]
    if len(set(keys)) != len(keys):
        raise ValueError("the population lists a record twice")
    ranked = sorted((rank_hash(seed, key), key, tuple(controls)) for key, controls in population)
    chosen: dict[str, list[str]] = {}
    if per_control:
        for control in sorted(set(scope or ())):
            for _, key, _ in [r for r in ranked if control in r[2]][:per_control]:
                chosen.setdefault(key, []).append(control)
    for _, key, _ in ranked:
        if len(chosen) >= n:
            break
        chosen.setdefault(key, [])
    return [
        {"record": key, "rank": place, "rank_hash": h, "controls": list(controls), "strata": chosen[key]}
        for place, (h, key, controls) in enumerate(ranked, 1)
        if key in chosen
    ]


def read_population(data: bytes) -> list[tuple[str, str, list[str], str]]:
    """Lines of population.tsv: (record key, manifest SHA-256, controls, rank hash); '#' lines skipped."""
    rows = []
    for line in data.decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        key, manifest_sha, controls, rank = line.split("\t")
        rows.append((key, manifest_sha, [c for c in controls.split(",") if c], rank))
    return rows


# --- trust ---------------------------------------------------------------------------------------
class Trust:
    """Trusted public keys with their validity windows ``[valid_from, valid_until)``."""

    def __init__(self, doc):
        self.keys = {}
        for entry in doc["keys"]:
            public = base64.b64decode(entry["public_key"], validate=True)
            if len(public) != 32:
                raise ValueError(f"key {entry['key_id']!r}: public key is not 32 bytes")
            until = entry.get("valid_until")
            self.keys[entry["key_id"]] = (public, _time(entry["valid_from"]), _time(until) if until else None)

    def _valid(self, key_id: str, at: dt.datetime) -> str | None:
        _, since, until = self.keys[key_id]
        if since <= at and (until is None or at < until):
            return None
        window = f"{since.isoformat()} .. {until.isoformat() if until else 'open'}"
        return f"key {key_id!r} was not valid at {at.isoformat()} (valid {window})"

    def check_dsse(self, envelope: bytes, body: bytes, payload_type: str, at: dt.datetime) -> str | None:
        """None when ``envelope`` signs exactly ``body`` under a key valid at ``at``; else the problem."""
        try:
            env = json.loads(envelope)
            ptype, payload = env["payloadType"], base64.b64decode(env["payload"], validate=True)
            signatures = list(env["signatures"])
        except BROKEN as exc:
            return f"malformed DSSE envelope: {exc!r}"
        if ptype != payload_type:
            return f"envelope payloadType {ptype!r}, expected {payload_type!r}"
        if payload != body:
            return "signed payload differs from the stored file (edited after signing)"
        t = ptype.encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
        problems = []
        for sig in signatures:
            try:
                key_id, raw = sig["keyid"], base64.b64decode(sig["sig"], validate=True)
            except BROKEN as exc:
                problems.append(f"malformed signature entry: {exc!r}")
                continue
            if key_id not in self.keys:
                problems.append(f"signed by key {key_id!r}, which is not a trusted key")
            elif not ed25519_verify(self.keys[key_id][0], pae, raw):
                problems.append(f"signature by key {key_id!r} does not match")
            elif self._valid(key_id, at):
                problems.append(f"signed by {self._valid(key_id, at)}")
            else:
                return None
        return "; ".join(problems) or "envelope carries no signature"

    def check_note(self, text: str, origin: str, sigs, at: dt.datetime) -> str | None:
        """None when a trusted key valid at ``at`` signed the note under its origin (c2sp signed-note:
        signatures by unknown keys are ignored, a failing one by a known key rejects the note)."""
        verified = None
        for name, kh, signature in sigs:
            if name != origin:
                continue
            key_id = next((k for k, v in self.keys.items() if key_hash(name, v[0]) == kh), None)
            if key_id is None:
                continue
            if not ed25519_verify(self.keys[key_id][0], text.encode(), signature):
                return f"checkpoint signature by key {key_id!r} does not verify"
            if self._valid(key_id, at):
                return f"checkpoint signed by {self._valid(key_id, at)}"
            verified = key_id
        return None if verified else f"checkpoint of {origin!r} is not signed by a trusted key"


# --- seals, witness, records -------------------------------------------------------------------
class Seal:
    def __init__(self, sequence, doc, sealed_at, note_size=None, note_root=None, note=None):
        self.sequence, self.doc, self.sealed_at = sequence, doc, sealed_at
        self.leaves = [(str(leaf["record"]), str(leaf["manifest_sha256"])) for leaf in doc["leaves"]]
        self.format2 = doc.get("format") == SEAL_FORMAT_2
        self.tree_size, self.root, self.note = note_size, note_root, note


class Bundle:
    def __init__(self, root: Path, trust: Trust):
        self.root, self.trust = root, trust
        self._seals: dict[int, Seal | Problem] = {}

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def seal(self, sequence) -> Seal:
        """Seal ``sequence`` once it verifies (cached); raises :class:`Problem` (code ``seal``)."""
        if not isinstance(sequence, int) or sequence < 1:
            raise Problem("seal", f"seal sequence {sequence!r} is not a positive integer")
        if sequence not in self._seals:
            try:
                self._seals[sequence] = self._load_seal(sequence)
            except Problem as exc:
                self._seals[sequence] = exc
        found = self._seals[sequence]
        if isinstance(found, Problem):
            raise found
        return found

    def _load_seal(self, sequence: int) -> Seal:
        where = f"seals/{sequence:08d}"
        try:
            body, envelope = self.read(f"{where}/seal.json"), self.read(f"{where}/seal.dsse.json")
            doc = json.loads(body)
            sealed_at = _time(doc["sealed_at"])
            seal = Seal(sequence, doc, sealed_at)
        except BROKEN as exc:
            raise Problem("seal", f"{where}: unreadable seal: {exc}") from None
        if doc.get("sequence") != sequence:
            raise Problem("seal", f"{where}: seal says sequence {doc.get('sequence')!r}")
        problem = self.trust.check_dsse(envelope, body, SEAL_PAYLOAD_TYPE, sealed_at)
        if problem:
            raise Problem("seal", f"{where}: seal signature: {problem}")
        if not seal.format2:
            return seal
        try:
            note = self.read(f"{where}/checkpoint").decode("utf-8")
            text, origin, size, root, sigs = parse_checkpoint_note(note)
            stated = (int(doc["tree_size"]), bytes.fromhex(doc["root_hash"]), doc["checkpoint"])
            before = int(doc["tree_size_before"])
        except BROKEN as exc:
            raise Problem("seal", f"{where}: unreadable checkpoint: {exc}") from None
        if (size, root, text) != stated or size != before + len(seal.leaves):
            raise Problem("seal", f"{where}: checkpoint does not match the seal body")
        problem = self.trust.check_note(text, origin, sigs, sealed_at)
        if problem:
            raise Problem("seal", f"{where}: {problem}")
        seal.tree_size, seal.root, seal.note = size, root, note
        return seal

    def witness(self) -> Seal:
        """The seal whose checkpoint the witness accepted, once witness.json names it exactly."""
        try:
            doc = json.loads(self.read(WITNESS_FILE))
            sequence, note = int(doc["sequence"]), doc["checkpoint"]
            size, root = int(doc["tree_size"]), bytes.fromhex(doc["root_hash"])
        except BROKEN as exc:
            raise Problem("witness", f"{WITNESS_FILE}: unreadable witness state: {exc}") from None
        if not note:
            raise Problem("witness", f"{WITNESS_FILE}: the witness holds no checkpoint")
        try:
            seal = self.seal(sequence)
        except Problem as exc:
            raise Problem("witness", f"the witness's seal does not verify: {exc.message}") from None
        if seal.note != note or (seal.tree_size, seal.root) != (size, root):
            raise Problem(
                "witness",
                f"{WITNESS_FILE}: the witness's checkpoint is not the checkpoint of seal {sequence}",
            )
        return seal


def record_key_of(predicate) -> str:
    parts = [_SAFE.sub("_", p) for p in str(predicate["check"]).split("/") if p]
    return "/".join(["records", str(predicate["period"]["label"]), *parts, str(predicate["record_id"])])


def record_folders(root: Path, top: str) -> tuple[list[str], list[str]]:
    """(record keys below ``root/top``: folders holding a manifest or an envelope, files outside any)."""
    base = root / top
    if not base.is_dir():
        return [], []
    folders = sorted(
        {p.parent for name in (MANIFEST, ENVELOPE) for p in base.rglob(name) if p.is_file()}, key=str
    )
    keys = [f.relative_to(base).as_posix() for f in folders]
    stray = [
        p.relative_to(root).as_posix()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not any(f in p.parents for f in folders)
    ]
    return keys, stray


def check_record(
    bundle: Bundle, folder: Path, key: str, witness: Seal | Problem
) -> tuple[dict, list[Problem]]:
    """The predicate of the record ``key`` stored in ``folder``, and its problems (none: it verifies)."""
    problems: list[Problem] = []
    try:
        manifest, envelope = (folder / MANIFEST).read_bytes(), (folder / ENVELOPE).read_bytes()
        predicate = json.loads(manifest)["predicate"]
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in predicate["files"]}
        ended_at = _time(predicate["ended_at"])
        placed = record_key_of(predicate)
    except BROKEN as exc:
        return {}, [Problem("unreadable", f"manifest or envelope unreadable: {exc}")]
    if placed != key:
        problems.append(Problem("misplaced", f"the manifest names the record {placed}"))
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {
        MANIFEST,
        ENVELOPE,
    }
    for path in sorted(listed):
        sha, size = listed[path]
        if path not in present:
            problems.append(Problem("file-missing", f"{path} is listed in the manifest but missing"))
            continue
        data = (folder / path).read_bytes()
        if _sha256(data) != sha or len(data) != size:
            problems.append(
                Problem("file-changed", f"{path} differs from the SHA-256 in the signed manifest")
            )
    for path in sorted(present - set(listed)):
        problems.append(Problem("file-unlisted", f"{path} is not listed in the signed manifest"))
    digest = hashlib.sha256(manifest).digest()
    try:
        proof = json.loads(bundle.read(f"proofs/{key}.json"))
    except FileNotFoundError:
        problems.append(
            Problem("proof-missing", f"no proofs/{key}.json: nothing shows the record is in the log")
        )
        return predicate, problems
    except BROKEN as exc:
        problems.append(Problem("proof-invalid", f"proofs/{key}.json unreadable: {exc}"))
        return predicate, problems
    try:
        if proof.get("format") != PROOF_FORMAT or proof.get("record") != key:
            raise ValueError(f"not the {PROOF_FORMAT} proof of this record")
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
        sealed_in, checkpoint_seal = proof["sealed_in"], proof["checkpoint_seal"]
        to_witness = [bytes.fromhex(h) for h in proof["consistency_to_witness"]]
    except BROKEN as exc:
        problems.append(Problem("proof-invalid", f"proofs/{key}.json: {exc}"))
        return predicate, problems
    if proof.get("manifest_sha256") != digest.hex():
        problems.append(Problem("proof-invalid", "the proof is for another manifest (SHA-256 differs)"))
    # The seal that took the record in: its time is when the record's key must have been valid.
    try:
        seal: Seal | None = bundle.seal(sealed_in)
    except Problem as exc:
        problems.append(exc)
        seal = None
    if seal is not None:
        problem = bundle.trust.check_dsse(envelope, manifest, RECORD_PAYLOAD_TYPE, seal.sealed_at)
        if problem:
            problems.append(Problem("signature", f"manifest signature: {problem}"))
        if ended_at > seal.sealed_at:
            problems.append(Problem("signature", "the record ended after the seal that took it in"))
        listed = dict(seal.leaves).get(key)
        if listed is None:
            problems.append(Problem("proof-invalid", f"seal {sealed_in} does not list this record"))
        elif listed != digest.hex():
            problems.append(
                Problem(
                    "proof-invalid",
                    f"seal {sealed_in} took in another manifest of this record (changed since)",
                )
            )
        elif seal.format2:
            before = int(seal.doc["tree_size_before"])
            if not before <= index < seal.tree_size or seal.leaves[index - before] != (key, listed):
                problems.append(
                    Problem("proof-invalid", f"leaf {index} is not this record's place in seal {sealed_in}")
                )
    # Inclusion in the checkpoint, and that checkpoint against the witness's.
    try:
        checkpoint = bundle.seal(checkpoint_seal)
        if not checkpoint.format2 or checkpoint.tree_size != size:
            raise Problem("proof-invalid", f"seal {checkpoint_seal} has no checkpoint of tree size {size}")
        leaf = hashlib.sha256(b"\x00" + digest).digest()
        try:
            if root_from_inclusion(index, size, leaf, path) != checkpoint.root:
                raise ValueError("the audit path does not lead to the checkpoint's root hash")
        except ValueError as exc:
            problems.append(Problem("proof-invalid", f"inclusion: {exc}"))
        if isinstance(witness, Problem):
            problems.append(Problem("witness", witness.message))
        else:
            try:
                verify_consistency(size, witness.tree_size, checkpoint.root, witness.root, to_witness)
            except ValueError as exc:
                problems.append(
                    Problem(
                        "witness",
                        f"checkpoint of seal {checkpoint_seal} (size {size}) is not consistent with the "
                        f"witness's (seal {witness.sequence}, size {witness.tree_size}): {exc}",
                    )
                )
    except Problem as exc:
        problems.append(exc)
    return predicate, problems


def checked_record(
    bundle: Bundle, folder: Path, key: str, witness: Seal | Problem
) -> tuple[dict, list[Problem]]:
    """:func:`check_record`, with anything malformed it did not foresee reported, not raised."""
    try:
        return check_record(bundle, folder, key, witness)
    except BROKEN as exc:
        return {}, [Problem("unreadable", f"malformed record or proof: {exc!r}")]


def sample_problems(bundle: Bundle, predicate, key: str) -> list[Problem]:
    """The sample record's own checks beyond any record's: its kind and its draw."""
    if predicate.get("check") != SAMPLE_CHECK:
        return [Problem("sample", f"{key} is a {predicate.get('check')!r} record, not a sample")]
    summary = predicate.get("summary") or {}
    try:
        if summary.get("method") != SAMPLE_METHOD:
            raise ValueError(f"unknown sampling method {summary.get('method')!r}")
        rows = read_population(bundle.read(f"sample/{key}/{POPULATION}"))
        again = draw(
            [(k, c) for k, _, c, _ in rows],
            summary["seed"],
            int(summary["n"]),
            summary.get("per_control"),
            summary.get("controls_in_scope"),
        )
        manifests = {k: m for k, m, _, _ in rows}
        expected = [(d["record"], manifests[d["record"]], d["rank_hash"]) for d in again]
        stated = [(d["record"], d["manifest_sha256"], d["rank_hash"]) for d in summary["drawn"]]
        if len(rows) != summary["population"]["size"]:
            raise ValueError(
                f"population.tsv lists {len(rows)} records, the sample says {summary['population']['size']}"
            )
        if any(rank != rank_hash(summary["seed"], k) for k, _, _, rank in rows):
            raise ValueError("a rank hash in population.tsv is not SHA-256(seed, newline, key)")
    except BROKEN as exc:
        return [Problem("sample", f"the draw cannot be re-computed: {exc}")]
    if expected != stated:
        return [Problem("sample", "the drawn records are not what the method draws from population.tsv")]
    return []


def _as_index(predicate) -> dict:
    """The fields of index.json's trace of a record that repeat its signed manifest."""
    return {
        "check": predicate.get("check"),
        "status": predicate.get("status"),
        "controls": list(predicate.get("controls") or []),
        "inputs": [(i.get("uri"), i.get("sha256")) for i in predicate.get("inputs") or []],
        "specs": [(s.get("path"), s.get("sha256")) for s in predicate.get("specs") or []],
        "code": predicate.get("code") or {},
        "lineage": (predicate.get("openlineage") or {}).get("run_id"),
    }


def index_problems(root: Path, predicates: dict) -> list[Problem]:
    """index.json must describe every record of the bundle as its signed manifest does."""
    try:
        index = json.loads((root / "index.json").read_bytes())
        entries = [index["sample_record"], *index["records"]]
        stated = {
            e["record"]: (
                e["manifest_sha256"],
                {
                    "check": e["check"],
                    "status": e["status"],
                    "controls": [c["id"] for c in e["controls"]],
                    "inputs": [(i["uri"], i["sha256"]) for i in e["inputs"]],
                    "specs": [(s["path"], s["sha256"]) for s in e["specs"]],
                    "code": e["code"],
                    "lineage": (e["lineage"] or {}).get("run_id"),
                },
            )
            for e in entries
        }
    except BROKEN as exc:
        return [Problem("index", f"index.json unreadable: {exc!r}")]
    problems = []
    for key in sorted(set(stated) - set(predicates)):
        problems.append(Problem("index", f"index.json describes {key}, which the bundle does not verify"))
    for key, (digest, predicate) in sorted(predicates.items()):
        if key not in stated:
            problems.append(Problem("index", f"index.json does not describe {key}"))
            continue
        want = _as_index(predicate)
        wrong = [f for f in want if want[f] != stated[key][1][f]]
        if stated[key][0] != digest:
            wrong.insert(0, "manifest_sha256")
        if wrong:
            problems.append(
                Problem("index", f"index.json's {', '.join(wrong)} of {key} differ from its manifest")
            )
    return problems


def spec_problems(root: Path, predicate) -> list[Problem]:
    """Every spec the record's manifest names is in the bundle, under its SHA-256, with content that
    hashes to it (the manifest signs the hash, not the content)."""
    problems = []
    for spec in predicate.get("specs") or []:
        sha, name = str(spec.get("sha256")), spec.get("path")
        if not _HEX64.match(sha):
            problems.append(Problem("spec", f"spec {name}: {sha!r} is not a SHA-256"))
            continue
        path = root / SPECS_DIR / sha
        if path.is_symlink() or not path.is_file():
            problems.append(Problem("spec", f"spec {name}: {SPECS_DIR}/{sha} is not in the bundle"))
        elif _sha256(path.read_bytes()) != sha:
            problems.append(
                Problem("spec", f"spec {name}: the content of {SPECS_DIR}/{sha} does not hash to its name")
            )
    return problems


def spec_blob_problems(root: Path) -> list[Problem]:
    """Every file under specs/ is specs/sha256/<hex> and hashes to its name, named by a record or not."""
    problems = []
    base = root / "specs"
    for path in sorted(base.rglob("*")) if base.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        if path.is_dir() and not path.is_symlink():
            continue
        if path.is_symlink() or path.parent != root / SPECS_DIR or not _HEX64.match(path.name):
            problems.append(Problem("spec", f"{rel}: not a spec blob ({SPECS_DIR}/<SHA-256 hex>, a file)"))
        elif _sha256(path.read_bytes()) != path.name:
            problems.append(Problem("spec", f"{rel}: content does not hash to its name"))
    return problems


def bundle_files(root: Path) -> tuple[dict[str, Path], list[str]]:
    """(relative path -> file of every file in the bundle but bundle.json and its envelope, symbolic
    links: a bundle holds none, and a link could point anywhere)."""
    files, links = {}, []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            links.append(rel)
        elif path.is_file() and rel not in (BUNDLE_MANIFEST, BUNDLE_ENVELOPE):
            files[rel] = path
    return files, links


def bundle_manifest_problems(root: Path, trust: Trust, witness, sample_key: str) -> list[Problem]:
    """bundle.json, signed (bundle.dsse.json) by a trusted key valid at the witness's checkpoint, lists
    every other file of the bundle with its SHA-256 and size; the signature makes the human-readable
    parts (README.txt, index.html, pages/) as trustworthy as the keys it is checked against."""
    problems = []
    try:
        body, envelope = (root / BUNDLE_MANIFEST).read_bytes(), (root / BUNDLE_ENVELOPE).read_bytes()
        doc = json.loads(body)
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in doc["files"]}
        if doc.get("format") != BUNDLE_MANIFEST_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}, expected {BUNDLE_MANIFEST_FORMAT!r}")
    except BROKEN as exc:
        return [Problem("bundle-manifest", f"{BUNDLE_MANIFEST} or {BUNDLE_ENVELOPE} unreadable: {exc!r}")]
    if isinstance(witness, Problem):
        problems.append(
            Problem(
                "bundle-manifest", f"{BUNDLE_MANIFEST}: its signature cannot be judged without the witness"
            )
        )
    else:
        problem = trust.check_dsse(envelope, body, BUNDLE_PAYLOAD_TYPE, witness.sealed_at)
        if problem:
            problems.append(Problem("bundle-manifest", f"{BUNDLE_MANIFEST} signature: {problem}"))
        stated = doc.get("witness") or {}
        if (stated.get("seal"), stated.get("tree_size"), stated.get("root_hash")) != (
            witness.sequence,
            witness.tree_size,
            witness.root.hex(),
        ):
            problems.append(Problem("bundle-manifest", f"{BUNDLE_MANIFEST} names another witness checkpoint"))
    if doc.get("sample") != sample_key:
        problems.append(
            Problem("bundle-manifest", f"{BUNDLE_MANIFEST} is the list of another sample's bundle")
        )
    present, links = bundle_files(root)
    for rel in links:
        problems.append(Problem("bundle-file", f"{rel} is a symbolic link (a bundle holds none)"))
    for rel in sorted(listed):
        if rel not in present:
            if rel not in links:
                problems.append(Problem("bundle-file", f"{rel} is listed in {BUNDLE_MANIFEST} but missing"))
            continue
        data = present[rel].read_bytes()
        if (_sha256(data), len(data)) != listed[rel]:
            problems.append(Problem("bundle-file", f"{rel} differs from the SHA-256 {BUNDLE_MANIFEST} lists"))
    for rel in sorted(set(present) - set(listed)):
        problems.append(Problem("bundle-file", f"{rel} is not listed in {BUNDLE_MANIFEST} (added)"))
    return problems


def _load_trust(root: Path, args) -> tuple[Trust, dict, list[Problem]]:
    """The keys to check against, what the output says about them, and bundle-level problems."""
    bundle_bytes = (root / KEYS_FILE).read_bytes()
    fingerprint = _sha256(bundle_bytes)
    bundle_doc = json.loads(bundle_bytes)
    info = {"bundle_keys": KEYS_FILE, "bundle_keys_sha256": fingerprint, "pinned_by": None}
    problems = []
    if args.trusted_keys:
        try:
            own = json.loads(Path(args.trusted_keys).read_text(encoding="utf-8"))
            Trust(own)
        except BROKEN as exc:
            raise ValueError(
                f"--trusted-keys {args.trusted_keys}: not a trusted-keys file: {exc!r}"
            ) from None
        info["pinned_by"] = f"--trusted-keys {args.trusted_keys}"
        theirs = {k["key_id"]: k for k in own["keys"]}
        for entry in bundle_doc["keys"]:
            mine = theirs.get(entry["key_id"])
            same = mine is not None and all(
                (mine.get(f) or None) == (entry.get(f) or None)
                for f in ("public_key", "valid_from", "valid_until")
            )
            if not same:
                problems.append(
                    Problem(
                        "foreign-key",
                        f"{KEYS_FILE} lists key {entry['key_id']!r} "
                        + ("differently from" if mine else "which is not in")
                        + " your trusted keys",
                    )
                )
        return Trust(own), info, problems
    if args.keys_sha256:
        info["pinned_by"] = f"--keys-sha256 {args.keys_sha256}"
        if args.keys_sha256.lower() != fingerprint:
            problems.append(
                Problem(
                    "foreign-key", f"{KEYS_FILE} has SHA-256 {fingerprint}, not the pinned {args.keys_sha256}"
                )
            )
    return Trust(bundle_doc), info, problems


def verify(root: Path, args) -> dict:
    """Every verdict of the bundle at ``root`` (raises OSError/ValueError when it is no bundle)."""
    trust, trust_info, bundle_problems = _load_trust(root, args)
    bundle = Bundle(root, trust)
    sample_keys, stray = record_folders(root, "sample")
    if len(sample_keys) != 1:
        raise ValueError(f"sample/ must hold exactly one record (the sample), found {len(sample_keys)}")
    sample_key = sample_keys[0]
    try:
        witness: Seal | Problem = bundle.witness()
    except Problem as exc:
        witness = exc
        bundle_problems.append(exc)
    predicate, problems = checked_record(bundle, root / "sample" / sample_key, sample_key, witness)
    problems += _specs_of(root, predicate)
    try:
        problems += sample_problems(bundle, predicate, sample_key) if predicate else []
        summary = predicate.get("summary") or {}
        drawn = {str(d["record"]): d["manifest_sha256"] for d in summary.get("drawn") or []}
    except BROKEN as exc:
        problems.append(Problem("sample", f"the sample record's summary is malformed: {exc!r}"))
        summary, drawn = {}, {}
    verdicts = [{"record": sample_key, "role": "sample", "problems": problems}]
    predicates = {}
    if predicate:
        predicates[sample_key] = (_sha256((root / "sample" / sample_key / MANIFEST).read_bytes()), predicate)
    keys, more_stray = record_folders(root, "records")
    for key in (f"records/{k}" for k in keys):
        rec_predicate, problems = checked_record(bundle, root / key, key, witness)
        problems += _specs_of(root, rec_predicate)
        digest = _sha256((root / key / MANIFEST).read_bytes()) if rec_predicate else None
        if rec_predicate:
            predicates[key] = (digest, rec_predicate)
        if key not in drawn:
            problems.append(Problem("not-in-sample", "the sample did not draw this record"))
        elif digest is not None and drawn[key] != digest:
            problems.append(Problem("not-in-sample", "the sample drew another version of this record"))
        verdicts.append({"record": key, "role": "drawn", "problems": problems})
    present = {v["record"] for v in verdicts}
    for key in sorted(set(drawn) - present):
        verdicts.append(
            {"record": key, "role": "drawn", "problems": [Problem("missing", "drawn, not in the bundle")]}
        )
    try:
        bundle_problems += index_problems(root, predicates)
    except BROKEN as exc:
        bundle_problems.append(Problem("index", f"index.json cannot be compared: {exc!r}"))
    for path in stray + more_stray:
        bundle_problems.append(Problem("unreadable", f"{path}: a file outside any record folder"))
    for check in (spec_blob_problems, lambda r: bundle_manifest_problems(r, trust, witness, sample_key)):
        try:
            bundle_problems += check(root)
        except BROKEN as exc:
            bundle_problems.append(
                Problem("bundle-manifest", f"the bundle's files cannot be checked: {exc!r}")
            )
    witness_info = None
    if isinstance(witness, Seal):
        witness_info = {
            "seal": witness.sequence,
            "tree_size": witness.tree_size,
            "root_hash": base64.b64encode(witness.root).decode(),
            "checkpoint_time": witness.sealed_at.isoformat(),
        }
    failed = [v for v in verdicts if v["problems"]]
    passed = not failed and not bundle_problems
    return {
        "format": "aimsflow-bundle-verdict/1",
        # OK only against keys pinned from outside the bundle: the bundle's own keys prove nothing.
        "verdict": "FAILED" if not passed else "OK" if trust_info["pinned_by"] else "NOT PINNED",
        "ok": passed and bool(trust_info["pinned_by"]),
        "checks_passed": passed,
        "sample": {
            "record": sample_key,
            "seed": summary.get("seed"),
            "method": summary.get("method"),
            "population": (summary.get("population") or {}).get("size"),
            "drawn": len(drawn),
        },
        "trust": trust_info,
        # compare with the SHA-256 of verify_bundle.py the organisation publishes (a forged checker lies)
        "checker": {"path": Path(__file__).name, "sha256": _sha256(Path(__file__).read_bytes())},
        "witness": witness_info,
        "records": [
            {
                "record": v["record"],
                "role": v["role"],
                "ok": not v["problems"],
                "problems": [{"code": p.code, "message": p.message} for p in v["problems"]],
            }
            for v in verdicts
        ],
        "bundle_problems": [{"code": p.code, "message": p.message} for p in bundle_problems],
        "summary": {"records": len(verdicts), "ok": len(verdicts) - len(failed), "failed": len(failed)},
    }


def _specs_of(root: Path, predicate) -> list[Problem]:
    try:
        return spec_problems(root, predicate) if predicate else []
    except BROKEN as exc:
        return [Problem("spec", f"the specs cannot be checked: {exc!r}")]


def exit_status(report: dict) -> int:
    return {"OK": EXIT_OK, "NOT PINNED": EXIT_NOT_PINNED}.get(report["verdict"], EXIT_FAILED)


def print_report(report: dict) -> None:
    """The report in lines of at most 100 characters (but for record keys, which are never cut)."""
    s = report["sample"]
    print(f"sample        {s['record']}")
    print(f"              seed {s['seed']!r}, {s['drawn']} of {s['population']} drawn ({s['method']})")
    print(f"checker       {report['checker']['path']} sha256 {report['checker']['sha256']}")
    print("              (compare with the SHA-256 the organisation publishes)")
    t = report["trust"]
    print(f"trusted keys  {t['bundle_keys']}")
    print(f"              sha256 {t['bundle_keys_sha256']}")
    pinned = t["pinned_by"] or ""
    if pinned.startswith("--keys-sha256"):
        print("              pinned by --keys-sha256 (the fingerprint you were given)")
    elif pinned:
        print(f"              pinned by {pinned}")
    else:
        print("              NOT PINNED: pass --trusted-keys YOUR_COPY or --keys-sha256 FINGERPRINT")
    w = report["witness"]
    if w:
        print(
            f"witness       seal {w['seal']}, tree size {w['tree_size']}, checkpoint of {w['checkpoint_time']}"
        )
        print(f"              root {w['root_hash']}")
    pinned = bool(t["pinned_by"])
    for v in report["records"]:
        good = "OK" if pinned else "UNPINNED"  # never a plain OK against the bundle's own keys
        label = ("SAMPLE " if v["role"] == "sample" else "") + (good if v["ok"] else "FAILED")
        print(f"{label:<{14 if pinned else 16}}{v['record']}")
        for p in v["problems"]:
            print(f"    {p['code']}: {p['message']}")
    for p in report["bundle_problems"]:
        print(f"BUNDLE        {p['code']}: {p['message']}")
    n = report["summary"]
    verdict = {
        "OK": "OK: every record verifies",
        "NOT PINNED": "NOT PINNED: every record verifies, but only against the bundle's own keys",
    }.get(report["verdict"], "FAILED")
    print(
        f"{verdict} ({n['records']} records: {n['ok']} {'OK' if pinned else 'verify'}, {n['failed']} failed; "
        f"{len(report['bundle_problems'])} bundle problem(s))"
    )
    if report["verdict"] == "NOT PINNED":
        print("  whoever could alter the bundle could alter its keys too: get the trusted keys' fingerprint")
        print("  from the organisation through another channel and run again with --keys-sha256 FINGERPRINT")
        print("  (or --trusted-keys YOUR_COPY.json)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "bundle", nargs="?", help="the unzipped bundle folder (default: this script's folder)"
    )
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument("--trusted-keys", help="your own copy of the organisation's trusted-keys JSON")
    pin.add_argument("--keys-sha256", help="the SHA-256 keys/trusted_keys.json must have")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    root = Path(args.bundle) if args.bundle else Path(__file__).resolve().parent
    try:
        report = verify(root, args)
    except BROKEN as exc:
        print(f"verify_bundle: cannot verify {root}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
