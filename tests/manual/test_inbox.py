"""The inbox: what is a drop, what is not read, and moving a drop out without changing it."""

from __future__ import annotations

import os

import pytest

from aimsflow.manual.inbox import (
    Drop,
    FilingError,
    entry_problem,
    hashes,
    is_filed,
    move_out,
    opened_inbox,
    processed_area_problems,
    read_entry,
    scan_inbox,
)
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


# --- links and non-regular files (review finding 2) ----------------------------------------------


def test_reading_an_entry_checks_the_descriptor_it_reads(tmp_path):
    _touch(tmp_path / "a.md", b"doc")
    (tmp_path / "secret").write_bytes(b"key")
    os.symlink(tmp_path / "secret", tmp_path / "link.md")
    os.mkfifo(tmp_path / "fifo.md")
    with opened_inbox(tmp_path) as fd:
        assert read_entry(fd, "a.md", 3) == (b"doc", None)
        assert read_entry(fd, "a.md", 2) == (None, "3 bytes: larger than the 2 bytes allowed")
        assert read_entry(fd, "link.md", 100)[1].startswith("a symbolic link")
        assert read_entry(fd, "fifo.md", 100) == (None, "not a regular file")  # and does not block
        assert read_entry(fd, "absent.md", 100) == (None, "gone from the inbox while it was read")
    assert hashes(tmp_path, Drop("link.md", "fifo.md")) == (None, None)


def test_an_entry_swapped_for_a_fifo_after_its_look_is_refused_not_waited_on(tmp_path, monkeypatch):
    """The look (lstat) sees a file; a FIFO is in its place when it is opened: opened without
    blocking, refused on its descriptor's fstat."""
    _touch(tmp_path / "a.md", b"doc")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        result = real_lstat(path, *args, **kwargs)
        os.unlink("a.md", dir_fd=kwargs["dir_fd"])
        os.mkfifo("a.md", dir_fd=kwargs["dir_fd"])
        return result

    with opened_inbox(tmp_path) as fd:
        monkeypatch.setattr(os, "lstat", lstat)
        assert read_entry(fd, "a.md", 100) == (None, "not a regular file")


@pytest.mark.parametrize("at", [".ingested", ".ingested/document.0.try1-abc"])
def test_moving_out_never_goes_through_a_link(tmp_path, at):
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "dags"
    inbox.mkdir()
    elsewhere.mkdir()
    (inbox / at).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, inbox / at)
    _touch(inbox / "a.md", b"doc")
    _touch(inbox / "a.md.evidence.yaml", b"side")
    with pytest.raises(
        FilingError, match=f"{at}: a symbolic link: .* \\(to '{elsewhere}'\\): the drop stays"
    ):
        move_out(inbox, Drop("a.md", "a.md.evidence.yaml"), "document.0.try1-abc")
    assert (
        list(elsewhere.iterdir()) == []
        and (inbox / "a.md").exists()
        and (inbox / "a.md.evidence.yaml").exists()
    )
    assert not is_filed(inbox, "document.0.try1-abc", "a.md")
    with opened_inbox(inbox) as fd:
        assert [p.split(": ")[0] for p in processed_area_problems(fd, inbox)] == [str(inbox / at)]


def test_moving_out_refuses_a_processed_area_that_is_no_folder(tmp_path):
    _touch(tmp_path / ".ingested", b"not a folder")
    _touch(tmp_path / "a.md", b"doc")
    with pytest.raises(FilingError, match=r"\.ingested: not a folder"):
        move_out(tmp_path, Drop("a.md", None), "document.0.try1-abc")
    assert (tmp_path / "a.md").read_bytes() == b"doc"
    with opened_inbox(tmp_path) as fd:
        assert processed_area_problems(fd, tmp_path) == [
            f"{tmp_path / '.ingested'}: not a folder; remove it (filing creates the folder)"
        ]


def test_a_real_processed_area_has_no_problem_and_files(tmp_path):
    with opened_inbox(tmp_path) as fd:
        assert processed_area_problems(fd, tmp_path) == []  # absent: filing creates it
    _touch(tmp_path / "a.md", b"doc")
    move_out(tmp_path, Drop("a.md", None), "document.0.try1-abc")
    assert is_filed(tmp_path, "document.0.try1-abc", "a.md")
    with opened_inbox(tmp_path) as fd:
        assert processed_area_problems(fd, tmp_path) == []
