"""read_verified_10k: reading the 10,000-record store with verification vs without.

What it answers (issue 12, "readers verify"): what does it cost a reader (risk signals, the
nonconformity ledger, custody, ``aimsflow evidence list``) to read only records whose signature
verifies? Measure: ``load_verified`` (every manifest and envelope read, 10,000 Ed25519 signatures
checked, key validity judged at the covering seal's time, record key checked). Baseline:
``load_summaries`` (every manifest read and parsed, nothing verified), the way readers read before.
The ratio is the added cost of verifying. The issue sets no target for it: the goal (ratio <= 5) is a
regression guard set after the first measurements (4.4, CPU ratio 4.3-4.4, at a load of 6-9 on 2 cores).

The store is verify_10k's (built once into ``bench/.cache/verify_10k/``, shared; ``--rebuild`` forces
a new one). Result files are never read by either side, so only the 30 MB of manifests and
envelopes matter here, not the 1 GB of payload.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
from typing import Any

from _util import CACHE, log, stats, time_call
from verify_10k import NAME as STORE_NAME
from verify_10k import StorePaths, StoreSpec, build_store

NAME = "read_verified_10k"
GOAL_RATIO = 5.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _read(paths: StorePaths, verified: bool) -> tuple[float, float, Any]:
    """(wall s, CPU s, what was read) of one read of the store, the trusted-keys load included."""
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.listing import load_summaries, load_verified
    from aimsflow.evidence.storage import LocalStorage

    def read() -> Any:
        storage = LocalStorage(paths.store)
        if verified:
            return load_verified(storage, TrustedKeys.load(paths.trusted_keys))
        return load_summaries(storage)

    gc.collect()
    cpu = _cpu()
    seconds, out = time_call(read)
    return seconds, _cpu() - cpu, out


def _check(verified: Any, plain: Any, spec: StoreSpec) -> list[str]:
    problems = []
    if len(verified.records) != spec.records or verified.rejected:
        problems.append(f"verified read {len(verified.records)} records, refused {len(verified.rejected)}")
    if len(plain) != spec.records:
        problems.append(f"plain read {len(plain)} records")
    if {r.key for r in verified.records} != {r.key for r in plain}:
        problems.append("the two reads return different records")
    return problems


def run(reps: int, rebuild: bool = False, **_: Any) -> dict[str, Any]:
    spec = StoreSpec()
    paths = StorePaths(CACHE / STORE_NAME)
    build_store(spec, paths, force=rebuild)
    load_before = os.getloadavg()

    log(f"{NAME}: warm-up (one read of each, so both read manifests and envelopes from the page cache)")
    _, _, verified = _read(paths, verified=True)
    _, _, plain = _read(paths, verified=False)
    problems = _check(verified, plain, spec)

    with_s: list[float] = []
    without_s: list[float] = []
    with_cpu: list[float] = []
    without_cpu: list[float] = []
    for rep in range(reps):
        # Alternate the order so drift on a noisy machine hits both sides alike.
        for verify in (False, True) if rep % 2 == 0 else (True, False):
            seconds, cpu, out = _read(paths, verified=verify)
            (with_s if verify else without_s).append(seconds)
            (with_cpu if verify else without_cpu).append(cpu)
            if verify:
                verified = out
            else:
                plain = out
        problems += _check(verified, plain, spec)
        log(f"{NAME}: rep {rep + 1}/{reps}: verified {with_s[-1]:.2f} s, unverified {without_s[-1]:.2f} s")

    measure, baseline = stats(with_s), stats(without_s)
    ratio = measure["median"] / baseline["median"]
    details: dict[str, Any] = {
        "store": str(paths.store),
        "records": len(verified.records),
        "refused": len(verified.rejected),
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpu_seconds": {"verified": stats(with_cpu), "unverified": stats(without_cpu)},
        "cpu_ratio": round(statistics.median(with_cpu) / statistics.median(without_cpu), 3),
        "pair_ratios": [round(v / u, 3) for v, u in zip(with_s, without_s, strict=True)],
        "added_ms_per_record": round((measure["median"] - baseline["median"]) * 1000 / spec.records, 4),
    }
    if problems:
        details["problems"] = sorted(set(problems))[:20]
    return {
        "ok": not problems,
        "measure": {"label": "load_verified()", **measure},
        "baseline": {"label": "load_summaries()", **baseline},
        "ratio": round(ratio, 3),
        "goal": f"ratio <= {GOAL_RATIO}",
        "goal_met": ratio <= GOAL_RATIO,
        "details": details,
    }
