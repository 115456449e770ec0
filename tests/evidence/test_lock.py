import multiprocessing
import time

import pytest

from aimsflow.evidence.lock import StoreBusy, is_locked, store_lock


def _hold(root, ready, release):
    with store_lock(root, "retention_disposal/execute"):
        ready.set()
        release.wait(10)


def test_second_holder_waits_then_names_the_first(tmp_path):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    proc.start()
    try:
        assert ready.wait(10)
        assert "retention_disposal/execute" in (is_locked(tmp_path) or "")
        with pytest.raises(StoreBusy, match="retention_disposal/execute"):
            with store_lock(tmp_path, "evidence_seal/seal", timeout=0.3):
                pass
    finally:
        release.set()
        proc.join(10)
    assert is_locked(tmp_path) is None
    with store_lock(tmp_path, "evidence_seal/seal", timeout=1):
        pass


def test_lock_released_when_holder_dies(tmp_path):
    """A killed holder must not leave a stale lock (flock is released by the kernel)."""
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    proc.start()
    assert ready.wait(10)
    proc.kill()
    proc.join(10)
    started = time.monotonic()
    with store_lock(tmp_path, "evidence_seal/seal", timeout=2):
        assert time.monotonic() - started < 2
