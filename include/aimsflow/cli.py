"""``aimsflow`` — the command line for compliance staff and auditors.

    aimsflow evidence verify   [--root DIR] [--period P | --since P --until P] [--json] [--progress]
    aimsflow evidence list     [--control ID] [--dag ID] [--check ID] [--ai-system ID] [--dataset ID]
                               [--status S] [--period P | --since P --until P] [--history] [--json]
    aimsflow evidence controls [--json]   the ISO/IEC 42001 control ids records are mapped to
    aimsflow evidence prove    RECORD [--root DIR] [--json]   inclusion proof of a sealed record
    aimsflow evidence show     RECORD [--root DIR] [--json] [--html FILE]   one record, readable
    aimsflow evidence sample   --period P --n N --seed S [--control ID] [--framework F] [--dag ID]
                               [--ai-system ID] [--dataset ID] [--status S] [--per-control K]
                               [--exclude-sampled P] [--current-only] [--no-seal] [--json]
                               draw a reproducible sample, written (and sealed) as a record
    aimsflow evidence export   --sample RECORD -o BUNDLE.zip [--root DIR] [--witness DIR] [--json]
                               the sample's records, proofs, keys, pages and verify_bundle.py
    aimsflow witness init      [--witness DIR] [--store DIR] [--json]   start a witness (once)
    aimsflow witness update    [--witness DIR] [--store DIR] [--json]   advance it, checking every seal
    aimsflow keys demo         create a local demo signing key outside the repo
    aimsflow demo generate     drop the demo source system's raw batches and documents
    aimsflow cycle             run the governance cycle with dag.test() (what `make run` does)
    aimsflow nc list           [--status open|closed] [--json]   nonconformities (clause 10.2)
    aimsflow nc show ID        [--root DIR] [--json] [--html FILE]   one nonconformity, readable
    aimsflow nc close ID       --root-cause TEXT --corrective-action TEXT [--url URL] [--username U]
                               [--wait SECONDS]   triggers the nonconformity_close DAG (REST API)
    aimsflow acquisition record --dataset ID --file PATH [--source S] [--method M] [--legal-basis B]
                               [--agreement REF] [--received-at T] [--json]   external data (A.7.3)
    aimsflow soa               [--framework F] [--as-of DATE] [--period P] [--json]   the Statement of
                               Applicability with live status, per control or per framework
    aimsflow oscal export      --period P -o AR.json [--as-of DATE] [--root DIR] [--json]   OSCAL
                               assessment results of the period, with the plan, SSP, profile and catalog
    aimsflow completion bash|zsh   print a shell completion script
    aimsflow --version

Periods: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026, or A..B.

Results go to stdout; with --json stdout holds one JSON document and nothing else. Messages, prompts
and progress go to stderr (progress only when stderr is a terminal, or with --progress).

This module imports only the standard library and aimsflow's own standard-library modules at load
time: `aimsflow evidence verify` must run in the verify-only install (pip install 'aimsflow[verify]'),
which has no Airflow, pandas or GX. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from aimsflow import settings
from aimsflow.periods import Period, parse_period, period_between

# Exit codes, the same meaning in every command (each command's --help lists the ones it uses).
EXIT_OK = 0
EXIT_PROBLEMS = 1  # the command ran and found a problem: a store that does not verify, a failed run
EXIT_USAGE = 2  # bad arguments (argparse's own code): an unknown option, period or control id
EXIT_UNAVAILABLE = 3  # could not run: no such store, no trusted-keys file, Airflow API unreachable

_EXIT_LINES = {
    EXIT_OK: "0  success",
    EXIT_USAGE: "2  usage error: bad option or value (message on stderr)",
}


def _epilog(*lines: str) -> str:
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines)


EPILOGS = {
    "verify": _epilog(
        "0  the store verifies (records pending a seal are not a failure)",
        '1  verification found problems (each listed as BROKEN; with --json in "problems")',
        _EXIT_LINES[EXIT_USAGE],
        "3  could not verify: no such store, or no trusted-keys file",
    ),
    "list": _epilog(
        "0  listed (also when no record matches)",
        "1  listed, but some record folders do not verify against the trusted keys: they are not",
        "   listed as records but flagged (UNTRUSTED lines; with --json on stderr)",
        "2  usage error: bad option, period, an unknown control id (see `aimsflow evidence controls`)",
        "   or a --check that names no declared check",
        "3  no such store, or no trusted-keys file",
    ),
    "controls": _epilog(_EXIT_LINES[EXIT_OK]),
    "prove": _epilog(
        "0  the proof was printed",
        "1  no proof: the record is pending or unknown, the log has no checkpoint yet, or it is broken",
        _EXIT_LINES[EXIT_USAGE],
        "3  no such store",
    ),
    "show": _epilog(
        "0  shown: the record verifies and every file matches its signed manifest",
        "1  not shown: the record does not verify against the trusted keys (UNTRUSTED and the reason;",
        '   with --json {"verified": false, "problem": ...}); or shown, but a file is missing, changed or',
        '   not listed in the signed manifest (PROBLEM lines; with --json in "problems")',
        "2  usage error, or RECORD names no record of the store (unknown, or disposed of) or several",
        "   (an ambiguous record id: the candidates are listed; give the key), or the crosswalk does",
        "   not load",
        "3  no such store, or no trusted-keys file",
    ),
    "nc show": _epilog(
        "0  shown",
        "1  shown, but some record folders do not verify against the trusted keys: they were not read,",
        "   so the nonconformity may lack what they hold (listed on stderr)",
        "2  usage error, no nonconformity with that id, or the risk methodology or crosswalk does not",
        "   load",
        "3  no such store, or no trusted-keys file",
    ),
    "sample": _epilog(
        "0  the sample was drawn, written as a record and sealed (or left pending with --no-seal)",
        "1  the sample was written, but some record folders do not verify (left out of the population,",
        "   listed on stderr), or it could not be sealed now (it stays pending; reason on stderr)",
        "2  usage error: bad option, period, control id, --n/--per-control below 1, unknown framework",
        "3  no such store, no trusted-keys file, or no signing key",
    ),
    "export": _epilog(
        "0  the bundle was written (and verified with its own verify_bundle.py before it was)",
        "1  refused, nothing written: a drawn record does not verify, is pending or changed, the log",
        "   does not verify, or the witness does not hold the store or lags behind a drawn record,",
        "   a spec blob is a symbolic link, missing or changed, or the signing key is not a trusted",
        "   key valid at the witness's checkpoint",
        "2  usage error: --sample names no sample record (a key, its folder or its manifest.json), or",
        "   the crosswalk does not load",
        "3  no such store, no trusted-keys file, or no signing key (it signs the bundle's file list)",
    ),
    "witness init": _epilog(
        "0  the witness started (at the store's latest checkpoint, or the empty tree)",
        "1  refused: the witness already started, or the store's log does not verify",
        _EXIT_LINES[EXIT_USAGE],
        "3  no such store, or no trusted-keys file",
    ),
    "witness update": _epilog(
        "0  the witness accepted every new seal (or there was none)",
        "1  refused: the store is behind the witness, inconsistent with it, or a seal does not verify",
        _EXIT_LINES[EXIT_USAGE],
        "3  no such store, no trusted-keys file, or the witness never started",
    ),
    "acquisition": _epilog(
        "0  the acquisition record was written",
        "2  refused: unknown dataset, missing or empty file, empty provenance field, bad --received-at,",
        "   or an invalid configuration (message on stderr; nothing written)",
    ),
    "keys demo": _epilog(_EXIT_LINES[EXIT_OK], _EXIT_LINES[EXIT_USAGE]),
    "demo generate": _epilog(_EXIT_LINES[EXIT_OK], _EXIT_LINES[EXIT_USAGE]),
    "cycle": _epilog(
        "0  every DAG ran and the store verifies (findings, i.e. failed records, are not failures)",
        "1  the machinery broke (an error record, a run without a record) or the store does not verify",
        _EXIT_LINES[EXIT_USAGE],
        "3  could not run: a DAG file does not import",
    ),
    "nc list": _epilog(
        _EXIT_LINES[EXIT_OK],
        "1  listed, but some record folders do not verify against the trusted keys (not read; flagged)",
        _EXIT_LINES[EXIT_USAGE],
        "3  no such store, or no trusted-keys file",
    ),
    "nc close": _epilog(
        "0  the run was triggered (without --wait), or it succeeded",
        "1  the run failed: the closure was refused or broke (see its record)",
        _EXIT_LINES[EXIT_USAGE],
        "3  the Airflow API could not be reached, or refused the login or the trigger",
    ),
    "completion": _epilog(_EXIT_LINES[EXIT_OK], _EXIT_LINES[EXIT_USAGE]),
    "soa": _epilog(
        "0  every applicable control has fresh evidence, a passing latest verdict and no open",
        "   nonconformity, and every record folder verifies",
        "1  printed, with gaps: an applicable control stale or missing, failing, or with open",
        "   nonconformities (each listed under gaps), or record folders that do not verify (not read)",
        "2  usage error: bad option, --as-of or --period, unknown --framework, or an invalid",
        "   soa.yaml or crosswalk.yaml (every problem on stderr)",
        "3  no such store, or no trusted-keys file",
    ),
    "oscal export": _epilog(
        "0  written: the assessment results and the documents they import (whatever the findings say:",
        "   a not-satisfied control is a finding of the assessment, not a failure of the export)",
        "1  written, but some record folders do not verify against the trusted keys: they were not read",
        "   (listed on stderr, and in the results' remarks)",
        "2  usage error: bad option, --period or --as-of (before the period), an invalid soa.yaml or",
        "   crosswalk.yaml, an SoA with no applicable Annex A control, or a file of a document's name",
        "   that is not this store's (nothing written)",
        "3  no such store, or no trusted-keys file",
    ),
}

TOP_EPILOG = """exit codes (each command's --help lists its own):
  0  success
  1  the command ran and found a problem (a store that does not verify, a failed run)
  2  usage error: bad option or value (unknown control id, bad period, ...)
  3  could not run: no such store, no trusted-keys file, Airflow API unreachable
Errors are one line on stderr starting with "aimsflow:"; stdout is then empty."""


SAMPLE_DESCRIPTION = """Draw a reproducible sample of the records of a period and write it as a signed record
(check evidence_sample/sample), sealed at once unless --no-seal.

Population: the records that verify, whose period overlaps --period, matching the filters, that are
not samples themselves, minus what samples of --exclude-sampled drew (superseded records included
unless --current-only).

Method sha256-rank/1: rank each record by SHA-256(seed, a newline, record key), lowest first (in a
shell: printf '%s\\n%s' "$SEED" "$KEY" | sha256sum); with --per-control K, take the K lowest of every
control in scope (all of a control that has fewer); then draw in rank order until --n are drawn.
Same population and seed, same sample, on any machine (docs/auditing.md)."""

EXPORT_DESCRIPTION = """Pack the records a sample drew into one zip an auditor checks offline: the records as
stored, their inclusion proofs, checkpoints and seals, the witness's checkpoint, the trusted PUBLIC
keys, spec contents, one readable page per record, index.html/index.json (traceability), README.txt
and verify_bundle.py (Python 3.11+, standard library only). The sample record must be sealed."""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit with ``code`` (nothing on stdout, so --json readers see none)."""
    print(f"aimsflow: {message}", file=sys.stderr)
    raise SystemExit(code)


def package_version() -> str:
    """The installed distribution's version (package metadata), else the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aimsflow")
    except PackageNotFoundError:
        from aimsflow import __version__

        return __version__


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, default=str))


def _period_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", help="one period: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026 or A..B")
    parser.add_argument("--since", help="start of a range (inclusive, any period syntax)")
    parser.add_argument("--until", help="end of a range (inclusive, any period syntax)")


def _json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout (keys: README)")


def _progress_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr (default: only when stderr is a terminal)",
    )


def _period(args: argparse.Namespace) -> Period | None:
    if args.period and (args.since or args.until):
        fail("use --period or --since/--until, not both")
    try:
        return parse_period(args.period) if args.period else period_between(args.since, args.until)
    except ValueError as exc:
        fail(str(exc))


def _storage(args: argparse.Namespace):
    from aimsflow.evidence.storage import LocalStorage

    root = Path(args.root).resolve() if getattr(args, "root", None) else settings.evidence_root()
    if not root.exists():
        fail(f"evidence store {root} does not exist", EXIT_UNAVAILABLE)
    return LocalStorage(root)


def cmd_verify(args: argparse.Namespace) -> int:
    from aimsflow.evidence.keys import KeyError_, TrustedKeys
    from aimsflow.evidence.seal import Witness
    from aimsflow.evidence.verify import verify_store
    from aimsflow.progress import Progress

    period = _period(args)
    storage = _storage(args)
    try:
        keys = TrustedKeys.load()
    except KeyError_ as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    witness = Witness(Path(args.witness).resolve() if args.witness else None)
    with Progress("verifying", enabled=args.progress) as progress:
        progress.update(0, note="reading seals, listing files")  # before the first count arrives
        report = verify_store(
            storage, keys, witness, period, progress=lambda d, t: progress.update(d, t, note="files hashed")
        )
    if args.json:
        _print_json(report.as_dict())
    else:
        head = f"seal {report.head.sequence}" if report.head else "no seal yet"
        print(
            f"{storage.root}: {report.records_checked} records, {report.files_checked} files "
            f"({report.bytes_hashed / 1e6:.1f} MB), {report.seals_checked} seals, head {head}"
        )
        if report.pending:
            print(f"pending (not sealed yet, sealed by the next evidence_seal run): {len(report.pending)}")
        if report.disposed:
            print(f"lawfully disposed of (a valid tombstone names each): {len(report.disposed)}")
        for problem in report.problems:
            print(f"BROKEN {problem}")
        print("OK: evidence intact" if report.ok else f"FAILED: {len(report.problems)} problem(s)")
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def cmd_prove(args: argparse.Namespace) -> int:
    from aimsflow.evidence.tlog import ProveError, prove_inclusion

    storage = _storage(args)
    record = args.record.rstrip("/")
    if Path(record).is_absolute():
        try:
            record = Path(record).resolve().relative_to(storage.root.resolve()).as_posix()
        except ValueError:
            fail(f"{args.record} is not inside the store {storage.root}")
    try:
        proof = prove_inclusion(storage, record)
    except ProveError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    if args.json:
        _print_json(proof.as_dict())
        return EXIT_OK
    print(f"record:     {proof.record}")
    print(f"leaf:       {proof.leaf_index}")
    print(f"leaf data:  {proof.manifest_sha256} (SHA-256 of its manifest.json)")
    print(f"tree size:  {proof.tree_size} (checkpoint of seal {proof.seal})")
    print("audit path:")
    for node in proof.path:
        print(f"  {node.hex()}")
    print("checkpoint:")
    for line in proof.checkpoint.splitlines():
        print(f"  {line}")
    print("check it anywhere, with the record's manifest.json (standard library only):")
    print("  aimsflow evidence prove RECORD --json > proof.json")
    print("  python3 -I scripts/verify_inclusion.py proof.json path/to/RECORD/manifest.json")
    return EXIT_OK


SHOW_DESCRIPTION = """One record as a person reads it, from its verified manifest: controls (with titles),
period, status and message, the run (DAG, run id, task, try, who triggered it), inputs and specs with
their SHA-256, code version, OpenLineage run id, what it superseded or was superseded by, the
nonconformity it opened or closed, its seal, and its files (hashed again). Text shortens hashes to 12
digits; --json and --html give them whole. A record whose signature does not verify is not shown."""


NC_SHOW_DESCRIPTION = """One nonconformity (ISO/IEC 42001 10.2) as a person reads it: its cause (check and
subject), the controls of its failing records, every occurrence with its record and failing re-runs,
its closure (who, when, in which run, root cause, corrective action) and the later passing run it was
closed on, or for an open one the later passing run that would close it. Read from the verified
records only."""

VERIFY_DESCRIPTION = """Check the evidence store as an auditor would: every record's files against its
signed manifest, every signature against the trusted keys (valid at the time of the seal that took
the record in), the log's seals, checkpoints and inclusion, and the witness's checkpoint against the
log. Needs only the verify-only install (pip install 'aimsflow[verify]')."""

PROVE_DESCRIPTION = """Print the RFC 6962 inclusion proof of a sealed record against the log's latest
checkpoint: its leaf (the SHA-256 of its manifest.json), the tree size, the audit path and that signed
checkpoint. Check it anywhere with python3 -I scripts/verify_inclusion.py (standard library only)."""

SOA_DESCRIPTION = """The Statement of Applicability (include/config/soa.yaml) with each control's live
status: applicable or excluded (with the justification), what evidences it, the latest verdict,
freshness against its max_age_days, open nonconformities, and every gap in words; with --framework,
per item of another framework through the crosswalk. The numbers are the one coverage computation
every renderer shows (the OSCAL findings too)."""


def _write_html(path: str, page: str) -> None:
    """Write a page; the message goes to stderr (stdout holds the text or the --json document)."""
    target = Path(path)
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        fail(f"--html {path}: {exc.strerror or exc}")
    print(f"aimsflow: wrote {target}", file=sys.stderr)


def cmd_show(args: argparse.Namespace) -> int:
    from aimsflow.audit.show import (
        AmbiguousRecord,
        RecordNotTrusted,
        UnknownRecord,
        describe_record,
        read_store,
        resolve_record,
    )
    from aimsflow.audit.text import record_lines
    from aimsflow.configfile import ConfigError
    from aimsflow.tables import terminal_width

    storage = _storage(args)
    keys = _trusted_keys()
    try:
        snapshot = read_store(storage, keys)
    except ConfigError as exc:
        fail(f"the configuration does not load: {'; '.join(exc.problems)}")
    try:
        key = resolve_record(snapshot, args.record)
        view = describe_record(storage, key, keys, snapshot=snapshot)
    except (UnknownRecord, AmbiguousRecord) as exc:
        fail(str(exc))
    except RecordNotTrusted as exc:
        if args.json:
            _print_json(exc.as_dict())
        else:
            print(f"UNTRUSTED {exc.key}: {exc.problem}")
            print("not shown: only a record whose signature verifies is described (aimsflow evidence verify)")
        return EXIT_PROBLEMS
    if args.html:
        from aimsflow.audit.html import render_record_page

        _write_html(args.html, render_record_page(view))
    if args.json:
        _print_json(view.as_dict())
    else:
        width = terminal_width()
        for line in record_lines(view, width, cut=width is not None):
            print(line)
    return EXIT_PROBLEMS if view.problems else EXIT_OK


def cmd_nc_show(args: argparse.Namespace) -> int:
    from aimsflow.audit.show import UnknownNonconformity, describe_nonconformity, read_store
    from aimsflow.audit.text import nc_lines
    from aimsflow.configfile import ConfigError
    from aimsflow.tables import terminal_width

    storage = _storage(args)
    keys = _trusted_keys()
    try:
        snapshot = read_store(storage, keys)
        view = describe_nonconformity(storage, args.id, keys, snapshot=snapshot)
    except UnknownNonconformity as exc:
        fail(str(exc))
    except ConfigError as exc:
        fail(f"the configuration does not load: {'; '.join(exc.problems)}")
    if args.html:
        from aimsflow.audit.html import render_nc_page

        _write_html(args.html, render_nc_page(view))
    if args.json:
        _print_json(view.as_dict())
    else:
        for line in nc_lines(view, terminal_width()):
            print(line)
    _report_untrusted(snapshot.evidence.rejected)
    return EXIT_PROBLEMS if snapshot.evidence.rejected else EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    from aimsflow.audit.sample import SampleError, SampleRequest, draw_sample, seal_sample, write_sample
    from aimsflow.evidence.controls import ordered_controls
    from aimsflow.evidence.keys import KeyError_, Signer
    from aimsflow.evidence.listing import load_verified
    from aimsflow.evidence.seal import SealRefused
    from aimsflow.progress import Progress
    from aimsflow.tables import terminal_width

    control = _control(args.control)
    try:
        period = parse_period(args.period)
        exclude = parse_period(args.exclude_sampled) if args.exclude_sampled else None
        request = SampleRequest(
            period=period,
            seed=args.seed,
            n=args.n,
            per_control=args.per_control,
            control=control,
            framework=args.framework,
            dag=args.dag,
            ai_system=args.ai_system,
            dataset=args.dataset,
            status=args.status,
            exclude_sampled=exclude,
            current_only=args.current_only,
        )
    except (ValueError, SampleError) as exc:
        fail(str(exc))
    storage = _storage(args)
    keys = _trusted_keys()
    try:
        signer = Signer.from_settings()
    except KeyError_ as exc:
        fail(f"the sample is written as a signed record: {exc}", EXIT_UNAVAILABLE)
    with Progress("reading records", enabled=args.progress) as progress:
        progress.update(0, note="reading seals")
        loaded = load_verified(storage, keys, progress=lambda d, t: progress.update(d, t, note=""))
    try:
        sample = draw_sample(storage, loaded, request)
    except SampleError as exc:
        fail(str(exc))
    ref = write_sample(storage, sample, signer)
    sealed_in, seal_problem = None, None
    if not args.no_seal:
        try:
            result = seal_sample(storage, ref.key, signer)
            refused = [r.problem for r in result.refused if r.key == ref.key]
            if refused or not result.records_sealed or result.head is None:
                seal_problem = refused[0] if refused else "the seal did not take the sample record in"
            else:
                sealed_in = result.head.sequence
        except SealRefused as exc:
            seal_problem = str(exc)
    code = EXIT_PROBLEMS if loaded.rejected or seal_problem else EXIT_OK
    summary = sample.summary()
    if args.json:
        doc = {"record": ref.key, "sealed_in": sealed_in, "seal_problem": seal_problem, **summary}
        doc["untrusted_records"] = [u.as_dict() for u in loaded.rejected]
        _print_json(doc)
    else:
        sealed = f"sealed in seal {sealed_in}" if sealed_in else "pending: not sealed yet"
        print(f"sample {ref.key} ({sealed})")
        filters = ", ".join(f"{k} {v}" for k, v in summary["filters"].items() if v and k != "period")
        print(
            f"population: {len(sample.population)} record(s) of {request.period.label}"
            + (f" ({filters})" if filters else "")
            + f"; seed {request.seed!r}, method {summary['method']}"
        )
        if sample.excluded_records:
            print(
                f"left out: {sample.excluded_records} record(s) drawn by {len(sample.excluded_samples)} earlier sample(s)"
            )
        for stratum in summary["strata"]:
            short = f" (fewer than {request.per_control}: all drawn)" if stratum["short"] else ""
            print(f"  {stratum['control']}: {stratum['drawn']} drawn of {stratum['population']}{short}")
        print(f"drawn: {len(sample.drawn)} (rank, record; rank hashes in --json and the sample record)")
        width = terminal_width()
        order = {c: i for i, c in enumerate(ordered_controls())}
        for d in sample.drawn:
            print(f"  {d['rank']:>6}  {d['record']}")
            if d["strata"]:
                strata = sorted(d["strata"], key=lambda c: order.get(c, len(order)))
                for line in _wrapped(" " * 10 + "lowest of ", ", ".join(strata), width):
                    print(line)
        print("export it:")
        print(f"  aimsflow evidence export --sample {ref.key} -o bundle.zip")
    if seal_problem:
        print(f"aimsflow: the sample record is written but not sealed: {seal_problem}", file=sys.stderr)
    _report_untrusted(loaded.rejected)
    return code


def cmd_export(args: argparse.Namespace) -> int:
    from aimsflow.audit.bundle import ExportRefused, NotASample, export_bundle
    from aimsflow.configfile import ConfigError
    from aimsflow.evidence.keys import KeyError_
    from aimsflow.evidence.witness import Witness

    storage = _storage(args)
    keys = _trusted_keys()
    witness = Witness(Path(args.witness).resolve() if args.witness else None)
    say = (lambda text: print(f"aimsflow: {text}", file=sys.stderr)) if args.progress else None
    try:
        result = export_bundle(storage, keys, witness, args.sample, Path(args.output), progress=say)
    except NotASample as exc:
        fail(str(exc))
    except ConfigError as exc:
        fail(f"the configuration does not load: {'; '.join(exc.problems)}")
    except ExportRefused as exc:
        fail(f"no bundle written: {exc}", EXIT_PROBLEMS)
    except KeyError_ as exc:
        fail(f"no bundle written: the bundle's file list is signed: {exc}", EXIT_UNAVAILABLE)
    if args.json:
        _print_json(result.as_dict())
        return EXIT_OK
    checked = result.verdict["summary"]
    print(f"bundle {result.path} ({result.size / 1e6:.2f} MB)")
    print(f"  sha256       {result.sha256}")
    print(f"  sample       {result.sample} ({result.records} drawn record(s))")
    print(f"  self-check   verify_bundle.py: {checked['ok']} of {checked['records']} records OK")
    print(f"  keys         fingerprint {result.keys_sha256}")
    print(f"  checker      verify_bundle.py sha256 {result.checker_sha256}")
    print("               give both to the auditor through another channel than the bundle")
    print("verify offline:")
    print(f"  unzip {result.path.name} && cd {result.folder}")
    print(f"  python3 -I verify_bundle.py --keys-sha256 {result.keys_sha256}")
    return EXIT_OK


def _witness_args(args: argparse.Namespace):
    from aimsflow.evidence.keys import KeyError_, TrustedKeys
    from aimsflow.evidence.witness import Witness

    if args.store:
        args.root = args.store
    storage = _storage(args)
    try:
        keys = TrustedKeys.load()
    except KeyError_ as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    return Witness(Path(args.witness).resolve() if args.witness else None), storage, keys


def _print_witness(update: Any, args: argparse.Namespace, verb: str) -> None:
    after = update.after
    if args.json:
        _print_json(
            {
                "witness": str(args.witness or settings.witness_dir()),
                "accepted": update.accepted,
                "before": update.before.as_dict() if update.before else None,
                "after": after.as_dict(),
            }
        )
        return
    where = f"seal {after.sequence}, tree size {after.tree_size}" if after.sequence else "the empty tree"
    news = f"; accepted seal(s) {update.accepted[0]}..{update.accepted[-1]}" if update.accepted else ""
    print(f"witness {verb} at {where}{news}")


def cmd_witness_init(args: argparse.Namespace) -> int:
    from aimsflow.evidence.witness import WitnessRefused, init_witness

    witness, storage, keys = _witness_args(args)
    try:
        update = init_witness(witness, storage, keys, settings.log_origin())
    except WitnessRefused as exc:
        fail(f"witness not started: {exc}", EXIT_PROBLEMS)
    _print_witness(update, args, "started")
    return EXIT_OK


def cmd_witness_update(args: argparse.Namespace) -> int:
    from aimsflow.evidence.witness import WitnessRefused, update_witness

    witness, storage, keys = _witness_args(args)
    try:
        started = witness.read() is not None
    except ValueError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    if not started:
        fail(
            f"{witness.describe()}: the witness never started: run `aimsflow witness init` once",
            EXIT_UNAVAILABLE,
        )
    try:
        update = update_witness(witness, storage, keys)
    except WitnessRefused as exc:
        fail(f"refused: {exc}", EXIT_PROBLEMS)
    _print_witness(update, args, "is")
    return EXIT_OK


def _control(text: str | None) -> str | None:
    from aimsflow.evidence.controls import UnknownControlError, canonical_control

    if text is None:
        return None
    try:
        return canonical_control(text)
    except UnknownControlError as exc:
        fail(f"{exc}; `aimsflow evidence controls` lists the valid ids")


def _check_is_declared(check: str | None) -> None:
    """``--check`` must name a declared check or a prefix of whole parts of one: a typo
    (``data_qualty``) or an old id would silently list nothing. Where the job side is not installed
    (the verify-only install cannot import the declarations) the filter is applied unchecked."""
    if not check:
        return
    try:
        from aimsflow.jobs import all_checks

        declared = [c.id for c in all_checks()]
    except ImportError:
        return
    prefix = check.rstrip("/") + "/"
    if not any(c == check or c.startswith(prefix) for c in declared):
        fail(f"--check {check!r} names no declared check; declared: {', '.join(declared)}")


def _trusted_keys():
    from aimsflow.evidence.keys import KeyError_, TrustedKeys

    try:
        return TrustedKeys.load()
    except KeyError_ as exc:
        fail(str(exc), EXIT_UNAVAILABLE)


def _report_untrusted(rejected: list) -> None:
    """Folders a reader refused, one line each on stderr (stdout may be a --json document)."""
    if rejected:
        print(
            f"aimsflow: {len(rejected)} record folder(s) do not verify against the trusted keys and are "
            "not listed (run `aimsflow evidence verify`):",
            file=sys.stderr,
        )
        for u in rejected:
            print(f"  {u.key}: {u.problem}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    from aimsflow.evidence.listing import filter_records, load_verified
    from aimsflow.progress import Progress
    from aimsflow.tables import Column, render_table, terminal_width

    control, period = _control(args.control), _period(args)
    _check_is_declared(args.check)
    storage = _storage(args)
    keys = _trusted_keys()
    with Progress("reading records", enabled=args.progress) as progress:
        progress.update(0, note="reading seals")
        loaded = load_verified(storage, keys, progress=lambda d, t: progress.update(d, t, note=""))
    code = EXIT_PROBLEMS if loaded.rejected else EXIT_OK
    records = filter_records(
        loaded.records,
        control=control,
        dag=args.dag,
        check=args.check,
        ai_system=args.ai_system,
        dataset=args.dataset,
        status=args.status,
        period=period,
        history=args.history,
    )
    if args.json:
        _print_json([r.as_dict() for r in records])
        _report_untrusted(loaded.rejected)
        return code
    rows = []
    for r in records:
        # a partition, or for manual evidence the document: which of a run's records is which
        detail = r.subject.get("partition") or r.summary.get("document")
        subject = "/".join(v for v in (r.subject.get("dataset") or r.subject.get("ai_system"), detail) if v)
        mark = " (superseded)" if r.superseded else ""
        sealed = "" if r.sealed_in else " [pending seal]"
        rows.append(
            [r.period.label, str(r.status), r.check, subject, ",".join(r.controls), r.key + mark + sealed]
        )
    columns = [
        Column("period"),
        Column("status"),
        Column("check", shrink=True, min_width=16),
        Column("subject", shrink=True),
        Column("controls", shrink=True),
        Column("record"),
    ]
    for line in render_table(columns, rows, terminal_width()):
        print(line)
    for u in loaded.rejected:
        print(f"UNTRUSTED {u.key}: {u.problem}")
    print(f"{len(records)} record(s)" + ("" if args.history else " (current verdicts; --history for all)"))
    _report_untrusted(loaded.rejected)
    return code


def cmd_controls(args: argparse.Namespace) -> int:
    from aimsflow.evidence.controls import ANNEX_A, CONTROLS, ordered_controls
    from aimsflow.tables import Column, render_table, terminal_width

    rows = [
        {"id": c, "kind": "annex_a" if c in ANNEX_A else "clause", "title": CONTROLS[c]}
        for c in ordered_controls()
    ]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    columns = [Column("id"), Column("kind"), Column("title", shrink=True)]
    for line in render_table(columns, [[r["id"], r["kind"], r["title"]] for r in rows], terminal_width()):
        print(line)
    print("letter case is ignored in --control: a.7.6 is A.7.6")
    return EXIT_OK


def cmd_keys_demo(args: argparse.Namespace) -> int:
    from aimsflow.evidence.keys import ensure_demo_key, ensure_demo_pseudonym_key

    key_id, key_file = ensure_demo_key()
    pseudonym_file = ensure_demo_pseudonym_key()
    if args.json:
        _print_json(
            {
                "signing_key_id": key_id,
                "signing_key_file": str(key_file),
                "pseudonym_key_file": str(pseudonym_file),
                "trusted_keys": str(settings.trusted_keys_path()),
            }
        )
        return EXIT_OK
    print(f"DEMO signing key {key_id} at {key_file} (outside the repo; not for production)")
    print(f"DEMO pseudonym (HMAC) key at {pseudonym_file}")
    print(f"trusted keys: {settings.trusted_keys_path()}")
    return EXIT_OK


def cmd_demo_generate(args: argparse.Namespace) -> int:
    from aimsflow.demo.generator import generate_source_batches

    try:
        end = (
            dt.date.fromisoformat(args.end)
            if args.end
            else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        )
    except ValueError as exc:
        fail(f"--end {args.end!r}: {exc}")
    batches = generate_source_batches(settings.data_root(), end=end, days=args.days, seed=args.seed)
    raw = settings.data_root() / "raw"
    from aimsflow.demo.documents import drop_demo_documents

    documents = drop_demo_documents(settings.manual_inbox(), end)
    if args.json:
        _print_json(
            {
                "root": str(raw),
                "end": end.isoformat(),
                "documents": [{"path": str(d.path), "created": d.created} for d in documents],
                "batches": [
                    {
                        "date": b.date.isoformat(),
                        "path": str(b.path),
                        "rows": b.rows,
                        "defects": list(b.defects),
                        "created": b.created,
                    }
                    for b in batches
                ],
            }
        )
        return EXIT_OK
    print(f"source system: {len(batches)} daily batches up to {end} under {raw}")
    created = sum(d.created for d in documents)
    print(
        f"manual evidence inbox: {created} demo document(s) dropped, "
        f"{len(documents) - created} dropped before, in {settings.manual_inbox()}"
    )
    return EXIT_OK


def cmd_cycle(args: argparse.Namespace) -> int:
    from aimsflow.cycle import run_cycle

    try:
        end = dt.date.fromisoformat(args.end) if args.end else None
    except ValueError as exc:
        fail(f"--end {args.end!r}: {exc}")
    if args.days < 1:
        fail(f"--days {args.days}: expected at least 1")
    return run_cycle(days=args.days, end=end, as_json=args.json)


def cmd_nc_list(args: argparse.Namespace) -> int:
    from aimsflow.risk.evidence import load_evidence
    from aimsflow.risk.nonconformity import current_nonconformities
    from aimsflow.tables import Column, render_table, terminal_width

    storage = _storage(args)
    evidence = load_evidence(storage, _trusted_keys())
    ledger, changes, source = current_nonconformities(storage, evidence)
    code = EXIT_PROBLEMS if evidence.rejected else EXIT_OK
    shown = [nc for nc in ledger if args.status is None or nc.status == args.status]
    new = set(changes.opened)
    if args.json:
        doc = {
            "ledger_record": source,
            "open": sum(nc.is_open for nc in ledger),
            "closed": sum(not nc.is_open for nc in ledger),
            "nonconformities": [{**nc.as_dict(), "in_a_reassessment": nc.id not in new} for nc in shown],
            "untrusted_records": evidence.untrusted(),
        }
        _print_json(doc)
        _report_untrusted(evidence.rejected)
        return code
    columns = [
        Column("id"),
        Column("status"),
        Column("cause", shrink=True, min_width=16),
        Column("occ", right=True),
        Column("evidence"),
    ]
    rows = [
        [
            nc.id,
            nc.status,
            nc.cause.label(),
            str(len(nc.occurrences)),
            f"last occurrence {nc.occurrences[-1].record}" + (" *" if nc.id in new else ""),
        ]
        for nc in shown
    ]
    header, *lines = render_table(columns, rows, terminal_width())
    indent = " " * 4
    print(header)
    for nc, line in zip(shown, lines, strict=True):
        print(line)
        if nc.closure:
            c = nc.closure
            print(f"{indent}closed {c.closed_at:%Y-%m-%d %H:%M} by {c.closed_by}: {c.record}")
            print(f"{indent}passing run {c.evidence_of_pass}")
            print(f"{indent}root cause: {c.root_cause}")
            print(f"{indent}corrective action: {c.corrective_action}")
    for u in evidence.rejected:
        print(f"UNTRUSTED {u.key}: {u.problem}")
    opened = sum(nc.is_open for nc in ledger)
    print(
        f"{opened} open, {len(ledger) - opened} closed; ledger of {source or 'no reassessment yet'}"
        + (" (* not yet in a reassessment)" if new else "")
    )
    _report_untrusted(evidence.rejected)
    return code


def _ask(prompt: str) -> str:
    """A question on stderr (stdout may be a --json document being read by a program)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def cmd_nc_close(args: argparse.Namespace) -> int:
    import getpass

    from aimsflow.risk.airflow_api import AirflowApi, AirflowApiError

    dag_id = "nonconformity_close"
    username = args.username or settings.airflow_api_username() or _ask("Airflow username: ")
    # getpass prompts on the terminal (or stderr), never on stdout.
    password = settings.airflow_api_password() or getpass.getpass(f"Airflow password for {username}: ")
    api = AirflowApi(args.url or settings.airflow_api_url())
    conf = {
        "nonconformity": args.id,
        "root_cause": args.root_cause,
        "corrective_action": args.corrective_action,
    }
    try:
        api.login(username, password)
        api.ensure_triggerable(dag_id)
        run = api.trigger(dag_id, conf, note=f"closing {args.id} (aimsflow nc close)")
        run_id = run["dag_run_id"]
        if not args.json:
            print(f"triggered {dag_id} run {run_id} as {username}")
        if args.wait:
            run = api.wait(dag_id, run_id, timeout=args.wait)
    except AirflowApiError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    state = run.get("state") if args.wait else None
    code = EXIT_OK if not args.wait or state == "success" else EXIT_PROBLEMS
    if args.json:
        _print_json(
            {
                "nonconformity": args.id,
                "dag_id": dag_id,
                "run_id": run_id,
                "username": username,
                "state": state,
            }
        )
        return code
    if args.wait:
        print(f"{dag_id} run {run_id}: {state}")
    if state == "failed":
        print(
            "the closure was refused or broke: see the run's log and its record (aimsflow evidence list "
            "--check nonconformity_close/close --history)"
        )
    return code


def cmd_completion(args: argparse.Namespace) -> int:
    from aimsflow.completion import bash_script, zsh_script

    parser = build_parser()
    print(bash_script(parser) if args.shell == "bash" else zsh_script(parser), end="")
    return EXIT_OK


def cmd_acquisition_record(args: argparse.Namespace) -> int:
    from aimsflow.configfile import ConfigError
    from aimsflow.evidence.keys import KeyError_
    from aimsflow.provenance.acquisition import AcquisitionError, cmd_record

    try:
        return cmd_record(args)
    except (AcquisitionError, ConfigError, KeyError_) as exc:
        fail(str(exc), EXIT_USAGE)


def _as_of(text: str | None) -> dt.datetime:
    """``--as-of``: a date means the end of that UTC day (records written that day count, a review
    date of that day is not past yet); a date and time is taken as given (UTC when naive)."""
    from aimsflow.periods import to_utc

    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time.max, dt.UTC)
        return to_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        fail(f"--as-of {text!r}: expected a date (2026-11-29) or a date and time (2026-11-29T12:00)")


def _soa_table(coverage: Any) -> list[list[str]]:
    rows = []
    ordered = [*coverage.annex_a, *(c for c in coverage.controls if c.kind != "annex_a")]
    for c in ordered:
        latest = f"{c.verdict.status} {c.verdict.last_day.isoformat()}" if c.verdict else "-"
        if not c.applicable:
            freshness = "-"
        elif c.age_days is None:
            freshness = str(c.freshness)
        else:
            freshness = f"{c.freshness} {c.age_days}/{c.max_age_days if c.manual else _max_age(c)}d"
        rows.append(
            [
                c.id,
                c.title,
                "yes" if c.applicable else "no",
                c.evidenced_by,
                latest,
                freshness,
                str(len(c.nonconformities)) if c.nonconformities else "",
            ]
        )
    return rows


def _max_age(c: Any) -> int:
    """The max age of the requirement that sets the control's freshness (and age)."""
    setting = [e for e in c.evidence if e.freshness == c.freshness and e.age_days == c.age_days]
    return setting[0].max_age_days if setting else c.max_age_days


def _framework_table(rows: list) -> list[list[str]]:
    out = []
    for r in rows:
        out.append(
            [
                r.item,
                r.title,
                ",".join(r.controls),
                str(r.freshness) if r.applicable else "excluded",
                r.verdict or "-",
                str(len(r.nonconformities)) if r.nonconformities else "",
                f"{len(r.gaps)} of {len(r.controls)}" if r.gaps else "",
            ]
        )
    return out


def _wrapped(prefix: str, text: str, width: int | None) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text,
        width=max(width or 100, 60),
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_on_hyphens=False,
    )


def cmd_soa(args: argparse.Namespace) -> int:
    from aimsflow.compliance.coverage import load_coverage
    from aimsflow.configfile import ConfigError
    from aimsflow.tables import Column, render_table, terminal_width

    as_of, period = _as_of(args.as_of), _period(args)
    storage = _storage(args)
    keys = _trusted_keys()
    try:
        coverage = load_coverage(storage, keys, as_of=as_of, period=period)
    except ConfigError as exc:
        print("aimsflow: the Statement of Applicability or the crosswalk is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    framework = args.framework or "iso42001"
    if framework not in coverage.frameworks:
        fail(f"--framework {framework!r}: expected one of {', '.join(coverage.frameworks)}")
    code = EXIT_OK if coverage.ok else EXIT_PROBLEMS
    if args.json:
        doc = coverage.as_dict(frameworks=[framework] if args.framework else None)
        _print_json(doc)
        _report_untrusted(list(coverage.rejected))
        return code
    width = terminal_width()
    when = coverage.as_of.strftime("%Y-%m-%d %H:%M UTC")
    scope = f", records of {coverage.period.label}" if coverage.period else ""
    if framework == "iso42001":
        print(f"Statement of Applicability, as of {when}{scope} (approved {coverage.soa.approved_on})")
        columns = [
            Column("control"),
            Column("title", shrink=True, min_width=16),
            Column("appl"),
            Column("evidenced by", shrink=True, min_width=16),
            Column("latest"),
            Column("freshness"),
            Column("NCs", right=True),
        ]
        table = _soa_table(coverage)
    else:
        print(f"{coverage.crosswalk.title(framework)}, as of {when}{scope}: ISO/IEC 42001 controls mapped")
        columns = [
            Column("item"),
            Column("title", shrink=True, min_width=16),
            Column("ISO controls", shrink=True, min_width=12),
            Column("freshness"),
            Column("verdict"),
            Column("NCs", right=True),
            Column("gaps"),
        ]
        table = _framework_table(coverage.by_framework(framework))
    for line in render_table(columns, table, width):
        print(line.rstrip())
    if framework == "iso42001":
        print("freshness: days since the last day the latest passing evidence covers / max_age_days")
    else:
        print(
            "each item: the worst freshness and verdict of its applicable ISO controls; gaps: how many of the"
        )
        print("mapped controls have one (listed below)")
    gaps = coverage.gaps
    if gaps:
        print(f"\ngaps ({len(gaps)}):")
        ordered = [*[g for g in gaps if g.kind == "annex_a"], *[g for g in gaps if g.kind != "annex_a"]]
        undocumented = [c.id for c in ordered if c.gap == f"no document ingested for {c.id}"]
        if undocumented:
            text = f"no document ingested for {len(undocumented)} manual controls: {', '.join(undocumented)}"
            for line in _wrapped("  ", text, width):
                print(line)
        for c in ordered:
            if c.id not in undocumented:
                for line in _wrapped(f"  {c.id:<8} ", c.gap or "", width):
                    print(line)
    for u in coverage.rejected:
        print(f"UNTRUSTED {u.key}: {u.problem}")
    s = coverage.summary()
    print()
    summary = (
        f"Annex A: {s['applicable']} of {s['annex_a']} controls applicable ({s['job_evidenced']} by jobs, "
        f"{s['manual']} by documents), {s['excluded']} excluded; of the applicable: fresh {s['fresh']}, "
        f"stale {s['stale']}, missing {s['missing']}, latest verdict failing {s['failing']}, "
        f"with open nonconformities {s['with_open_nonconformities']}"
    )
    for line in _wrapped("", summary, width):
        print(line)
    if framework != "iso42001":
        published = sum(
            1 for link in coverage.crosswalk.links if link.framework == framework and link.published
        )
        total = sum(1 for link in coverage.crosswalk.links if link.framework == framework)
        print(
            f"crosswalk: {total} mappings, {published} from a published crosswalk, "
            f"{total - published} own judgement (sources: docs/controls.md)"
        )
    _report_untrusted(list(coverage.rejected))
    return code


OSCAL_DESCRIPTION = """Write the assessment of one period as OSCAL Assessment Results (JSON, OSCAL 1.2.1), and
beside it the documents they import, each linking the next: assessment-plan.json -> ssp.json (a stub)
-> iso42001-soa-profile.json (the SoA) -> iso42001-annex-a-catalog.json (the 38 Annex A controls).

One result for the period: the SoA's applicable Annex A controls as reviewed controls; one
observation per verified record those controls count (method TEST for a job's record, EXAMINE for a
manual document), with when it was collected, when it expires (its cadence, a document's review
date) and its manifest's SHA-256; one finding per control, satisfied or not-satisfied as `aimsflow
soa` judges it at --as-of. The same store and period give the same identifiers (docs/auditing.md)."""


def cmd_oscal_export(args: argparse.Namespace) -> int:
    import textwrap

    from aimsflow.audit.oscal import OscalRefused, export_oscal
    from aimsflow.configfile import ConfigError
    from aimsflow.tables import terminal_width

    as_of = _as_of(args.as_of)
    try:
        period = parse_period(args.period)
    except ValueError as exc:
        fail(str(exc))
    storage = _storage(args)
    keys = _trusted_keys()
    try:
        result = export_oscal(storage, keys, period, Path(args.output), as_of=as_of)
    except OscalRefused as exc:
        fail(f"nothing written: {exc}")
    except ConfigError as exc:
        print("aimsflow: the Statement of Applicability or the crosswalk is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    code = EXIT_PROBLEMS if result.rejected else EXIT_OK
    if args.json:
        _print_json(result.as_dict())
        _report_untrusted(result.rejected)
        return code
    width = terminal_width()
    counts = result.observations
    print(
        f"OSCAL assessment results of {period.label}, as of {result.as_of:%Y-%m-%d %H:%M} UTC: {result.path}"
    )
    print(
        f"  1 result: {len(result.reviewed)} reviewed controls; findings {len(result.satisfied)} satisfied, "
        f"{len(result.not_satisfied)} not satisfied"
    )
    print(
        f"  {sum(counts.values())} observations: {counts['TEST']} TEST (job records), "
        f"{counts['EXAMINE']} EXAMINE (manual documents)"
    )
    imported = ", ".join(f"{f.path.name} ({f.state})" for f in result.files[1:])
    for line in textwrap.wrap(
        imported,
        width=max(width or 100, 60),
        initial_indent="imports, each the next, beside it: ",
        subsequent_indent="  ",
        break_on_hyphens=False,
    ):
        print(line)
    if result.satisfied:
        for line in _wrapped("satisfied: ", ", ".join(result.satisfied), width):
            print(line)
    if result.not_satisfied:
        print(f"not satisfied ({len(result.not_satisfied)}):")
        undocumented = [c for c, gap in result.not_satisfied if gap == f"no document ingested for {c}"]
        if undocumented:
            text = f"no document ingested for {len(undocumented)} manual controls: {', '.join(undocumented)}"
            for line in _wrapped("  ", text, width):
                print(line)
        for control, gap in result.not_satisfied:
            if control not in undocumented:
                for line in _wrapped(f"  {control:<8} ", gap, width):
                    print(line)
    _report_untrusted(result.rejected)
    return code


def _paragraphs(text: str, width: int = 100) -> str:
    """A --help description: each paragraph of ``text`` filled to ``width`` (the source's own line
    breaks would give a short first line after the usage)."""
    import textwrap

    return "\n\n".join(
        textwrap.fill(" ".join(p.split()), width, break_on_hyphens=False, break_long_words=False)
        for p in text.strip().split("\n\n")
    )


def _command(sub, name: str, epilog_key: str, **kwargs) -> argparse.ArgumentParser:
    if "description" in kwargs:
        kwargs["description"] = _paragraphs(kwargs["description"])
    return sub.add_parser(
        name, epilog=EPILOGS[epilog_key], formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aimsflow",
        description=__doc__,
        epilog=TOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="area", required=True)

    evidence = sub.add_parser("evidence", help="verify and list evidence records").add_subparsers(
        dest="cmd", required=True
    )
    verify = _command(
        evidence,
        "verify",
        "verify",
        help="check hashes, signatures, seals and the witness",
        description=VERIFY_DESCRIPTION,
    )
    verify.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    verify.add_argument("--witness", help="witness folder to hold the store to (default AIMSFLOW_WITNESS)")
    _period_args(verify)
    _json_arg(verify)
    _progress_arg(verify)
    verify.set_defaults(func=cmd_verify)

    listing = _command(evidence, "list", "list", help="current verdicts (or --history)")
    listing.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    listing.add_argument(
        "--control", help="a control id, e.g. A.7.4 or 7.5.3 (case ignored; see `evidence controls`)"
    )
    listing.add_argument("--dag", help="the producing DAG's id")
    listing.add_argument("--check", help="a check id, or a prefix of whole parts (data_quality/)")
    listing.add_argument("--ai-system", help="the subject's AI system")
    listing.add_argument("--dataset", help="the subject's dataset")
    listing.add_argument("--status", choices=["passed", "warning", "failed", "error"])
    _period_args(listing)
    listing.add_argument("--history", action="store_true", help="include superseded records")
    _json_arg(listing)
    _progress_arg(listing)
    listing.set_defaults(func=cmd_list)

    controls = _command(evidence, "controls", "controls", help="the control ids records are mapped to")
    _json_arg(controls)
    controls.set_defaults(func=cmd_controls)

    prove = _command(
        evidence,
        "prove",
        "prove",
        help="inclusion proof of a sealed record in the log",
        description=PROVE_DESCRIPTION,
    )
    prove.add_argument("record", help="record key (records/<period>/<check>/<id>) or its folder")
    prove.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    _json_arg(prove)
    prove.set_defaults(func=cmd_prove)

    show = _command(
        evidence,
        "show",
        "show",
        help="one record, readable: controls, period, run, inputs, specs, code, seal, files",
        description=SHOW_DESCRIPTION,
    )
    show.add_argument(
        "record",
        help="record key as `evidence list` shows it (records/<period>/<check>/<id>), or the record id",
    )
    show.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    show.add_argument("--html", metavar="FILE", help="also write the record as one self-contained HTML page")
    _json_arg(show)
    show.set_defaults(func=cmd_show)
    sample = _command(
        evidence,
        "sample",
        "sample",
        help="draw a reproducible (seeded) sample of records, written as a signed record",
        description=SAMPLE_DESCRIPTION,
    )
    sample.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    sample.add_argument(
        "--period",
        required=True,
        help="the period sampled: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026 or A..B",
    )
    sample.add_argument("--n", type=int, required=True, help="how many records to draw (at least)")
    sample.add_argument(
        "--seed", required=True, help="any text; the same population and seed give the same sample"
    )
    sample.add_argument("--control", help="only records mapped to this control (e.g. A.7.4)")
    sample.add_argument(
        "--framework", help="only records evidencing this framework through the crosswalk (iso42001)"
    )
    sample.add_argument("--dag", help="only records of this DAG")
    sample.add_argument("--ai-system", help="only records about this AI system")
    sample.add_argument("--dataset", help="only records about this dataset")
    sample.add_argument("--status", choices=["passed", "warning", "failed", "error"])
    sample.add_argument(
        "--per-control", type=int, metavar="K", help="at least K records for every control in scope"
    )
    sample.add_argument(
        "--exclude-sampled", metavar="PERIOD", help="leave out what samples of this period drew"
    )
    sample.add_argument("--current-only", action="store_true", help="leave out superseded records")
    sample.add_argument(
        "--no-seal", action="store_true", help="leave the sample record pending for the next seal"
    )
    _json_arg(sample)
    _progress_arg(sample)
    sample.set_defaults(func=cmd_sample)

    export = _command(
        evidence,
        "export",
        "export",
        help="pack a sample's records with proofs, keys, pages and an offline checker into a zip",
        description=EXPORT_DESCRIPTION,
    )
    export.add_argument(
        "--sample", required=True, metavar="RECORD", help="the sample record: key, folder or manifest.json"
    )
    export.add_argument("-o", "--output", required=True, metavar="BUNDLE.zip", help="the zip to write")
    export.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    export.add_argument(
        "--witness", help="witness folder whose checkpoint the bundle is held to (default AIMSFLOW_WITNESS)"
    )
    _json_arg(export)
    export.add_argument("--progress", action="store_true", help="say what it is doing on stderr")
    export.set_defaults(func=cmd_export)

    witness = sub.add_parser("witness", help="the witness of the evidence log").add_subparsers(
        dest="cmd", required=True
    )
    for name, func, text in (
        ("init", cmd_witness_init, "start a witness at the store's current checkpoint (once)"),
        ("update", cmd_witness_update, "accept the store's new seals, checking signatures and proofs"),
    ):
        command = _command(witness, name, f"witness {name}", help=text)
        command.add_argument("--witness", help="witness folder (default AIMSFLOW_WITNESS)")
        command.add_argument("--store", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
        _json_arg(command)
        command.set_defaults(func=func)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="cmd", required=True)
    keys_demo = _command(keys, "demo", "keys demo", help="create a local demo key pair")
    _json_arg(keys_demo)
    keys_demo.set_defaults(func=cmd_keys_demo)

    demo = sub.add_parser("demo", help="the demo AI system").add_subparsers(dest="cmd", required=True)
    gen = _command(
        demo,
        "generate",
        "demo generate",
        help="drop the source system's raw daily batches and the demo documents in the inbox",
    )
    gen.add_argument("--end", help="last day (default: yesterday, UTC)")
    gen.add_argument("--days", type=int, default=120)
    gen.add_argument("--seed", type=int, default=42)
    _json_arg(gen)
    gen.set_defaults(func=cmd_demo_generate)

    cycle = _command(sub, "cycle", "cycle", help="run every governance DAG with dag.test() for recent days")
    cycle.add_argument("--days", type=int, default=3)
    cycle.add_argument("--end", help="last day of the window (default: yesterday, UTC)")
    cycle.add_argument("--json", action="store_true", help="the summary as one JSON document on stdout")
    cycle.set_defaults(func=cmd_cycle)

    nc = sub.add_parser("nc", help="nonconformities (clause 10.2)").add_subparsers(dest="cmd", required=True)
    nc_list = _command(nc, "list", "nc list", help="open and closed nonconformities with their evidence")
    nc_list.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    nc_list.add_argument("--status", choices=["open", "closed"])
    _json_arg(nc_list)
    nc_list.set_defaults(func=cmd_nc_list)
    nc_show = _command(
        nc,
        "show",
        "nc show",
        help="one nonconformity: cause, occurrences and their records, closure, the later passing run",
        description=NC_SHOW_DESCRIPTION,
    )
    nc_show.add_argument("id", help="nonconformity id (aimsflow nc list), e.g. NC-20261125-3f2a1b")
    nc_show.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    nc_show.add_argument("--html", metavar="FILE", help="also write it as one self-contained HTML page")
    _json_arg(nc_show)
    nc_show.set_defaults(func=cmd_nc_show)
    nc_close = _command(
        nc, "close", "nc close", help="close one through the nonconformity_close DAG (Airflow REST API)"
    )
    nc_close.add_argument("id", help="nonconformity id (aimsflow nc list)")
    nc_close.add_argument("--root-cause", required=True)
    nc_close.add_argument("--corrective-action", required=True)
    nc_close.add_argument(
        "--url", help="Airflow API server (default AIMSFLOW_AIRFLOW_URL or http://127.0.0.1:8080)"
    )
    nc_close.add_argument("--username", help="Airflow user (default AIMSFLOW_AIRFLOW_USERNAME, else asked)")
    nc_close.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait for the run's outcome"
    )
    _json_arg(nc_close)
    nc_close.set_defaults(func=cmd_nc_close)
    from aimsflow.provenance import acquisition

    area = sub.add_parser("acquisition", help="record how an external dataset was acquired (A.7.3, A.7.5)")
    acq = area.add_subparsers(dest="cmd", required=True)
    record = _command(
        acq,
        "record",
        "acquisition",
        help="hash delivered file(s) and write a signed acquisition record",
        description=acquisition.DESCRIPTION,
    )
    acquisition.add_arguments(record)
    record.set_defaults(func=cmd_acquisition_record)

    soa = _command(
        sub,
        "soa",
        "soa",
        help="the Statement of Applicability with live status, per control or framework",
        description=SOA_DESCRIPTION,
    )
    soa.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    soa.add_argument(
        "--framework",
        help="iso42001 (default: one row per control), iso27001, eu_ai_act or nist_ai_rmf (crosswalk.yaml)",
    )
    soa.add_argument(
        "--as-of",
        metavar="DATE",
        help="judge freshness at this date (end of that UTC day) or date and time (default now)",
    )
    _period_args(soa)
    _json_arg(soa)
    soa.set_defaults(func=cmd_soa)

    oscal = sub.add_parser("oscal", help="OSCAL documents for assessment tools").add_subparsers(
        dest="cmd", required=True
    )
    oscal_export = _command(
        oscal,
        "export",
        "oscal export",
        help="a period's assessment results as OSCAL, with the plan, SSP, profile and catalog they import",
        description=OSCAL_DESCRIPTION,
    )
    oscal_export.add_argument(
        "--period",
        required=True,
        help="the period assessed: 2026-11-25, 2026-W48, 2026-11, 2026-Q4, 2026 or A..B",
    )
    oscal_export.add_argument(
        "-o", "--output", required=True, metavar="AR.json", help="the assessment results file to write"
    )
    oscal_export.add_argument(
        "--as-of",
        metavar="DATE",
        help="judge freshness at this date (end of that UTC day) or date and time (default now)",
    )
    oscal_export.add_argument("--root", help="evidence store (default AIMSFLOW_EVIDENCE_ROOT or ./evidence)")
    _json_arg(oscal_export)
    oscal_export.set_defaults(func=cmd_oscal_export)

    completion = _command(sub, "completion", "completion", help="print a shell completion script")
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(func=cmd_completion)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # `aimsflow evidence list | head`: the reader left; no traceback, and no second error when
        # Python flushes stdout at exit. 141 is what a shell reports for a process ended by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("aimsflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
