"""verify_10k: ``verify_store`` over 10,000 sealed records (~1 GB) vs. coreutils ``sha256sum``.

The store is built once into ``bench/.cache/verify_10k/`` (own key pair, trusted-keys file, witness)
and reused while its parameters match ``READY.json``; ``--rebuild`` forces a new one.
"""

from __future__ import annotations

import base64
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import random
import resource
import shutil
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _util import CACHE, log, run_timed, stats, time_call, tree_stats

NAME = "verify_10k"
GOAL_RATIO = 1.0
KEY_ID = "bench-verify-10k"
# Same files, one process, as the issue states: every file of the store through coreutils sha256sum.
SHA256SUM = "set -o pipefail; find . -type f -print0 | xargs -0 sha256sum > /dev/null"


@dataclass(frozen=True)
class StoreSpec:
    layout: int = 2  # bump when the way the store is built changes, so caches rebuild (2: format-2 seals)
    records: int = 10_000
    file_size: int = 100 * 1024  # one random-bytes result file per record -> ~1.02 GB in all
    days: int = 10  # records spread over this many daily periods
    seal_every: int = 2_500  # -> 4 seals

    @property
    def seals(self) -> int:
        return -(-self.records // self.seal_every)


@dataclass(frozen=True)
class StorePaths:
    base: Path

    @property
    def store(self) -> Path:
        return self.base / "store"

    @property
    def witness(self) -> Path:
        return self.base / "witness"

    @property
    def trusted_keys(self) -> Path:
        return self.base / "keys" / "trusted_keys.json"

    @property
    def marker(self) -> Path:
        return self.base / "READY.json"


@contextlib.contextmanager
def _no_fsync() -> Iterator[None]:
    """Building a throwaway fixture does not need 50,000 fsyncs; one ``sync()`` at the end will do.
    (The bytes written are the same: ``LocalStorage`` is used unchanged otherwise.)"""
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real
        os.sync()


def build_store(spec: StoreSpec, paths: StorePaths, force: bool = False) -> bool:
    """Build the store unless a complete one with the same spec is cached; True when built now."""
    wanted = asdict(spec)
    if not force and paths.marker.exists():
        try:
            if json.loads(paths.marker.read_text()).get("spec") == wanted:
                return False
        except ValueError:
            pass
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from aimsflow import settings
    from aimsflow.evidence.keys import Signer, TrustedKeys, add_trusted_key
    from aimsflow.evidence.record import Producer, RunContext, write_record
    from aimsflow.evidence.seal import Witness, seal_pending
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.witness import init_witness
    from aimsflow.periods import Period
    from aimsflow.results import JobResult, Status, Subject

    log(f"{NAME}: building {spec.records} records x {spec.file_size // 1024} KB in {paths.base} (once)")
    if paths.base.exists():
        shutil.rmtree(paths.base)  # an old or half-built store: start again
    paths.base.mkdir(parents=True)
    seed = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    signer = Signer.from_seed_b64(KEY_ID, seed)
    key_file = paths.base / "keys" / "signing.key"
    key_file.parent.mkdir(parents=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{KEY_ID} {seed}\n")  # kept so the store can be extended by hand; bench-only key
    add_trusted_key(paths.trusted_keys, KEY_ID, signer.public_key_b64, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    storage = LocalStorage(paths.store)
    witness = Witness(paths.witness)
    keys = TrustedKeys.load(paths.trusted_keys)
    init_witness(witness, storage, keys, settings.log_origin())  # explicitly, on the empty store
    rng = random.Random(42)
    first_day = dt.date(2026, 1, 1)
    per_day = -(-spec.records // spec.days)
    with _no_fsync():
        start = time.perf_counter()
        for i in range(spec.records):
            day = first_day + dt.timedelta(days=i // per_day)
            period = Period.day(day)
            producer = Producer(
                kind="task",
                dag_id="bench_verify_10k",
                run_id=f"manual__{day.isoformat()}",
                task_id=f"record_{i:05d}",
                try_number=1,
                max_tries=1,
                run_type="manual",
            )
            result = JobResult(
                check="bench/verify_10k",
                subject=Subject(ai_system="bench", dataset="random_bytes", partition=day.isoformat()),
                status=Status.passed,
                controls=("A.6.2.8", "7.5.3"),
                summary={"index": i, "bytes": spec.file_size},
                files={"payload.bin": rng.randbytes(spec.file_size)},
            )
            ctx = RunContext(
                period=period,
                producer=producer,
                started_at=period.end + dt.timedelta(minutes=5),
                ended_at=period.end + dt.timedelta(minutes=6),
            )
            write_record(storage, result, ctx, signer)
            if (i + 1) % spec.seal_every == 0 or i + 1 == spec.records:
                sealed = seal_pending(storage, signer, witness, keys=keys)
                log(
                    f"{NAME}: {i + 1} records written, seal {sealed.head.sequence} covers {sealed.records_sealed}"
                )
        seconds = time.perf_counter() - start
    files, size = tree_stats(paths.store)
    paths.marker.write_text(
        json.dumps(
            {"spec": wanted, "files": files, "bytes": size, "build_seconds": round(seconds, 1)}, indent=2
        )
        + "\n"
    )
    log(f"{NAME}: built {files} files, {size / 1e9:.2f} GB in {seconds:.0f} s")
    return True


def _verify(paths: StorePaths, workers: int | None = None) -> Any:
    from aimsflow.evidence.keys import TrustedKeys
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.storage import LocalStorage
    from aimsflow.evidence.verify import verify_store

    return verify_store(
        LocalStorage(paths.store),
        TrustedKeys.load(paths.trusted_keys),
        Witness(paths.witness),
        workers=workers,
    )


def _check_report(report: Any, spec: StoreSpec) -> list[str]:
    problems = [str(p) for p in report.problems[:10]]
    if report.records_checked != spec.records or report.files_checked != spec.records:
        problems.append(f"checked {report.records_checked} records / {report.files_checked} files")
    if report.seals_checked != spec.seals or report.pending:
        problems.append(f"{report.seals_checked} seals, {len(report.pending)} pending")
    return problems


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _time_verify(paths: StorePaths, workers: int | None = None) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process, i.e. all verify threads, report)."""
    gc.collect()
    cpu = _cpu(resource.RUSAGE_SELF)
    seconds, report = time_call(lambda: _verify(paths, workers))
    return seconds, _cpu(resource.RUSAGE_SELF) - cpu, report


def _time_sha256sum(paths: StorePaths) -> tuple[float, float]:
    """(wall s, CPU s of the pipeline: bash, find, xargs and sha256sum, all reaped children)."""
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    seconds, code = run_timed(["bash", "-c", SHA256SUM], cwd=paths.store)
    if code != 0:
        raise RuntimeError(f"sha256sum pipeline exited {code}")
    return seconds, _cpu(resource.RUSAGE_CHILDREN) - cpu


def profile_verify(paths: StorePaths, out_dir: Path) -> dict[str, Any]:
    """cProfile one verify (main thread only: hashing in the pool shows up as waiting in ``pool.map``),
    plus verify with 1, 2 and 4 hashing threads to see how the hashing part scales."""
    out_dir.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile()
    profiler.enable()
    _verify(paths)
    profiler.disable()
    profiler.dump_stats(out_dir / "verify_10k.prof")
    text = io.StringIO()
    for order in ("cumulative", "tottime"):
        text.write(f"==== sorted by {order}\n")
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(30)
    (out_dir / "verify_10k.txt").write_text(text.getvalue())
    by_workers = {str(w): round(_time_verify(paths, w)[0], 3) for w in (1, 2, 4)}
    log(f"{NAME}: profile in {out_dir / 'verify_10k.txt'}; seconds by hashing threads {by_workers}")
    return {"profile": str(out_dir / "verify_10k.txt"), "seconds_by_workers": by_workers}


def run(reps: int, rebuild: bool = False, profile: bool = False, **_: Any) -> dict[str, Any]:
    spec = StoreSpec()
    paths = StorePaths(CACHE / NAME)
    build_store(spec, paths, force=rebuild)
    files, size = tree_stats(paths.store)
    load_before = os.getloadavg()

    log(f"{NAME}: warm-up (one pass of each, so both read from the page cache)")
    _time_sha256sum(paths)
    _, _, report = _time_verify(paths)
    problems = _check_report(report, spec)

    verify_s: list[float] = []
    sha_s: list[float] = []
    verify_cpu: list[float] = []
    sha_cpu: list[float] = []
    for rep in range(reps):
        # Alternate the order so drift on a noisy machine hits both sides alike.
        order = ("sha", "verify") if rep % 2 == 0 else ("verify", "sha")
        for which in order:
            if which == "sha":
                seconds, cpu = _time_sha256sum(paths)
                sha_s.append(seconds)
                sha_cpu.append(cpu)
            else:
                seconds, cpu, report = _time_verify(paths)
                verify_s.append(seconds)
                verify_cpu.append(cpu)
                problems += _check_report(report, spec)
        log(
            f"{NAME}: rep {rep + 1}/{reps}: verify {verify_s[-1]:.2f} s (cpu {verify_cpu[-1]:.2f} s), "
            f"sha256sum {sha_s[-1]:.2f} s (cpu {sha_cpu[-1]:.2f} s)"
        )

    verify_stats, sha_stats = stats(verify_s), stats(sha_s)
    ratio = verify_stats["median"] / sha_stats["median"]
    details: dict[str, Any] = {
        "store": str(paths.store),
        "store_files": files,
        "store_bytes": size,
        "records": report.records_checked,
        "seals": report.seals_checked,
        "verify_files_hashed": report.files_checked,
        "verify_bytes_hashed": report.bytes_hashed,
        "verify_ok": report.ok and not problems,
        # Other work on the machine shows here: 1-minute load average before and after the timed reps.
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        # CPU seconds (user + sys) are much less disturbed by other load than wall time: a second
        # opinion when the wall ratio is noisy. verify may use both cores, so its CPU can exceed its wall.
        "cpu_seconds": {"verify": stats(verify_cpu), "sha256sum": stats(sha_cpu)},
        "cpu_ratio": round(statistics.median(verify_cpu) / statistics.median(sha_cpu), 3),
        "pair_ratios": [round(v / s, 3) for v, s in zip(verify_s, sha_s, strict=True)],
        "throughput": {
            # Same denominators for both: every file of the store, so the figures compare directly.
            "verify": {
                "files_per_s": round(files / verify_stats["median"]),
                "mb_per_s": round(size / 1e6 / verify_stats["median"], 1),
            },
            "sha256sum": {
                "files_per_s": round(files / sha_stats["median"]),
                "mb_per_s": round(size / 1e6 / sha_stats["median"], 1),
            },
        },
    }
    if problems:
        details["problems"] = sorted(set(problems))[:20]
    if profile or ratio > GOAL_RATIO:
        details["profile"] = profile_verify(paths, CACHE / "profile")
    return {
        "ok": not problems,
        "measure": {"label": "verify_store()", **verify_stats},
        "baseline": {"label": "find | xargs -0 sha256sum", **sha_stats},
        "ratio": round(ratio, 3),
        "goal": f"ratio <= {GOAL_RATIO}",
        "goal_met": ratio <= GOAL_RATIO,
        "details": details,
    }
