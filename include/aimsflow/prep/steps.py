"""The data preparation jobs of the loan approval system: ingest, clean, build the training set.

Each job is a plain function of the inventory, a day and the data root that returns a
:class:`~aimsflow.results.JobResult` naming, by hash, every file it read and wrote (ISO/IEC 42001
A.7.5 data provenance). Preparation repairs *form* (types, case, duplicates, identifiers) but never
*content*: out-of-range values and unseen categories pass through untouched so that the data quality
checks downstream see and judge them. A declared column missing from the source makes the job a
``warning`` rather than an error for the same reason.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aimsflow.catalog import ColumnType, Dataset, Inventory
from aimsflow.prep.partitions import latest_version, write_version
from aimsflow.results import DataRef, JobError, JobResult, Status, Subject

KEY = "application_id"

_CATEGORICAL = ("sex", "ethnicity", "loan_purpose")
_AGE_BINS = [18, 25, 35, 45, 55, 65, np.inf]
_AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
_BOOLEANS = {"true": True, "t": True, "yes": True, "y": True, "1": True}
_BOOLEANS |= {"false": False, "f": False, "no": False, "n": False, "0": False}

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.string: pa.string(),
    ColumnType.integer: pa.int64(),
    ColumnType.float: pa.float64(),
    ColumnType.boolean: pa.bool_(),
    ColumnType.date: pa.date32(),
    ColumnType.datetime: pa.timestamp("us", tz="UTC"),
}


def arrow_type(column_type: ColumnType) -> pa.DataType:
    """The Arrow type a catalog column type is stored as."""
    return _ARROW_TYPES[column_type]


def schema_of(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema}


class _BadInput(Exception):
    """The source file cannot be taken in; ``problem`` says why (without quoting personal data)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class _Raw:
    path: Path
    header: list[str]
    inferred: pa.Table  # types as pyarrow infers them: what the file *is*
    strings: pa.Table  # every column as text, "" as null: what cleaning starts from


def _read_raw(path: Path) -> _Raw:
    """Read a source CSV strictly: UTF-8, one header, same field count on every line, the key present."""
    if not path.is_file():
        raise _BadInput("file not found")
    data = path.read_bytes()
    if not data.strip():
        raise _BadInput(f"empty file ({len(data)} bytes)")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _BadInput(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}): {exc.reason}"
        ) from None
    header = next(csv.reader(io.StringIO(text)), [])
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise _BadInput(f"duplicate column names in the header: {duplicated}")
    if KEY not in header:
        raise _BadInput(f"missing key column {KEY!r} (header has {len(header)} columns)")
    _check_structure(text, len(header))
    try:
        inferred = pacsv.read_csv(io.BytesIO(data))
        strings = pacsv.read_csv(
            io.BytesIO(data),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _BadInput(f"unparseable CSV: {_arrow_problem(exc)}") from None
    if inferred.num_rows == 0:
        raise _BadInput("no data rows (header only)")
    return _Raw(path, header, inferred, strings)


def _check_structure(text: str, width: int) -> None:
    """Every record has the header's field count and well-formed quoting (pyarrow alone accepts, e.g.,
    the unterminated quote of a truncated file). Problems name the line, never its content: rows hold
    personal data and the message goes into the evidence record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            if row and len(row) != width:
                raise _BadInput(
                    f"unparseable CSV: line {reader.line_num} has {len(row)} fields, the header has {width}"
                )
    except csv.Error as exc:
        raise _BadInput(f"unparseable CSV: line {reader.line_num}: {exc}") from None


def _arrow_problem(exc: Exception) -> str:
    """pyarrow's reason without the offending row it quotes after the second colon."""
    match = re.match(r"[^:]*(?::[^:]*)?", str(exc).splitlines()[0] if str(exc) else "")
    return match.group(0) if match and match.group(0) else type(exc).__name__


def _subject(dataset: Dataset, day: dt.date) -> Subject:
    return Subject(dataset.ai_system, dataset.id, day.isoformat())


def _error(subject: Subject, message: str, inputs: list[DataRef], **summary: Any) -> JobError:
    return JobError.partial(message, subject, summary={"problem": message, **summary}, inputs=inputs)


def _quarantine(dataset: Dataset, day: dt.date, data_root: Path, path: Path, problem: str) -> JobError:
    """Copy a rejected source file (the source zone belongs to the source) beside a ``reason.json``."""
    folder = Path(data_root) / "quarantine" / dataset.id / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    exists = path.is_file()
    inputs = [DataRef.of_file(path, dataset=dataset.id)] if exists else []
    if exists:
        shutil.copy2(path, folder / path.name)
    reason = {
        "dataset": dataset.id,
        "partition": day.isoformat(),
        "source": str(path),
        "sha256": inputs[0].sha256 if inputs else None,
        "size": inputs[0].size if inputs else None,
        "problem": problem,
        "step": "ingest",
        "quarantined_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (folder / "reason.json").write_text(json.dumps(reason, indent=2) + "\n", encoding="utf-8")
    where = f"copied to quarantine {folder}" if exists else f"reason recorded in {folder / 'reason.json'}"
    message = f"{path}: {problem}; {where}"
    return _error(_subject(dataset, day), message, inputs, quarantine=str(folder))


def ingest_batch(inventory: Inventory, dataset_id: str, day: dt.date, data_root: Path) -> JobResult:
    """Take in one day's source file: readable, keyed and non-empty, or quarantined with a reason."""
    dataset = inventory.dataset(dataset_id)
    path = dataset.partition_path(day, Path(data_root))
    try:
        raw = _read_raw(path)
    except _BadInput as bad:
        raise _quarantine(dataset, day, Path(data_root), path, bad.problem) from None
    declared = list(dataset.columns)
    missing = [c for c in declared if c not in raw.header]
    extra = [c for c in raw.header if c not in dataset.columns]
    table = raw.inferred
    summary = {
        "rows": table.num_rows,
        "columns": table.num_columns,
        "declared_columns": len(declared),
        "missing_columns": missing,
        "extra_columns": extra,
    }
    status = Status.warning if missing else Status.passed
    message = f"{table.num_rows} rows, {table.num_columns} columns" + (
        f"; declared columns missing: {', '.join(missing)}" if missing else ""
    )
    return JobResult(
        _subject(dataset, day),
        status,
        summary=summary,
        inputs=[DataRef.of_file(path, rows=table.num_rows, schema=schema_of(table), dataset=dataset.id)],
        message=message,
    )


def _coerce(df: pd.DataFrame, dataset: Dataset) -> dict[str, int]:
    """Give the source's columns their declared types; text that does not parse becomes null (counted)."""
    nulled: dict[str, int] = {}
    for name, column in dataset.columns.items():
        if name not in df.columns or column.type is ColumnType.string:
            continue
        text = df[name]
        if column.type in (ColumnType.integer, ColumnType.float):
            value = pd.to_numeric(text, errors="coerce")
            if column.type is ColumnType.integer:
                value = value.where((value % 1 == 0) & (value.abs() < 2**53)).astype("Int64")
        elif column.type is ColumnType.boolean:
            value = text.str.lower().map(_BOOLEANS).astype("boolean")
        elif column.type is ColumnType.date:
            value = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        else:
            value = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        lost = int((text.notna() & value.isna()).sum())
        if lost:
            nulled[name] = lost
        df[name] = value
    return nulled


def _age(dob: pd.Series, on: pd.Series) -> pd.Series:
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (on.dt.year - dob.dt.year - before_birthday.astype(int)).astype("Int64")


def _pseudonym(key: bytes, name: Any, dob: Any) -> str | None:
    if pd.isna(name) or pd.isna(dob):
        return None
    message = f"{' '.join(str(name).split()).casefold()}|{dob:%Y-%m-%d}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _as_date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def to_arrow(df: pd.DataFrame, dataset: Dataset, columns: list[str]) -> pa.Table:
    """``df[columns]`` as an Arrow table typed exactly as the catalog declares them."""
    arrays, fields = [], []
    for name in columns:
        kind, series = dataset.columns[name].type, df[name]
        target = arrow_type(kind)
        if kind is ColumnType.string:
            array = pa.array(series.astype(object).where(series.notna(), None).tolist(), pa.string())
        elif kind is ColumnType.date:
            array = pa.array([_as_date(v) for v in series], pa.date32())
        elif kind is ColumnType.boolean:
            array = pa.array(series.astype("boolean"), pa.bool_())
        elif kind is ColumnType.integer:
            array = pa.array(series.astype("Int64"), pa.int64())
        else:
            array = pa.Array.from_pandas(series).cast(target, safe=kind is not ColumnType.datetime)
        arrays.append(array)
        fields.append(pa.field(name, target))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def clean_batch(
    inventory: Inventory, raw_id: str, clean_id: str, day: dt.date, data_root: Path, pseudonym_key: bytes
) -> JobResult:
    """Type, normalise, de-duplicate and de-identify one day's applications into a new clean version."""
    raw_ds, clean_ds = inventory.dataset(raw_id), inventory.dataset(clean_id)
    subject = _subject(clean_ds, day)
    path = raw_ds.partition_path(day, Path(data_root))
    if not pseudonym_key:
        raise _error(subject, "the pseudonym key is empty (AIMSFLOW_PSEUDONYM_KEY)", [])
    try:
        raw = _read_raw(path)
    except _BadInput as bad:
        inputs = [DataRef.of_file(path, dataset=raw_ds.id)] if path.is_file() else []
        raise _error(subject, f"{path}: {bad.problem}", inputs) from None
    steps: list[str] = []
    df = raw.strings.to_pandas()
    rows_in = len(df)

    for name in df.columns:
        stripped = df[name].str.strip()
        df[name] = stripped.where(stripped != "")
    steps.append("strip_whitespace")
    for name in _CATEGORICAL:
        if name in df.columns:
            df[name] = df[name].str.lower()
    steps.append("lowercase_categoricals")
    coerced = _coerce(df, raw_ds)
    steps.append("coerce_types")

    keyed = df[KEY].notna()
    order = (
        df.sort_values("application_ts", kind="stable", na_position="first") if "application_ts" in df else df
    )
    deduped = order[order[KEY].notna()].drop_duplicates(KEY, keep="last")
    duplicate_ids = int((df.loc[keyed, KEY].value_counts() > 1).sum())
    df = pd.concat([deduped, df[~keyed]]).sort_index()
    duplicates_removed = int(keyed.sum()) - len(deduped)
    steps.append("deduplicate_latest_application_ts")

    on = pd.Series(pd.Timestamp(day), index=df.index)
    if "application_ts" in df:
        on = df["application_ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize().fillna(on)
    df["application_date"] = on
    if "date_of_birth" in df:
        df["age"] = _age(df["date_of_birth"], on)
        df["age_band"] = pd.cut(
            df["age"].astype("float64"), _AGE_BINS, right=False, labels=_AGE_BANDS
        ).astype(object)
        steps.append("derive_age_band")
        if "applicant_name" in df:
            df["applicant_ref"] = [
                _pseudonym(pseudonym_key, n, d)
                for n, d in zip(df["applicant_name"], df["date_of_birth"], strict=True)
            ]
            steps.append("pseudonymise_applicant")
    if "existing_debt" in df and "annual_income" in df:
        income = df["annual_income"].where(df["annual_income"] > 0)
        df["debt_to_income"] = (df["existing_debt"] / income).replace([np.inf, -np.inf], np.nan)
        steps.append("derive_debt_to_income")

    columns = [c for c in clean_ds.columns if c in df.columns]
    dropped = sorted(set(df.columns) - set(columns))
    identifiers = sorted(c for c in raw_ds.personal_columns if c in dropped)
    steps.append("drop_direct_identifiers")
    table = to_arrow(df, clean_ds, columns)
    version, new = write_version(table, clean_ds.partition_path(day, Path(data_root)))

    missing_in = [c for c in raw_ds.columns if c not in raw.header]
    missing_out = [c for c in clean_ds.columns if c not in columns]
    summary = {
        "rows_in": rows_in,
        "rows_out": table.num_rows,
        "duplicates_removed": duplicates_removed,
        "duplicate_application_ids": duplicate_ids,
        "rows_without_key": int((~keyed).sum()),
        "coerced_to_null": coerced,
        "age_band_null": int(df["age_band"].isna().sum()) if "age_band" in df else None,
        "steps_applied": steps,
        "missing_columns": missing_in,
        "missing_output_columns": missing_out,
        "identifiers_dropped": identifiers,
        "columns_dropped": dropped,
        "version": version.name,
        "new_version": new,
    }
    message = f"{rows_in} rows in, {table.num_rows} out, {duplicates_removed} duplicates removed" + (
        f"; declared columns missing in the source: {', '.join(missing_in)}" if missing_in else ""
    )
    return JobResult(
        subject,
        Status.warning if missing_in else Status.passed,
        summary=summary,
        inputs=[DataRef.of_file(path, rows=rows_in, schema=schema_of(raw.inferred), dataset=raw_ds.id)],
        outputs=[DataRef.of_file(version, rows=table.num_rows, schema=schema_of(table), dataset=clean_ds.id)],
        message=message,
    )


def _conform(table: pa.Table, dataset: Dataset) -> pa.Table:
    """``table`` with exactly the dataset's declared columns and types; absent columns become null."""
    arrays = [
        table.column(name).cast(arrow_type(col.type))
        if name in table.column_names
        else pa.nulls(table.num_rows, arrow_type(col.type))
        for name, col in dataset.columns.items()
    ]
    return pa.Table.from_arrays(arrays, names=list(dataset.columns))


def build_training_set(
    inventory: Inventory, clean_id: str, train_id: str, day: dt.date, data_root: Path, window_days: int = 28
) -> JobResult:
    """The training set as of ``day``: the latest clean version of each day of a trailing window,
    with features and label, reduced to the columns the training set declares (data minimisation)."""
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    clean_ds, train_ds = inventory.dataset(clean_id), inventory.dataset(train_id)
    subject = _subject(train_ds, day)
    own = clean_ds.partition_path(day, Path(data_root))
    if latest_version(own) is None:
        raise _error(subject, f"{own}: no clean version of {day.isoformat()}", [])
    tables, inputs, days_used, days_missing = [], [], [], []
    missing_columns: dict[str, list[str]] = {}
    for offset in range(window_days - 1, -1, -1):
        current = day - dt.timedelta(days=offset)
        version = latest_version(clean_ds.partition_path(current, Path(data_root)))
        if version is None:
            days_missing.append(current.isoformat())
            continue
        table = pq.read_table(version)
        inputs.append(
            DataRef.of_file(version, rows=table.num_rows, schema=schema_of(table), dataset=clean_ds.id)
        )
        days_used.append(current.isoformat())
        for name in clean_ds.columns:
            if name not in table.column_names:
                missing_columns.setdefault(name, []).append(current.isoformat())
        tables.append(_conform(table, clean_ds))
    df = pa.concat_tables(tables).to_pandas(
        types_mapper={pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
    )
    rows_in = len(df)

    df = df.sort_values(["application_date", KEY], kind="stable", na_position="first").reset_index(drop=True)
    keyed = df[KEY].notna()
    kept = df[keyed].drop_duplicates(KEY, keep="last")
    duplicates_removed = int(keyed.sum()) - len(kept)
    df = pd.concat([kept, df[~keyed]]).sort_index()

    income = df["annual_income"].where(df["annual_income"] > 0)
    df["loan_to_income"] = (df["loan_amount"] / income).replace([np.inf, -np.inf], np.nan)
    df["label"] = df["approved"].astype("Int64")
    null_label = int(df["label"].isna().sum())
    df = df[df["label"].notna()]

    columns = list(train_ds.columns)
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise _error(subject, f"training columns not derivable: {absent}", inputs)
    table = to_arrow(df, train_ds, columns)
    version, new = write_version(table, train_ds.partition_path(day, Path(data_root)))
    summary = {
        "window_days": window_days,
        "window": [(day - dt.timedelta(days=window_days - 1)).isoformat(), day.isoformat()],
        "days_used": len(days_used),
        "days_missing": days_missing,
        "rows_in": rows_in,
        "duplicates_removed": duplicates_removed,
        "null_label_dropped": null_label,
        "rows_out": table.num_rows,
        "label_positive_rate": round(float(df["label"].mean()), 4) if len(df) else None,
        "missing_columns": missing_columns,
        "columns_dropped": sorted(set(df.columns) - set(columns)),
        "steps_applied": [
            "union_window",
            "deduplicate",
            "derive_loan_to_income",
            "derive_label",
            "minimise_columns",
        ],
        "version": version.name,
        "new_version": new,
    }
    message = f"{table.num_rows} rows from {len(days_used)} of {window_days} days" + (
        f"; columns missing in some days: {', '.join(missing_columns)}" if missing_columns else ""
    )
    return JobResult(
        subject,
        Status.warning if missing_columns else Status.passed,
        summary=summary,
        inputs=inputs,
        outputs=[DataRef.of_file(version, rows=table.num_rows, schema=schema_of(table), dataset=train_ds.id)],
        message=message,
    )
