"""Review finding 4: verify_bundle.py checked index.json but not what the auditor reads (index.html,
pages/, README.txt) nor the spec contents under specs/sha256/: each could be rewritten and the bundle
still verified OK. Now bundle.json, signed by the organisation's key (bundle.dsse.json), lists every
file with its SHA-256; one tampering test per kind of file."""

from __future__ import annotations

import hashlib
import json
import os

from tests.audit.sampling import test_bundle as tb

exported, copy, verify = tb.exported, tb.copy, tb.verify


def _bundle_problems(report: dict) -> list[tuple[str, str]]:
    return [(p["code"], p["message"]) for p in report["bundle_problems"]]


def test_an_edited_index_page_fails(copy):
    """Bug: index.html rewritten (every status shown as passed), yet the bundle verified OK."""
    page = copy / "index.html"
    text = page.read_text()
    assert "failed" in text or "passed" in text
    page.write_text(text.replace("failed", "passed").replace("error", "passed"))
    code, report, _ = verify(copy)
    assert code == 1, "index.html rewritten (every status shown as passed), yet the bundle verifies OK"
    assert _bundle_problems(report) == [
        ("bundle-file", "index.html differs from the SHA-256 bundle.json lists")
    ]


def test_an_edited_record_page_fails(copy):
    """Bug: a record's page under pages/ edited, yet the bundle verified OK."""
    (page,) = sorted((copy / "pages").glob("*.html"))[:1]
    page.write_text(page.read_text() + "<p>status passed, reviewed by the auditor</p>")
    code, report, _ = verify(copy)
    assert code == 1, f"{page.name} edited, yet the bundle verifies OK"
    assert _bundle_problems(report) == [
        ("bundle-file", f"pages/{page.name} differs from the SHA-256 bundle.json lists")
    ]


def test_a_spec_whose_content_does_not_hash_to_its_name_fails(exported, copy):
    """Bug (finding 3): specs/sha256/<hex> with other content verified OK. Now each record naming the
    spec fails with `spec`, and the blob itself is reported."""
    specs = [p for p in sorted((copy / "specs").rglob("*")) if p.is_file()]
    assert specs, "no spec content in the bundle"
    specs[0].write_bytes(b"expectations: []\n")
    assert hashlib.sha256(specs[0].read_bytes()).hexdigest() != specs[0].name
    code, report, _ = verify(copy)
    assert code == 1, f"{specs[0]} no longer hashes to its name, yet the bundle verifies OK"
    assert tb.codes(report) == {k: {"spec"} for k in tb.drawn_keys(exported)}
    assert tb.bundle_codes(report) == {"spec", "bundle-file"}


def test_a_spec_re_listed_by_the_key_holder_still_fails(exported, copy):
    """The spec check does not rest on bundle.json: a forger holding the signing key who lists the
    swapped spec again still fails each record that names it (its hash is in the signed manifest)."""
    (spec,) = [p for p in (copy / "specs" / "sha256").iterdir()]
    spec.write_bytes(b"expectations: []\n")
    tb.relist_bundle(copy, "seal-key", exported.seeds["seal-key"])
    code, report, _ = verify(copy, "--trusted-keys", str(exported.keys_file))
    assert code == 1 and tb.codes(report) == {k: {"spec"} for k in tb.drawn_keys(exported)}
    assert _bundle_problems(report) == [
        ("spec", f"specs/sha256/{spec.name}: content does not hash to its name")
    ]
    message = next(p["message"] for r in report["records"] for p in r["problems"])
    assert message.endswith(f"the content of specs/sha256/{spec.name} does not hash to its name")


def test_a_spec_removed_from_the_bundle_is_reported(exported, copy):
    (spec,) = [p for p in (copy / "specs" / "sha256").iterdir()]
    spec.unlink()
    code, report, _ = verify(copy)
    assert code == 1 and tb.codes(report) == {k: {"spec"} for k in tb.drawn_keys(exported)}
    assert _bundle_problems(report) == [
        ("bundle-file", f"specs/sha256/{spec.name} is listed in bundle.json but missing")
    ]


def test_an_edited_readme_fails(copy):
    readme = copy / "README.txt"
    readme.write_text(readme.read_text().replace("FINGERPRINT_YOU_WERE_GIVEN", "0" * 64))
    code, report, _ = verify(copy)
    assert code == 1 and not tb.codes(report)
    assert _bundle_problems(report) == [
        ("bundle-file", "README.txt differs from the SHA-256 bundle.json lists")
    ]


def test_an_edited_index_json_fails_even_where_no_manifest_says_otherwise(copy):
    """index.json's fields that repeat no signed manifest (titles, nonconformities) are covered too."""
    path = copy / "index.json"
    index = json.loads(path.read_text())
    index["records"][0]["controls"][0]["title"] = "Something reassuring"
    path.write_text(json.dumps(index, indent=2))
    code, report, _ = verify(copy)
    assert code == 1 and not tb.codes(report)
    assert _bundle_problems(report) == [
        ("bundle-file", "index.json differs from the SHA-256 bundle.json lists")
    ]


def test_an_extra_file_fails(copy):
    (copy / "pages" / "note-from-the-auditee.html").write_text("<p>all controls effective</p>")
    (copy / "VERIFIED.txt").write_text("verified OK\n")
    code, report, _ = verify(copy)
    assert code == 1 and not tb.codes(report)
    assert _bundle_problems(report) == [
        ("bundle-file", "VERIFIED.txt is not listed in bundle.json (added)"),
        ("bundle-file", "pages/note-from-the-auditee.html is not listed in bundle.json (added)"),
    ]


def test_a_symbolic_link_in_the_bundle_fails(copy, tmp_path):
    (tmp_path / "elsewhere.html").write_text("<p>anything</p>")
    (page,) = sorted((copy / "pages").glob("*.html"))[:1]
    page.unlink()
    os.symlink(tmp_path / "elsewhere.html", page)
    code, report, _ = verify(copy)
    assert code == 1
    assert _bundle_problems(report) == [
        ("bundle-file", f"pages/{page.name} is a symbolic link (a bundle holds none)")
    ]


def test_an_edited_checker_is_reported(copy):
    script = copy / "verify_bundle.py"
    script.write_text(script.read_text() + "\n# edited\n")
    code, report, _ = verify(copy)
    assert code == 1
    assert _bundle_problems(report) == [
        ("bundle-file", "verify_bundle.py differs from the SHA-256 bundle.json lists")
    ]


def test_bundle_json_edited_or_removed(copy):
    path = copy / "bundle.json"
    doc = json.loads(path.read_text())
    doc["files"] = [f for f in doc["files"] if f["path"] != "index.html"]
    path.write_text(json.dumps(doc, indent=1) + "\n")
    code, report, _ = verify(copy)
    assert code == 1 and tb.bundle_codes(report) == {"bundle-manifest", "bundle-file"}
    assert (
        "bundle-manifest",
        "bundle.json signature: signed payload differs from the stored file (edited after signing)",
    ) in _bundle_problems(report)
    path.unlink()
    code, report, _ = verify(copy)
    assert code == 1 and tb.bundle_codes(report) == {"bundle-manifest"}


def test_bundle_json_re_signed_by_a_foreign_key(exported, copy):
    """A forger without the organisation's key re-lists an edited page and signs with their own key
    (added to the bundle's keys): unpinned, NOT PINNED (exit 3); pinned, the signature fails."""
    _, seed, public = tb.new_key("intruder")
    keys_path = copy / "keys" / "trusted_keys.json"
    doc = json.loads(keys_path.read_text())
    doc["keys"].append(
        {"key_id": "intruder", "public_key": public, "valid_from": "2020-01-01T00:00:00+00:00"}
    )
    keys_path.write_text(json.dumps(doc))
    (page,) = sorted((copy / "pages").glob("*.html"))[:1]
    page.write_text(page.read_text().replace("failed", "passed"))
    tb.relist_bundle(copy, "intruder", seed)
    code, report, _ = verify(copy)
    assert code == 3 and report["verdict"] == "NOT PINNED"
    code, report, _ = verify(copy, "--trusted-keys", str(exported.keys_file))
    assert code == 1 and not tb.codes(report)
    assert tb.bundle_codes(report) == {"foreign-key", "bundle-manifest"}
    assert (
        "bundle-manifest",
        "bundle.json signature: signed by key 'intruder', which is not a trusted key",
    ) in _bundle_problems(report)
