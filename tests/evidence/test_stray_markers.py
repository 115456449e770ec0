"""A stray marker file planted by someone with write access to the store must not hide records."""

from __future__ import annotations

import os

import pytest

from aimsflow.evidence.keys import Signer, TrustedKeys
from aimsflow.evidence.listing import load_summaries, load_verified
from aimsflow.evidence.seal import Witness, record_keys, seal_pending, sealed_keys
from aimsflow.evidence.verify import verify_store
from aimsflow.results import Status


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_marker_planted_in_a_period_folder_hides_no_record(storage, make_record, kind):
    """Bug (found on review of the ``iter_dirs_with`` fix): a ``manifest.dsse.json`` planted one level
    down, in ``records/<period>/`` (a file, or a link to nothing), made ``iter_dirs_with`` stop there:
    the sealer saw only that folder (refused it, sealed nothing: a pending failed record stayed
    pending for ever), the verifying readers loaded no record at all, and with the dangling link
    verify reported nothing. Now the records below are listed, sealed and loaded, and the planted
    folder is refused and reported as what it is."""
    sealed = make_record(run="r1")
    seal_pending(storage, Signer.from_settings(), Witness())
    pending = make_record(run="r2", status=Status.failed)
    day = storage.root / "records" / sealed.key.split("/")[1]
    planted = day / "manifest.dsse.json"
    if kind == "file":
        planted.write_text("{}\n")
    else:
        os.symlink("/nonexistent/manifest.dsse.json", planted)
    day_key = f"records/{day.name}"

    assert record_keys(storage) == sorted([day_key, sealed.key, pending.key])
    outcome = seal_pending(storage, Signer.from_settings(), Witness())
    assert outcome.records_sealed == 1
    assert [(r.key, r.problem) for r in outcome.refused] == [
        (day_key, "unreadable record: No such file or directory")
    ]
    assert set(sealed_keys(storage)) == {sealed.key, pending.key}

    loaded = load_verified(storage, TrustedKeys.load())
    assert sorted(r.key for r in loaded.records) == sorted([sealed.key, pending.key])
    assert [u.key for u in loaded.rejected] == [day_key]
    assert sorted(s.key for s in load_summaries(storage)) == sorted([sealed.key, pending.key])

    report = verify_store(storage, TrustedKeys.load(), Witness())
    if kind == "file":
        assert [(p.object, p.problem) for p in report.problems] == [
            (day_key, "record lacks manifest.json (deleted file)")
        ]
