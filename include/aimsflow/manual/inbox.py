"""The inbox folder: what staff dropped in it, and moving an ingested drop out of it.

Staff drop ``<document>`` and ``<document>.evidence.yaml`` at the top of the inbox
(``AIMSFLOW_MANUAL_INBOX``, default ``inbox/``). A *drop* is a document with its sidecar, or a lone
entry that cannot be ingested (a document without sidecar, a sidecar without document, a folder, a
symbolic link): the job gives each lone entry its ``error`` record rather than skipping it.

Names starting with ``.`` (the processed area ``.ingested/``, ``.DS_Store``, editors' temporary
files) and ``~$`` (an office suite's lock file of an open document) are not drops. After its record
is written and verified, a drop moves to ``.ingested/<record id>/`` (same file system: a rename, so
bytes and modification time are kept and a crash leaves each file in one place or the other).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow.manual.sidecar import SIDECAR_SUFFIX, document_name, sidecar_name
from aimsflow.results import sha256_file

INGESTED = ".ingested"
#: The spelling staff may reach for instead of ``.evidence.yaml``: refused with a hint, not ignored.
WRONG_SUFFIXES = (".evidence.yml", ".evidence.YAML", ".evidence.json")
#: The largest document taken into a record (a record holds a copy of it).
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True, order=True)
class Drop:
    """One thing to ingest: a document and its sidecar (file names in the inbox), either may be None."""

    document: str | None
    sidecar: str | None

    @property
    def name(self) -> str:
        """How the drop is named to people: its document, else its sidecar."""
        return self.document or self.sidecar or "?"

    def as_item(self) -> dict[str, Any]:
        return {"document": self.document, "sidecar": self.sidecar}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Drop:
        """The drop a mapped task was handed; raises ValueError unless each name is a plain file name
        at the top of the inbox (the item comes through XCom, which people with edit rights can
        change: a path such as ``../../etc/passwd`` must never be read into evidence, nor moved)."""
        names = [item.get("document"), item.get("sidecar")]
        for name in names:
            if name is None:
                continue
            if (
                not isinstance(name, str)
                or name in ("", ".", "..")
                or "/" in name
                or os.sep in name
                or "\0" in name
                or is_hidden(name)
            ):
                raise ValueError(f"not the name of a file at the top of the inbox: {name!r}")
        if names == [None, None]:
            raise ValueError("a drop names no file")
        return cls(*names)

    def names(self) -> list[str]:
        return [n for n in (self.document, self.sidecar) if n]


def is_hidden(name: str) -> bool:
    return name.startswith((".", "~$"))


def scan_inbox(inbox: Path) -> list[Drop]:
    """Every drop at the top of ``inbox``, by name; a missing inbox is created (empty)."""
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    names = sorted(n for n in os.listdir(inbox) if not is_hidden(n))
    present = set(names)
    drops = []
    for name in names:
        if name.endswith(SIDECAR_SUFFIX):
            document = document_name(name)
            drops.append(Drop(document if document in present else None, name))
        elif sidecar_name(name) not in present:
            drops.append(Drop(name, None))
    return sorted(drops, key=lambda d: d.name)


def entry_problem(path: Path) -> str | None:
    """Why the inbox entry ``path`` cannot be read as a file of a drop, or None."""
    if path.is_symlink():
        return "a symbolic link: links are not followed (copy the file itself into the inbox)"
    if path.is_dir():
        return "a folder: only files at the top of the inbox are read"
    if not path.exists():
        return "gone from the inbox while it was read"
    if not path.is_file():
        return "not a regular file"
    if not path.name.isprintable():
        return "its name holds control characters: rename it"
    if path.name.endswith(WRONG_SUFFIXES):
        stem = path.name.rsplit(".evidence.", 1)[0]
        return f"a sidecar must be named <document>{SIDECAR_SUFFIX}: rename it to {stem}{SIDECAR_SUFFIX}"
    return None


def last_change(inbox: Path, drop: Drop) -> dt.datetime | None:
    """The latest modification time among the drop's files (None when none can be read)."""
    times = []
    for name in drop.names():
        try:
            times.append((Path(inbox) / name).lstat().st_mtime)
        except OSError:
            continue
    return dt.datetime.fromtimestamp(max(times), dt.UTC) if times else None


def hashes(inbox: Path, drop: Drop) -> tuple[str | None, str | None]:
    """SHA-256 of the drop's document and sidecar as they lie in the inbox (None: absent, or not a
    regular file)."""

    def one(name: str | None) -> str | None:
        if name is None:
            return None
        path = Path(inbox) / name
        if entry_problem(path) is not None:
            return None
        try:
            return sha256_file(path)
        except OSError:
            return None

    return one(drop.document), one(drop.sidecar)


def processed_dir(inbox: Path, record_id: str) -> Path:
    return Path(inbox) / INGESTED / record_id


def move_out(inbox: Path, drop: Drop, record_id: str) -> Path:
    """Move the drop's files to ``.ingested/<record id>/`` (renames; an existing file there is never
    replaced) and return that folder. The sidecar moves last: a crash in between leaves the sidecar,
    which names what is missing, rather than a document nobody knows the purpose of."""
    target = processed_dir(inbox, record_id)
    target.mkdir(parents=True, exist_ok=True)
    for name in [n for n in (drop.document, drop.sidecar) if n]:
        destination = target / name
        if destination.exists():
            raise FileExistsError(f"{destination} exists already: a processed file is never replaced")
        os.rename(Path(inbox) / name, destination)
    return target
