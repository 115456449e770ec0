"""The groups of each sensitive feature as the bias assessment compares them: a numeric column is
cut into the bands its catalog entry declares (``bins``), and refused without them.

A numeric sensitive column without bins would make every distinct value (every age) its own group,
so parity compares single ages and the verdict means nothing. The catalog refuses such a column when
it is declared numeric; :func:`grouped` refuses it when the data is numeric anyway (a CSV column
declared ``string`` that holds numbers). Band convention (see :class:`aimsflow.catalog.Column`):
``[a, b)``, closed on the left; below the first edge ``<a``; NaN, None and ±inf ``missing``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aimsflow.catalog import Column, Dataset


def is_numeric(series: pd.Series) -> bool:
    """Numbers that would each be a group; booleans are two categories, not numbers."""
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def cut(series: pd.Series, column: Column) -> pd.Series:
    """The band label of each value (a categorical; NaN where the value is missing), vectorised."""
    assert column.bins is not None
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    values = np.where(np.isfinite(values), values, np.nan)  # ±inf is no value of any band
    bands = pd.cut(
        values, [-np.inf, *column.bins, np.inf], right=False, labels=column.band_labels(), ordered=False
    )
    return pd.Series(bands, index=series.index, name=series.name)


def grouped(df: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """``df`` with every binned sensitive feature replaced by its band labels (the other columns
    shared, not copied). Raises ValueError naming dataset, column and what to add to the catalog when
    a sensitive column is numeric in the data without bins, or has bins but holds no numbers."""
    banded: dict[str, pd.Series] = {}
    for name in dataset.sensitive_features:
        column = dataset.columns[name]
        if name not in df.columns:
            continue  # compute_group_metrics names every absent column
        values = df[name]
        if column.bins is not None:
            if not is_numeric(values):
                raise ValueError(
                    f"sensitive feature {name!r} has bins in the catalog but its values in the data "
                    f"are not numbers (dtype {values.dtype}); fix the data or the column's declaration"
                )
            banded[name] = cut(values, column)
        elif is_numeric(values) and not column.categorical:
            raise ValueError(
                f"sensitive feature {name!r} is numeric in the data (dtype {values.dtype}) but the "
                f"catalog (datasets.yaml, dataset {dataset.id!r}) declares no bins for it, so every "
                f"distinct value would be its own group; add band edges to columns.{name} (e.g. "
                f"`bins: [18, 25, 35, 50, 65]`), or `categorical: true` if its values are codes"
            )
    return df.assign(**banded) if banded else df
