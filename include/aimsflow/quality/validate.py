"""The data quality job: one dataset partition against its suite, plus drift for operational data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aimsflow import settings
from aimsflow.assets import VALIDATED_ALIAS, validated_asset
from aimsflow.catalog import ColumnType, Dataset, Inventory, Role
from aimsflow.configfile import config_path
from aimsflow.lineage.events import assertions_from_gx
from aimsflow.quality.drift import compare, drift_summary, load_drift_policy, not_compared
from aimsflow.quality.html import render_validation_html
from aimsflow.quality.loading import BadInput, read_partition
from aimsflow.quality.scrub import scrub_result
from aimsflow.quality.suites import SuiteError, expectation_columns, load_suite
from aimsflow.results import (
    AssetEventSpec,
    DataRef,
    JobError,
    JobResult,
    SpecRef,
    Status,
    Subject,
    partial_result,
    record_json,
)

REFERENCE_LOOKBACK_DAYS = 60


def controls_for(dataset: Dataset) -> tuple[str, ...]:
    return ("A.7.4", "A.6.2.6") if dataset.role == Role.operational else ("A.7.4",)


def _rows(scrubbed: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for item in scrubbed.get("results", []):
        config, res = item.get("expectation_config", {}), item.get("result") or {}
        row = {
            "type": config.get("type"),
            "column": ",".join(expectation_columns(config)) or None,
            "severity": str(config.get("severity") or "critical"),
            "success": bool(item.get("success")),
            # the suite's own limits, for validation.html to say what was expected
            "kwargs": {k: v for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"},
            "notes": (config.get("meta") or {}).get("notes"),
            "element_count": res.get("element_count"),
            "missing_count": res.get("missing_count"),
            "unexpected_count": res.get("unexpected_count"),
            "unexpected_percent": round(res["unexpected_percent"], 4)
            if res.get("unexpected_percent") is not None
            else None,
            "sample": (res.get("partial_unexpected_list") or [])[:5],
            "observed_value": res.get("observed_value"),
        }
        message = exception_message(item.get("exception_info") or {})
        if message is not None:
            row["error"] = f"not evaluated: {message}"[:300]
        rows.append(row)
    return rows


def exception_message(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, or None. GX 1.x puts
    it at the top level or, when a metric failed, under one key per metric configuration."""
    for entry in (info, *(v for v in info.values() if isinstance(v, dict))):
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "exception without a message")
    return None


def _type_ok(dtype: Any, declared: ColumnType, csv: bool) -> bool:
    """Does a pandas dtype hold the declared type? pandas 3 reads strings as ``str`` (StringDtype),
    which GX's type expectations do not recognise, so declared types are checked here instead."""
    import pandas.api.types as t

    if declared == ColumnType.string:
        return t.is_string_dtype(dtype) or t.is_object_dtype(dtype)
    if declared == ColumnType.integer:
        return t.is_integer_dtype(dtype)
    if declared == ColumnType.float:
        return t.is_float_dtype(dtype) or t.is_integer_dtype(dtype)
    if declared == ColumnType.boolean:
        return t.is_bool_dtype(dtype) or (csv and t.is_object_dtype(dtype))
    # dates: datetime64, python date objects, or ISO text in a CSV
    return t.is_datetime64_any_dtype(dtype) or t.is_object_dtype(dtype) or (csv and t.is_string_dtype(dtype))


def declared_type_problems(frame: Any, dataset: Dataset) -> list[dict[str, Any]]:
    csv = dataset.format.value == "csv"
    return [
        {"column": name, "declared": str(col.type), "observed": str(frame[name].dtype)}
        for name, col in dataset.columns.items()
        if name in frame.columns and not _type_ok(frame[name].dtype, col.type, csv)
    ]


def _reference(inventory: Inventory, dataset: Dataset, day: dt.date, data_root: Path):
    """The newest training partition strictly before ``day`` (the model never saw ``day``)."""
    ref_ds = inventory.dataset(dataset.drift_reference)
    for back in range(1, REFERENCE_LOOKBACK_DAYS + 1):
        try:
            return read_partition(ref_ds, day - dt.timedelta(days=back), data_root)
        except BadInput:
            continue
    return None


def validate_partition(
    inventory: Inventory,
    dataset_id: str,
    day: dt.date,
    data_root: Path | None = None,
    expectations_dir: Path | None = None,
    drift_policy: Path | None = None,
) -> JobResult:
    data_root = data_root or settings.data_root()
    expectations_dir = expectations_dir or settings.expectations_dir()
    dataset = inventory.dataset(dataset_id)
    subject = Subject(dataset.ai_system, dataset.id, day.isoformat())
    base = partial_result(subject, controls=controls_for(dataset))
    if not dataset.suite:
        raise JobError(f"dataset {dataset.id!r} names no suite in {inventory.files['datasets']}", base)
    try:
        suite = load_suite(expectations_dir / dataset.suite, dataset)
    except SuiteError as exc:
        raise JobError(f"configuration error: {exc}", base) from None
    base.specs = [suite.spec, SpecRef.of_file(inventory.files["datasets"])]
    try:
        partition = read_partition(dataset, day, data_root)
    except BadInput as exc:
        path = dataset.partition_path(day, data_root)
        if path.is_file():
            base.inputs = [DataRef.of_file(path, dataset=dataset.id)]
        raise JobError(str(exc), base) from None

    frame = partition.frame
    missing = sorted(set(dataset.columns) - set(frame.columns))
    runnable = dict(suite.doc)
    runnable["expectations"] = [
        e for e in suite.expectations if not set(expectation_columns(e)) & set(missing)
    ]
    skipped = [e for e in suite.expectations if set(expectation_columns(e)) & set(missing)]

    from aimsflow.quality.gx_runner import run_suite

    gx_result = scrub_result(run_suite(frame, runnable), dataset.personal_columns)
    rows = _rows(gx_result) + [
        {
            "type": e["type"],
            "column": ",".join(expectation_columns(e)),
            "severity": e.get("severity", "critical"),
            "success": False,
            "kwargs": e.get("kwargs") or {},
            "notes": (e.get("meta") or {}).get("notes"),
            "error": "column missing from the data",
        }
        for e in skipped
    ]
    type_problems = declared_type_problems(frame, dataset)
    rows += [
        {
            "type": "declared_column_type",
            "column": p["column"],
            "severity": "critical",
            "success": False,
            "kwargs": {"type": p["declared"]},
            "observed_value": p["observed"],
            "error": f"declared {p['declared']}, found {p['observed']}",
        }
        for p in type_problems
    ]
    failed = [r for r in rows if not r["success"]]
    by_severity = {s: sum(r["severity"] == s for r in failed) for s in ("critical", "warning", "info")}
    status = (
        Status.failed if missing or by_severity["critical"] else Status.warning if failed else Status.passed
    )

    files: dict[str, bytes | Path] = {"validation_result.json": record_json(gx_result)}
    summary: dict[str, Any] = {
        "rows": len(frame),
        "expectations_evaluated": len(rows),
        "expectations_failed": len(failed),
        "failed_by_severity": by_severity,
        "missing_columns": missing,
        "undeclared_columns": sorted(set(frame.columns) - set(dataset.columns)),
        "declared_type_problems": type_problems,
        "failed_expectations": [
            {k: r.get(k) for k in ("type", "column", "severity", "unexpected_count", "sample", "error")}
            for r in failed
        ],
    }
    if dataset.drift_reference:
        policy_path = drift_policy or config_path("policies", "drift.yaml")
        policy = load_drift_policy(policy_path)
        base.specs.append(SpecRef.of_file(policy_path))
        reference = _reference(inventory, dataset, day, data_root)
        if reference is None:
            summary["drift"] = {
                "verdict": "not assessed",
                "reason": f"no {dataset.drift_reference} partition "
                f"in the {REFERENCE_LOOKBACK_DAYS} days before {day}",
            }
        else:
            numeric = {
                c for c, col in dataset.columns.items() if col.type in (ColumnType.integer, ColumnType.float)
            }
            drift = drift_summary(
                compare(frame, reference.frame, numeric, policy),
                reference.ref.uri,
                policy,
                not_compared(frame, reference.frame, numeric, policy),
            )
            summary["drift"] = drift
            files["drift.json"] = record_json(drift)
            base.inputs.append(reference.ref)
            if drift["verdict"] == "failed":
                status = Status.failed
            elif drift["verdict"] == "warning" and status == Status.passed:
                status = Status.warning
    title = f"Data quality: {dataset.id} {day.isoformat()}"
    files["validation.html"] = render_validation_html(title, str(status), summary, rows)
    files["summary.json"] = record_json(summary)
    messages = []
    if missing:
        messages.append(f"declared column(s) missing: {missing}")
    if failed:
        messages.append(f"{len(failed)} of {len(rows)} expectations failed ({by_severity})")
    if summary.get("drift", {}).get("drifted"):
        messages.append(f"drift in {summary['drift']['drifted']}")
    name, uri = validated_asset(dataset.id)
    return JobResult(
        subject=subject,
        status=status,
        controls=base.controls,
        summary=summary,
        files=files,
        inputs=[partition.ref, *base.inputs],
        specs=base.specs,
        asset_events=[
            AssetEventSpec(name, uri, {"dataset": dataset.id, "status": str(status)}, VALIDATED_ALIAS)
        ],
        message="; ".join(messages) or "all expectations met",
        assertions=assertions_from_gx(gx_result, partition.ref.uri),
    )
