"""Run a suite with Great Expectations 1.x, directly (the GX Airflow provider cannot be installed
beside Airflow 3.3). GX is imported here, inside the task, never at DAG parse time."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

# Bounded samples: enough for a person to see the problem, never a dump of the data.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}


def _quiet_gx() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _context() -> Any:
    """An in-memory GX context with analytics and progress bars off in its own configuration (no
    environment variable set on the process's behalf)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(frame: pd.DataFrame, suite_doc: dict[str, Any]) -> dict[str, Any]:
    """GX's own validation result as JSON (ExpectationSuiteValidationResult.to_json_dict())."""
    _quiet_gx()
    import great_expectations as gx

    context = _context()
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
