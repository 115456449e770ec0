"""Run a suite with Great Expectations 1.x, directly (the GX Airflow provider cannot be installed
beside Airflow 3.3). GX is imported here, inside the task, never at DAG parse time."""

from __future__ import annotations

import logging
import os
from typing import Any

import pandas as pd

# Bounded samples: enough for a person to see the problem, never a dump of the data.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX progress bars
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_suite(frame: pd.DataFrame, suite_doc: dict[str, Any]) -> dict[str, Any]:
    """GX's own validation result as JSON (ExpectationSuiteValidationResult.to_json_dict())."""
    _quiet_gx()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("aimsflow").add_dataframe_asset("partition")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(
        name=suite_doc["name"],
        expectations=[
            {k: v for k, v in e.items() if k in ("type", "kwargs", "meta", "severity", "notes", "id")}
            for e in suite_doc["expectations"]
        ],
        meta=suite_doc.get("meta", {}),
    )
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    return result.to_json_dict()
