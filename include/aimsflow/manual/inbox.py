"""The inbox folder: what staff dropped in it, and moving an ingested drop out of it.

Staff drop ``<document>`` and ``<document>.evidence.yaml`` at the top of the inbox
(``AIMSFLOW_MANUAL_INBOX``, default ``inbox/``). A *drop* is a document with its sidecar, or a lone
entry that cannot be ingested (a document without sidecar, a sidecar without document, a folder, a
symbolic link): the job gives each lone entry its ``error`` record rather than skipping it.

Names starting with ``.`` (the processed area ``.ingested/``, ``.DS_Store``, editors' temporary
files) and ``~$`` (an office suite's lock file of an open document) are not drops. After its record
is written and verified, a drop moves to ``.ingested/<record id>/`` (same file system: a rename, so
bytes and modification time are kept and a crash leaves each file in one place or the other).

Inside the inbox nothing is followed: whoever may write the inbox may make any entry a link (to the
signing key, to the DAGs folder) at any moment. A file is checked and read through one descriptor
opened without following a link (what is hashed, parsed and stored is what was checked, even if the
entry is swapped meanwhile), and ``.ingested`` and ``.ingested/<record id>`` are created and entered
through descriptors that refuse a link: a drop is never moved out of the inbox through one. The inbox
path itself may be or pass through a link (the operator's setting, e.g. a mounted share): it is
resolved once, when a task opens the inbox, and everything below it is reached from that descriptor.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimsflow.manual.sidecar import SIDECAR_SUFFIX, document_name, sidecar_name

INGESTED = ".ingested"
#: The spelling staff may reach for instead of ``.evidence.yaml``: refused with a hint, not ignored.
WRONG_SUFFIXES = (".evidence.yml", ".evidence.YAML", ".evidence.json")
#: The largest document taken into a record (a record holds a copy of it).
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
#: A file of a drop: never through a link, never blocking (a FIFO or a device opens, then is refused).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
#: A folder of the processed area: never through a link.
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_CHUNK = 1024 * 1024
SYMLINK = "a symbolic link: links are not followed (copy the file itself into the inbox)"
GONE = "gone from the inbox while it was read"


class FilingError(RuntimeError):
    """A drop is not moved out of the inbox (its record does not verify or is not about it, or the
    processed area is a link or not a folder): the drop stays where it is."""


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
    """Why the inbox entry ``path`` cannot be read as a file of a drop, or None (the entry as it is
    now, without following a link: :func:`read_entry` checks again on the descriptor it reads)."""
    try:
        return _entry_problem(path.name, os.lstat(path))
    except FileNotFoundError:
        return GONE
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"


def _entry_problem(name: str, st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return SYMLINK
    if stat.S_ISDIR(st.st_mode):
        return "a folder: only files at the top of the inbox are read"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if not name.isprintable():
        return "its name holds control characters: rename it"
    if name.endswith(WRONG_SUFFIXES):
        stem = name.rsplit(".evidence.", 1)[0]
        return f"a sidecar must be named <document>{SIDECAR_SUFFIX}: rename it to {stem}{SIDECAR_SUFFIX}"
    return None


@contextmanager
def opened_inbox(inbox: Path) -> Iterator[int]:
    """A descriptor of the inbox folder: the inbox path is resolved here, once (a link at or above it
    is the operator's setting); every entry below it is reached from this descriptor, never by path.
    Raises OSError when the inbox cannot be opened as a folder."""
    fd = os.open(inbox, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _opened_file(inbox_fd: int, name: str) -> Iterator[tuple[int | None, os.stat_result | None, str | None]]:
    """The inbox file ``name`` opened for reading without following a link, with its ``fstat``: or
    (None, None, why) when it is no regular file. The check is made on the descriptor that is read,
    so an entry swapped for a link, a FIFO or a device after any earlier look is refused, not read."""
    try:
        why = _entry_problem(name, os.lstat(name, dir_fd=inbox_fd))
    except FileNotFoundError:
        why = GONE
    except OSError as exc:
        why = f"cannot be read: {exc.strerror or exc}"
    if why is not None:
        yield None, None, why
        return
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=inbox_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            why = SYMLINK
        elif exc.errno == errno.ENOENT:
            why = GONE
        else:
            why = f"cannot be read: {exc.strerror or exc}"
        yield None, None, why
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            yield None, None, "not a regular file"
        else:
            yield fd, st, None
    finally:
        os.close(fd)


def read_entry(inbox_fd: int, name: str, limit: int) -> tuple[bytes | None, str | None]:
    """The bytes of the inbox file ``name`` (at most ``limit``), or why they cannot be had."""
    with _opened_file(inbox_fd, name) as (fd, st, why):
        if fd is None or st is None:
            return None, why
        if st.st_size > limit:
            return None, f"{st.st_size} bytes: larger than the {limit} bytes allowed"
        chunks, total = [], 0
        try:
            while total <= limit and (chunk := os.read(fd, _CHUNK)):
                chunks.append(chunk)
                total += len(chunk)
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        if total > limit:  # grew while it was read
            return None, f"more than the {limit} bytes allowed"
        return b"".join(chunks), None


def _sha256_entry(inbox_fd: int, name: str) -> str | None:
    with _opened_file(inbox_fd, name) as (fd, _, _why):
        if fd is None:
            return None
        digest = hashlib.sha256()
        try:
            while chunk := os.read(fd, _CHUNK):
                digest.update(chunk)
        except OSError:
            return None
        return digest.hexdigest()


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
    try:
        with opened_inbox(inbox) as fd:
            document = None if drop.document is None else _sha256_entry(fd, drop.document)
            return document, None if drop.sidecar is None else _sha256_entry(fd, drop.sidecar)
    except OSError:
        return None, None


def processed_dir(inbox: Path, record_id: str) -> Path:
    return Path(inbox) / INGESTED / record_id


def _folder_problem(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link: the processed area is never reached through a link"
    if not stat.S_ISDIR(st.st_mode):
        return "not a folder"
    return None


def processed_area_problems(inbox_fd: int, inbox: Path) -> list[str]:
    """Why the processed area cannot take a drop now: ``.ingested`` or a folder in it is a link (or
    ``.ingested`` is not a folder); each named with the inbox path ``inbox``. Absent is fine: filing
    creates it. A link is someone's doing: the drop stays and the ``error`` record names the link."""
    shown = Path(inbox) / INGESTED
    try:
        why = _folder_problem(os.lstat(INGESTED, dir_fd=inbox_fd))
    except FileNotFoundError:
        return []
    except OSError as exc:
        why = f"cannot be read: {exc.strerror or exc}"
    if why is not None:
        return [f"{shown}: {why}{_link_target(inbox_fd, INGESTED)}; remove it (filing creates the folder)"]
    try:
        fd = os.open(INGESTED, _FOLDER_FLAGS, dir_fd=inbox_fd)
    except OSError as exc:
        return [f"{shown}: cannot be opened as a folder: {exc.strerror or exc}"]
    try:
        with os.scandir(fd) as entries:
            return [
                f"{shown / e.name}: a symbolic link: the processed area is never reached through a link"
                f"{_link_target(fd, e.name)}; remove it"
                for e in sorted(entries, key=lambda e: e.name)
                if e.is_symlink()
            ]
    finally:
        os.close(fd)


def _link_target(dir_fd: int, name: str) -> str:
    try:
        return f" (to {os.readlink(name, dir_fd=dir_fd)!r})"
    except OSError:
        return ""


def _enter_folder(parent_fd: int, name: str, shown: Path) -> int:
    """A descriptor of the folder ``name`` in ``parent_fd``, created when absent; raises
    :class:`FilingError` when it is a link or not a folder (nothing is created through a link)."""
    try:
        os.mkdir(name, dir_fd=parent_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise FilingError(
            f"{shown}: cannot be created: {exc.strerror or exc}: the drop stays in the inbox"
        ) from None
    try:
        why = _folder_problem(os.lstat(name, dir_fd=parent_fd))
        if why is None:
            return os.open(name, _FOLDER_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        why = f"cannot be opened as a folder: {exc.strerror or exc}"
    raise FilingError(f"{shown}: {why}{_link_target(parent_fd, name)}: the drop stays in the inbox")


def is_filed(inbox: Path, record_id: str, name: str) -> bool:
    """Whether ``.ingested/<record id>/<name>`` exists (as an entry, links not followed); False when
    any folder on the way is missing, a link or not a folder."""
    try:
        with ExitStack() as stack:
            fd = stack.enter_context(opened_inbox(inbox))
            for folder in (INGESTED, record_id):
                fd = os.open(folder, _FOLDER_FLAGS, dir_fd=fd)
                stack.callback(os.close, fd)
            os.lstat(name, dir_fd=fd)
            return True
    except OSError:
        return False


def move_out(inbox: Path, drop: Drop, record_id: str) -> Path:
    """Move the drop's files to ``.ingested/<record id>/`` (renames; an existing file there is never
    replaced) and return that folder. The sidecar moves last: a crash in between leaves the sidecar,
    which names what is missing, rather than a document nobody knows the purpose of.

    Raises :class:`FilingError` (nothing moved) when ``.ingested`` or ``.ingested/<record id>`` is a
    link or not a folder: both are entered through descriptors that refuse a link, and each file is
    renamed between those descriptors, so no path is resolved again after the check."""
    target = processed_dir(inbox, record_id)
    with ExitStack() as stack:
        try:
            inbox_fd = stack.enter_context(opened_inbox(inbox))
        except OSError as exc:
            raise FilingError(f"{inbox}: the inbox cannot be opened: {exc.strerror or exc}") from None
        ingested_fd = _enter_folder(inbox_fd, INGESTED, target.parent)
        stack.callback(os.close, ingested_fd)
        target_fd = _enter_folder(ingested_fd, record_id, target)
        stack.callback(os.close, target_fd)
        for name in drop.names():
            try:
                os.lstat(name, dir_fd=target_fd)
            except FileNotFoundError:
                pass
            else:
                raise FileExistsError(f"{target / name} exists already: a processed file is never replaced")
            os.rename(name, name, src_dir_fd=inbox_fd, dst_dir_fd=target_fd)
    return target
