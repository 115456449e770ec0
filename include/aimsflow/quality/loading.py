"""Read one dataset partition for checking, with a clear error for every kind of bad input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aimsflow.catalog import Dataset, Format
from aimsflow.prep.partitions import latest_version
from aimsflow.results import DataRef


class BadInput(ValueError):
    """The partition cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Partition:
    frame: pd.DataFrame
    ref: DataRef
    path: Path


def partition_file(dataset: Dataset, day: dt.date, data_root: Path) -> Path:
    """The file holding the partition: the CSV itself, or the latest write-once parquet version."""
    path = dataset.partition_path(day, data_root)
    if dataset.format == Format.parquet and not path.suffix:
        if not path.is_dir():
            raise BadInput(f"{path}: missing partition (no folder for {day.isoformat()})")
        version = latest_version(path)
        if version is None:
            raise BadInput(f"{path}: missing partition (no part-*.parquet version in the folder)")
        return version
    if not path.is_file():
        raise BadInput(f"{path}: missing partition (file not found)")
    return path


def read_partition(dataset: Dataset, day: dt.date, data_root: Path) -> Partition:
    path = partition_file(dataset, day, data_root)
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: empty file (0 bytes)")
    if dataset.format == Format.csv:
        try:
            frame = pd.read_csv(path, encoding="utf-8", encoding_errors="strict")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{path}: not valid UTF-8 at byte {exc.start} ({exc.reason})") from None
        except pd.errors.EmptyDataError:
            raise BadInput(f"{path}: empty file (no header)") from None
        except pd.errors.ParserError as exc:
            raise BadInput(f"{path}: unparseable CSV: {str(exc).splitlines()[0]}") from None
        schema = {c: str(t) for c, t in frame.dtypes.items()}
    else:
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInput(f"{path}: corrupt parquet: {exc}") from None
        frame = table.to_pandas()
        schema = {f.name: str(f.type) for f in table.schema}
    if len(frame) == 0:
        raise BadInput(f"{path}: no rows")
    return Partition(frame, DataRef.of_file(path, rows=len(frame), schema=schema, dataset=dataset.id), path)
