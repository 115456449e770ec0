"""The inbox: what is a drop, what is not read, and moving a drop out without changing it."""

from __future__ import annotations

import os

import pytest

from aimsflow.manual.inbox import Drop, entry_problem, hashes, move_out, scan_inbox
from aimsflow.results import sha256_bytes


def _touch(path, content: bytes = b"x") -> None:
    path.write_bytes(content)


def test_drops_pair_documents_with_sidecars_and_keep_lone_entries(tmp_path):
    for name in (
        "ai-policy.pdf",
        "ai-policy.pdf.evidence.yaml",
        "roles.docx",  # no sidecar
        "orphan.md.evidence.yaml",  # no document
        ".DS_Store",  # hidden: not a drop
        "~$roles.docx",  # an office suite's lock file: not a drop
    ):
        _touch(tmp_path / name)
    (tmp_path / ".ingested" / "x").mkdir(parents=True)
    (tmp_path / "Policies").mkdir()
    assert scan_inbox(tmp_path) == [  # by name as people see it: the document's, else the sidecar's
        Drop("Policies", None),
        Drop("ai-policy.pdf", "ai-policy.pdf.evidence.yaml"),
        Drop(None, "orphan.md.evidence.yaml"),
        Drop("roles.docx", None),
    ]


def test_a_missing_inbox_is_created_empty(tmp_path):
    assert scan_inbox(tmp_path / "inbox") == [] and (tmp_path / "inbox").is_dir()


def test_a_linked_sidecar_still_pairs_with_its_document(tmp_path):
    """Regression: a sidecar that is a link must not leave its document out of every drop."""
    _touch(tmp_path / "a.md")
    _touch(tmp_path / "elsewhere.yaml")
    (tmp_path / "a.md.evidence.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    assert Drop("a.md", "a.md.evidence.yaml") in scan_inbox(tmp_path)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.symlink_to("/etc/hostname"), "a symbolic link: links are not followed"),
        (lambda p: p.mkdir(), "a folder: only files at the top of the inbox are read"),
        (lambda p: None, "gone from the inbox"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
    ids=["symlink", "folder", "gone", "fifo"],
)
def test_entries_that_are_no_file_are_named(tmp_path, make, expected):
    path = tmp_path / "entry.pdf"
    make(path)
    assert expected in entry_problem(path)


def test_a_misnamed_sidecar_or_a_control_character_is_named(tmp_path):
    _touch(tmp_path / "policy.pdf.evidence.yml")
    assert "rename it to policy.pdf.evidence.yaml" in entry_problem(tmp_path / "policy.pdf.evidence.yml")
    _touch(tmp_path / "bad\nname.pdf")
    assert "control characters" in entry_problem(tmp_path / "bad\nname.pdf")
    _touch(tmp_path / "fine name.pdf")
    assert entry_problem(tmp_path / "fine name.pdf") is None


def test_hashes_are_of_the_files_as_they_lie(tmp_path):
    _touch(tmp_path / "a.md", b"doc")
    _touch(tmp_path / "a.md.evidence.yaml", b"side")
    assert hashes(tmp_path, Drop("a.md", "a.md.evidence.yaml")) == (
        sha256_bytes(b"doc"),
        sha256_bytes(b"side"),
    )
    assert hashes(tmp_path, Drop("a.md", None)) == (sha256_bytes(b"doc"), None)
    (tmp_path / "dir").mkdir()
    assert hashes(tmp_path, Drop("dir", None)) == (None, None)


def test_moving_out_keeps_bytes_and_times_and_never_replaces(tmp_path):
    _touch(tmp_path / "a.md", b"doc")
    _touch(tmp_path / "a.md.evidence.yaml", b"side")
    os.utime(tmp_path / "a.md", (1_700_000_000, 1_700_000_000))
    target = move_out(tmp_path, Drop("a.md", "a.md.evidence.yaml"), "document.0.try1-abc")
    assert target == tmp_path / ".ingested" / "document.0.try1-abc"
    assert (target / "a.md").read_bytes() == b"doc" and (target / "a.md").stat().st_mtime == 1_700_000_000
    assert not (tmp_path / "a.md").exists() and not (tmp_path / "a.md.evidence.yaml").exists()
    _touch(tmp_path / "a.md", b"again")
    with pytest.raises(FileExistsError, match="never replaced"):
        move_out(tmp_path, Drop("a.md", None), "document.0.try1-abc")
    assert (target / "a.md").read_bytes() == b"doc" and (tmp_path / "a.md").read_bytes() == b"again"
