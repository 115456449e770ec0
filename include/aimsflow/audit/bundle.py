"""Export bundles: a sample's records with everything needed to check them offline, in one zip.

``aimsflow evidence export --sample RECORD -o bundle.zip`` packs, under one top folder
``aimsflow-bundle-<sample record id>/``:

* ``sample/<key>/`` the sample record and ``<key>/`` (``records/...``) every drawn record, each with
  all its files as stored (result files, ``manifest.json``, ``manifest.dsse.json``);
* ``proofs/<key>.json`` per record: its leaf, the seal that took it in, the RFC 6962 inclusion proof
  to a checkpoint and the consistency proof from that checkpoint to the witness's;
* ``seals/<n>/`` the seals (body, envelope, checkpoint note) those proofs and the witness name;
* ``witness/witness.json`` the witness's accepted checkpoint; ``keys/trusted_keys.json`` the trusted
  public keys with their validity windows (public only: the entries are rebuilt field by field);
* ``specs/sha256/<hex>`` the content of every spec a packed record names (the export refuses a blob
  that is a symbolic link or whose content does not hash to its name);
* ``index.html`` and ``index.json``: the traceability of each record (:mod:`aimsflow.audit.trace`);
  ``pages/``: one page per record, the page of ``aimsflow evidence show --html``
  (:mod:`aimsflow.audit.show`, :mod:`aimsflow.audit.html`) with links to the bundle's index, the
  record's packed files, spec contents and proof; ``README.txt``; and ``verify_bundle.py``, the
  stdlib-only checker (:mod:`aimsflow.audit.verify_bundle`, copied byte for byte);
* ``bundle.json``: every other file with its SHA-256 and size, and ``bundle.dsse.json``: its DSSE
  envelope, signed with the organisation's signing key, which must be a trusted key valid at the
  witness's checkpoint (the latest verified time in the bundle; so the same input, the same bytes).
  It binds what the auditor reads (README.txt, index.html, pages/) to the pinned keys.

The store is read once (:func:`aimsflow.audit.show.read_store`: verified records, the verified log,
the nonconformity ledger). Only verified records are packed, and the export refuses rather than pack a record that is pending,
a log that does not verify or a witness that does not hold the store. Before the zip is written the
bundle is checked with verify_bundle's own code: a bundle that would not verify is never handed out.
The zip is deterministic: the same store, sample and witness give the same bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aimsflow.audit import verify_bundle
from aimsflow.audit.verify_bundle import (
    BUNDLE_ENVELOPE,
    BUNDLE_MANIFEST,
    BUNDLE_MANIFEST_FORMAT,
    BUNDLE_PAYLOAD_TYPE,
    PROOF_FORMAT,
    SAMPLE_CHECK,
)
from aimsflow.evidence.dsse import sign_envelope

if TYPE_CHECKING:
    from collections.abc import Callable

    from aimsflow.audit.show import StoreSnapshot
    from aimsflow.evidence.keys import Signer, TrustedKeys
    from aimsflow.evidence.listing import RecordSummary
    from aimsflow.evidence.storage import Storage
    from aimsflow.evidence.tlog import LogScan, SealEntry
    from aimsflow.evidence.witness import Witness, WitnessState
    from aimsflow.risk.evidence import Evidence

BUNDLE_FORMAT = verify_bundle.BUNDLE_FORMAT
INDEX_FORMAT = "aimsflow-bundle-index/1"
SCRIPT = "verify_bundle.py"
SHARED_BEGIN = "# --- BEGIN shared stdlib verification"
SHARED_END = "# --- END shared stdlib verification ---"


class ExportRefused(RuntimeError):
    """No bundle was written: a drawn record, the log or the witness does not allow it (exit 1)."""


class NotASample(ValueError):
    """``--sample`` names no sample record (exit 2)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    folder: str
    size: int
    sha256: str
    records: int
    keys_sha256: str
    witness: dict[str, Any]
    sample: str
    verdict: dict[str, Any]
    checker_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "bundle": str(self.path),
            "folder": self.folder,
            "size": self.size,
            "sha256": self.sha256,
            "sample": self.sample,
            "records": self.records,
            "trusted_keys_sha256": self.keys_sha256,
            "checker_sha256": self.checker_sha256,
            "witness": self.witness,
            "self_check": {
                "verified": self.verdict["ok"],
                "records": self.verdict["summary"]["records"],
                "failed": self.verdict["summary"]["failed"],
            },
        }


# --- the human-readable pages -----------------------------------------------------------------------
def record_page_html(snapshot: StoreSnapshot, key: str, trace: dict[str, Any], pages: dict[str, str]) -> str:
    """The bundle's readable page of one record: the ``evidence show`` page of the record, described
    from the store read once (``snapshot``), linking the pages of the other records the bundle holds
    (``pages``: record key -> page), its index, packed files, spec contents and proof."""
    from aimsflow.audit.html import BundleLinks, render_record_page
    from aimsflow.audit.show import describe_record

    view = describe_record(snapshot.storage, key, snapshot.keys, snapshot=snapshot)
    links = BundleLinks(
        index="../index.html",
        folder=f"../{trace['stored_at']}",
        proof=f"../proofs/{key}.json",
        checkpoint_seal=int(trace["sealed"]["checkpoint_seal"]),
        specs=frozenset(s["sha256"] for s in trace["specs"] if s.get("file")),
        spec_folder="../specs/sha256",
    )

    def record_href(other: str) -> str | None:
        page = pages.get(other)
        return page.removeprefix("pages/") if page else None

    return render_record_page(view, record_href=record_href, bundle=links)


def _page_name(key: str) -> str:
    return "pages/" + re.sub(r"[^A-Za-z0-9_.-]+", "_", key.removeprefix("records/")) + ".html"


# --- what goes in --------------------------------------------------------------------------------
def resolve_sample(storage: Storage, given: str) -> str:
    """The record key ``--sample`` names: a key (``records/...``), the record's folder, or its
    ``manifest.json``, inside the store."""
    path = Path(given)
    if path.exists():
        path = path.resolve()
        if path.is_file():
            path = path.parent
        try:
            return path.relative_to(Path(storage.root).resolve()).as_posix()
        except ValueError:
            raise NotASample(f"--sample {given}: not inside the store {storage.root}") from None
    return given.strip().rstrip("/")


def public_keys(keys: TrustedKeys) -> bytes:
    """The trusted-keys file of the bundle: key id, public key and validity window of each key, and
    nothing else (whatever else an operator's file holds stays out)."""
    entries = [
        {
            "key_id": k.key_id,
            "public_key": base64.b64encode(k.public_raw).decode(),
            "valid_from": k.valid_from.isoformat(),
            "valid_until": k.valid_until.isoformat() if k.valid_until else None,
        }
        for k in sorted(keys, key=lambda k: k.key_id)
    ]
    return (json.dumps({"keys": entries}, indent=2) + "\n").encode()


@dataclass
class _Placed:
    """Where a sealed record sits in the log."""

    index: int
    sealed_in: SealEntry
    checkpoint: SealEntry


def _place(scan: LogScan, key: str, witnessed: int) -> _Placed:
    index = next((i for i, (k, _) in enumerate(scan.leaves) if k == key), None)
    if index is None:
        raise ExportRefused(
            f"{key} is pending (in no seal yet): the next seal takes it in (evidence_seal runs daily); "
            "export again after it"
        )
    covering = next(e for e in scan.entries if e.tree_size is not None and index < e.tree_size)
    checkpoint = next(
        (e for e in scan.entries if e.sequence >= covering.sequence and e.note is not None), None
    )
    if checkpoint is None or checkpoint.tree_size is None or checkpoint.tree_size > witnessed:
        raise ExportRefused(
            f"{key} is in seal {covering.sequence}, after the witness's checkpoint (tree size {witnessed}): "
            "run `aimsflow witness update` first"
        )
    return _Placed(index, covering, checkpoint)


def _proof(scan: LogScan, key: str, sha: str, placed: _Placed, witnessed: int) -> dict[str, Any]:
    from aimsflow.evidence.merkle import consistency_proof, inclusion_proof

    size = placed.checkpoint.tree_size
    assert size is not None
    return {
        "format": PROOF_FORMAT,
        "record": key,
        "manifest_sha256": sha,
        "leaf_index": placed.index,
        "sealed_in": placed.sealed_in.sequence,
        "checkpoint_seal": placed.checkpoint.sequence,
        "tree_size": size,
        "inclusion_path": [h.hex() for h in inclusion_proof(scan.leaf_hashes, placed.index, size)],
        "witness_tree_size": witnessed,
        "consistency_to_witness": [h.hex() for h in consistency_proof(scan.leaf_hashes, size, witnessed)],
    }


def _witnessed(witness: Witness, scan: LogScan) -> WitnessState:
    from aimsflow.evidence.witness import compare

    try:
        state = witness.read()
    except ValueError as exc:
        raise ExportRefused(str(exc)) from None
    if state is None:
        raise ExportRefused(f"{witness.describe()}: no witness: `aimsflow witness init` starts one")
    found = compare(state, scan)
    if found:
        raise ExportRefused(f"the witness does not hold this store: {found[0]}: {found[1]}")
    if state.checkpoint is None or state.tree_size is None or state.root_hash is None:
        raise ExportRefused("the witness holds no checkpoint yet (empty log, or format-1 seals only)")
    return state


def read_spec_blob(storage: Storage, sha: str, path: str, record: str) -> bytes:
    """The content of spec blob ``sha``: a regular file (never followed through a symbolic link) whose
    SHA-256 is its name; else :class:`ExportRefused`. A store writer could otherwise swap a blob for a
    link to any file the exporting user can read (the signing key) and have it packed."""
    from aimsflow.evidence.specs import blob_key

    try:
        key = blob_key(sha)
    except ValueError as exc:
        raise ExportRefused(f"{record}: spec {path}: {exc}") from None
    where = f"{record}: spec {path} ({key})"
    local = getattr(storage, "path", None)
    if local is None:  # an object store holds no links
        if not storage.exists(key):
            raise ExportRefused(f"{where} is missing from the store: run `aimsflow evidence verify`")
        data = storage.get(key)
    else:
        import stat

        try:
            fd = os.open(local(key), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise ExportRefused(
                f"{where} is missing from the store: run `aimsflow evidence verify`"
            ) from None
        except OSError as exc:  # ELOOP: the blob is a symbolic link
            kind = "a symbolic link" if os.path.islink(local(key)) else f"unreadable ({exc.strerror})"
            raise ExportRefused(
                f"{where} is {kind}, not the spec's content: run `aimsflow evidence verify`"
            ) from None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ExportRefused(f"{where} is not a regular file: run `aimsflow evidence verify`")
            data = fh.read()
    if hashlib.sha256(data).hexdigest() != sha:
        raise ExportRefused(
            f"{where}: its content does not hash to its name (changed in the store): run `aimsflow evidence verify`"
        )
    return data


def _signer(signer: Signer | None) -> Signer:
    from aimsflow.evidence.keys import Signer

    return signer or Signer.from_settings()


def bundle_manifest(files: dict[str, bytes], sample: str, witness: dict[str, Any]) -> bytes:
    """bundle.json: every file of the bundle with its SHA-256 and size, for the sample and witness."""
    doc = {
        "format": BUNDLE_MANIFEST_FORMAT,
        "bundle_format": BUNDLE_FORMAT,
        "sample": sample,
        "witness": witness,
        "files": [
            {"path": rel, "sha256": hashlib.sha256(files[rel]).hexdigest(), "size": len(files[rel])}
            for rel in sorted(files)
        ],
    }
    return (json.dumps(doc, indent=1) + "\n").encode()


# --- the bundle ----------------------------------------------------------------------------------
def export_bundle(
    storage: Storage,
    keys: TrustedKeys,
    witness: Witness,
    sample: str,
    out: Path,
    *,
    snapshot: StoreSnapshot | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
    signer: Signer | None = None,
) -> ExportResult:
    """Write the bundle of sample record ``sample`` to ``out`` (zip); raises :class:`ExportRefused`
    or :class:`NotASample` with nothing written, :class:`aimsflow.evidence.keys.KeyError_` without a
    signing key (``signer``, default the configured one: it signs bundle.json)."""
    from aimsflow.audit.frameworks import crosswalk_available
    from aimsflow.audit.show import read_store

    say = progress or (lambda _: None)
    signer = _signer(signer)
    key = resolve_sample(storage, sample)
    say("reading and verifying the store")
    snapshot = snapshot or read_store(storage, keys)
    evidence = snapshot.evidence
    by_key = {r.key: r for r in evidence.records}
    sample_rec = by_key.get(key)
    if sample_rec is None:
        refused = next((u for u in evidence.rejected if u.key == key), None)
        if refused is not None:
            raise ExportRefused(f"{key}: the sample record does not verify: {refused.problem}")
        raise NotASample(f"--sample {sample}: no record {key} in {storage.describe('')}")
    if sample_rec.check != SAMPLE_CHECK:
        raise NotASample(f"--sample {sample}: {key} is a {sample_rec.check} record, not a sample")
    drawn = [str(d["record"]) for d in sample_rec.summary.get("drawn") or []]
    stated = {str(d["record"]): d.get("manifest_sha256") for d in sample_rec.summary.get("drawn") or []}
    for rec_key in drawn:
        if rec_key not in by_key:
            problem = next((u.problem for u in evidence.rejected if u.key == rec_key), "no such record")
            raise ExportRefused(f"drawn record {rec_key} cannot be packed: {problem}")
    manifests = {k: storage.sha256(f"{k}/manifest.json") for k in [key, *drawn]}
    for rec_key in drawn:
        if manifests[rec_key] != stated[rec_key]:
            raise ExportRefused(f"drawn record {rec_key}: its manifest is not the one the sample drew")

    scan = snapshot.scan
    if scan.problems or not scan.complete:
        obj, problem = scan.problems[0] if scan.problems else ("seals", "incomplete")
        raise ExportRefused(f"the log does not verify ({obj}: {problem}): run `aimsflow evidence verify`")
    state = _witnessed(witness, scan)
    witnessed = state.tree_size
    assert witnessed is not None and state.root_hash is not None
    placed = {k: _place(scan, k, witnessed) for k in [key, *drawn]}
    proofs = {k: _proof(scan, k, manifests[k], placed[k], witnessed) for k in [key, *drawn]}

    ledger = snapshot.ledger
    files: dict[str, bytes] = {}
    spec_blobs: set[str] = set()
    for rec_key in [key, *drawn]:
        for spec in evidence.predicates[rec_key].get("specs") or []:
            sha = str(spec.get("sha256"))
            if sha not in spec_blobs:
                files[f"specs/sha256/{sha}"] = read_spec_blob(storage, sha, str(spec.get("path")), rec_key)
                spec_blobs.add(sha)
    traces = {}
    for rec_key in [key, *drawn]:
        where = f"sample/{rec_key}" if rec_key == key else rec_key
        for rel in storage.list_files(rec_key):
            files[f"{where}/{rel}"] = storage.get(f"{rec_key}/{rel}")
        files[f"proofs/{rec_key}.json"] = (json.dumps(proofs[rec_key], indent=2) + "\n").encode()
        traces[rec_key] = _trace(
            by_key[rec_key], evidence, manifests[rec_key], proofs[rec_key], placed, ledger, spec_blobs, where
        )
    seals = {p.sealed_in.sequence for p in placed.values()} | {p.checkpoint.sequence for p in placed.values()}
    seals.add(state.sequence)
    for seq in sorted(seals):
        folder = f"seals/{seq:08d}"
        for name in ("seal.json", "seal.dsse.json", "checkpoint"):
            if storage.exists(f"{folder}/{name}"):
                files[f"{folder}/{name}"] = storage.get(f"{folder}/{name}")
    keys_bytes = public_keys(keys)
    files["keys/trusted_keys.json"] = keys_bytes
    witness_doc = {k: v for k, v in state.as_dict().items() if k != "legacy_head"}
    files["witness/witness.json"] = (json.dumps(witness_doc, indent=2) + "\n").encode()

    now = now or dt.datetime.now(dt.UTC)
    witness_info = {
        "seal": state.sequence,
        "tree_size": witnessed,
        "root_hash": base64.b64encode(state.root_hash).decode(),
        "checkpoint_time": state.checkpoint_time.isoformat() if state.checkpoint_time else None,
        "origin": state.origin,
    }
    keys_sha = hashlib.sha256(keys_bytes).hexdigest()
    index = {
        "format": INDEX_FORMAT,
        "bundle_format": BUNDLE_FORMAT,
        "sample": _sample_facts(sample_rec, key),
        "trusted_keys": {
            "file": "keys/trusted_keys.json",
            "sha256": keys_sha,
            "keys": [
                {k: v for k, v in e.items() if k != "public_key"} for e in json.loads(keys_bytes)["keys"]
            ],
        },
        "witness": witness_info,
        "crosswalk": crosswalk_available(),
        "sample_record": traces[key],
        "records": [traces[k] for k in drawn],
    }
    files["index.json"] = (json.dumps(index, indent=2, ensure_ascii=False) + "\n").encode()
    pages = {k: t["page"] for k, t in traces.items()}
    for rec_key, trace in traces.items():
        files[trace["page"]] = record_page_html(snapshot, rec_key, trace, pages).encode()
    crosswalk = snapshot.crosswalk
    frameworks = {name: crosswalk.title(name).split(" (")[0] for name in crosswalk.names} if crosswalk else {}
    files["index.html"] = _render(
        "bundle_index.html.j2", title=f"Evidence sample {key}", index=index, frameworks=frameworks
    )
    files["README.txt"] = readme(index).encode()
    files[SCRIPT] = Path(verify_bundle.__file__).read_bytes()
    body = bundle_manifest(
        files, key, {"seal": state.sequence, "tree_size": witnessed, "root_hash": state.root_hash.hex()}
    )
    # Judged at the witness's checkpoint: the latest time the bundle proves, and a fixed one (same bytes).
    signed_at = next(e for e in scan.entries if e.sequence == state.sequence).sealed_at
    problem = keys.check(signer.key_id, body, signer.sign(body), signed_at)
    if problem:
        raise ExportRefused(
            f"the signing key cannot sign {BUNDLE_MANIFEST} so that the auditor can check it ({problem}; "
            f"it must be a trusted key valid at the witness's checkpoint, {signed_at.isoformat()}): seal, "
            "`aimsflow witness update`, and export again"
        )
    files[BUNDLE_MANIFEST] = body
    files[BUNDLE_ENVELOPE] = sign_envelope(body, signer, BUNDLE_PAYLOAD_TYPE)

    top = f"aimsflow-bundle-{sample_rec.record_id}"
    say("checking the bundle with verify_bundle.py")
    with tempfile.TemporaryDirectory(prefix="aimsflow-bundle-") as tmp:
        root = Path(tmp) / top
        for rel, data in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        verdict = verify_bundle.verify(root, _Pinned(keys_sha))
    if not verdict["ok"]:
        broken = [v for v in verdict["records"] if not v["ok"]] + verdict["bundle_problems"]
        raise ExportRefused(f"the bundle would not verify: {json.dumps(broken)[:2000]}")
    say(f"writing {out}")
    data = _zip(top, files, sample_rec.ended_at)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.tmp")
    tmp_out.write_bytes(data)
    os.replace(tmp_out, out)
    return ExportResult(
        out,
        top,
        len(data),
        hashlib.sha256(data).hexdigest(),
        len(drawn),
        keys_sha,
        witness_info,
        key,
        verdict,
        hashlib.sha256(files[SCRIPT]).hexdigest(),
    )


@dataclass(frozen=True)
class _Pinned:
    """The self-check's arguments: the keys pinned to the store's own trusted keys."""

    keys_sha256: str
    trusted_keys: None = None


def _trace(
    rec: RecordSummary,
    evidence: Evidence,
    manifest_sha: str,
    proof: dict[str, Any],
    placed: dict[str, _Placed],
    ledger: list[Any],
    spec_blobs: set[str],
    where: str,
) -> dict[str, Any]:
    from aimsflow.audit.trace import trace_record

    return trace_record(
        rec,
        evidence.predicates[rec.key],
        manifest_sha,
        ledger=ledger,
        records=evidence.records,
        proof=proof,
        sealed_at=placed[rec.key].sealed_in.sealed_at.isoformat(),
        spec_files=spec_blobs,
        stored_at=where,
        page=_page_name(rec.key),
    )


def _sample_facts(rec: RecordSummary, key: str) -> dict[str, Any]:
    s = rec.summary
    return {
        "record": key,
        "seed": s.get("seed"),
        "method": s.get("method"),
        "method_description": s.get("method_description"),
        "n": s.get("n"),
        "per_control": s.get("per_control"),
        "filters": s.get("filters") or {},
        "population": s.get("population") or {},
        "controls_in_scope": s.get("controls_in_scope") or [],
        "strata": s.get("strata") or [],
        "excluded_by_earlier_samples": s.get("excluded_by_earlier_samples") or {},
        "drawn": len(s.get("drawn") or []),
        "drawn_at": rec.ended_at.isoformat(),
        "drawn_by": rec.producer.get("user"),
    }


def _render(template: str, **context: Any) -> bytes:
    from aimsflow.render import render_html

    return render_html(template, **context)


def _zip(top: str, files: dict[str, bytes], when: dt.datetime) -> bytes:
    """The zip of ``files`` under ``top/``: sorted, one fixed timestamp, so equal input, equal bytes."""
    import io

    stamp = max(when, dt.datetime(1980, 1, 1, tzinfo=dt.UTC)).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if rel == SCRIPT else 0o644) << 16
            archive.writestr(info, files[rel])
    return buffer.getvalue()


# --- README.txt ----------------------------------------------------------------------------------
def readme(index: dict[str, Any]) -> str:
    s, w, k = index["sample"], index["witness"], index["trusted_keys"]
    codes = "\n".join(
        textwrap.fill(
            text, 100, initial_indent=f"  {code:<15} ", subsequent_indent=" " * 18, break_on_hyphens=False
        )
        for code, text in verify_bundle.CODES.items()
    )
    method = textwrap.fill(s["method_description"] + ".", 98, initial_indent="  ", subsequent_indent="  ")
    filters = ", ".join(f"{name} {value}" for name, value in s["filters"].items() if value) or "none"
    return f"""aimsflow evidence bundle ({BUNDLE_FORMAT})

Sample   {s["record"]}
Seed     {s["seed"]!r}    method {s["method"]}    drawn {s["drawn"]} of {s["population"].get("size")} records
Filters  {filters}
Witness  seal {w["seal"]}, tree size {w["tree_size"]}, root {w["root_hash"]} ({w["checkpoint_time"]})
Keys     keys/trusted_keys.json ({len(k["keys"])} public key(s)): pin them (below)

WHAT IS IN THIS BUNDLE
  README.txt              this file
  verify_bundle.py        the offline checker: Python 3.11 or later, standard library only
  index.html              the sample and every drawn record on one page (opens offline)
  index.json              the same, machine-readable ({INDEX_FORMAT})
  pages/                  one readable page per record
  sample/records/...      the sample record as stored: population.tsv, manifest.json, manifest.dsse.json
  records/...             every drawn record as stored: its result files, manifest.json, manifest.dsse.json
  proofs/records/....json per record: its leaf, the seal that took it in, the inclusion proof to a
                          checkpoint and the consistency proof from there to the witness's checkpoint
  seals/<n>/              the seals those proofs name: seal.json, seal.dsse.json, checkpoint (a C2SP note)
  witness/witness.json    the checkpoint the witness had accepted when the bundle was made
  keys/trusted_keys.json  the trusted PUBLIC keys and their validity windows (no private key)
  specs/sha256/<hex>      the content of every spec a record names, stored under its SHA-256
  bundle.json             every other file of the bundle with its SHA-256 and size, and
  bundle.dsse.json        its signature by the organisation's signing key (checked against the keys)

BEFORE YOU VERIFY: GET TWO VALUES FROM THE ORGANISATION, NOT FROM THIS BUNDLE
Whoever could alter this bundle could alter its keys, this file and its checker too. Obtain through
another channel (the audit plan, a call, their published values):
  1. the SHA-256 fingerprint of their trusted-keys file (or a copy of that file);
  2. the SHA-256 of verify_bundle.py (`aimsflow evidence export` prints both; the same checker is
     scripts/verify_bundle.py in their repository). Compare it: sha256sum verify_bundle.py
     (or use your own copy of the checker: python3 -I YOUR_COPY/verify_bundle.py BUNDLE_FOLDER).

VERIFY OFFLINE (no aimsflow, no network, no package to install)
  unzip bundle.zip
  cd aimsflow-bundle-*/
  python3 -I verify_bundle.py --keys-sha256 FINGERPRINT_YOU_WERE_GIVEN
or, with your own copy of the organisation's trusted keys:
  python3 -I verify_bundle.py --trusted-keys YOUR_COPY/trusted_keys.json
Compare the witness line above with a checkpoint you hold, if you run your own witness.

It prints one verdict per record (OK; UNPINNED when the keys are not pinned; or FAILED with a reason
per line), the sample's verdict and a summary. Exit status:
  0  OK: every record, the sample and the bundle verify against the keys you pinned
  1  FAILED: something did not verify (each reason printed)
  2  usage error, or the folder is not a readable bundle
  3  NOT PINNED: everything verifies, but only against the bundle's own keys, which prove nothing:
     run again with --keys-sha256 or --trusted-keys
A FAILED verdict names one or more of:
{codes}

THE SAMPLING METHOD ({s["method"]})
{method}
  rank hash of a record: printf '%s\\n%s' "$SEED" "$RECORD_KEY" | sha256sum
  sample/<key>/population.tsv lists the whole population (record key, manifest SHA-256, controls,
  rank hash), sorted by record key; re-draw from it in any language and compare with the drawn list
  in the sample record's manifest.json (predicate.summary.drawn). verify_bundle.py does it for you.
"""


# --- one source for the stdlib verification code ---------------------------------------------------
def shared_block(text: str) -> str:
    """The lines between the BEGIN and END markers of the shared stdlib verification code."""
    start = text.index(SHARED_BEGIN)
    end = text.index(SHARED_END) + len(SHARED_END)
    return text[start:end]


def sync_scripts(project_root: Path) -> bool:
    """Copy the shared block of ``verify_bundle.py`` into ``scripts/verify_inclusion.py``, and the whole
    checker to ``scripts/verify_bundle.py`` (the copy auditors can take from the repository, the same
    bytes as in every bundle); True when either changed. One source: :mod:`aimsflow.audit.verify_bundle`."""
    checker = Path(verify_bundle.__file__).read_bytes()
    source = shared_block(checker.decode("utf-8"))
    target = project_root / "scripts" / "verify_inclusion.py"
    text = target.read_text(encoding="utf-8")
    new = text.replace(shared_block(text), source)
    changed = new != text
    if changed:
        target.write_text(new, encoding="utf-8")
    copy = project_root / "scripts" / SCRIPT
    if not copy.exists() or copy.read_bytes() != checker:
        copy.write_bytes(checker)
        copy.chmod(0o755)
        changed = True
    return changed


if __name__ == "__main__":
    import sys

    from aimsflow import settings

    if sys.argv[1:] == ["--sync-scripts"]:
        changed = sync_scripts(settings.project_root())
        print(
            "scripts/verify_inclusion.py, scripts/verify_bundle.py "
            + ("updated" if changed else "already current")
        )
    else:
        print("usage: python -m aimsflow.audit.bundle --sync-scripts", file=sys.stderr)
        sys.exit(2)
