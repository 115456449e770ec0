"""Review: the manual_evidence DAG follows a symbolic link at ``inbox/.ingested``.

Someone with write access to the inbox (only) makes ``.ingested`` a link to any folder the Airflow
worker can write (e.g. the DAGs folder); file_away then creates ``<record id>/`` there and moves the
dropped document (any bytes, any name, e.g. ``x.py``) into it, as the worker's user."""

from __future__ import annotations

import os

from tests.manual.conftest import drop, inbox, run_drops  # noqa: F401


def test_filing_does_not_follow_a_linked_ingested_folder(inbox, tmp_path):
    """Bug (review finding 2): ``move_out`` created ``.ingested/<record id>/`` and renamed the drop
    through a symbolic link at ``inbox/.ingested``, so an inbox writer could put any file (a DAG file)
    in any folder the worker may write."""
    elsewhere = tmp_path / "dags"  # stands for any folder the worker may write
    elsewhere.mkdir()
    os.symlink(elsewhere, inbox / ".ingested")
    item = drop(inbox, "payload.py", b"print('runs in the DAG processor')\n")
    out = run_drops([item])
    landed = list(elsewhere.rglob("payload.py"))
    assert not landed, f"drop moved through the .ingested link to {landed} (outcome {out})"
