"""Scrub raw values of personal columns out of GX's validation result before it enters a record."""

from __future__ import annotations

import copy
from typing import Any

from aimsflow.evidence.redact import MASK
from aimsflow.quality.suites import expectation_columns

# Result keys that carry values of the data (not of the specification).
VALUE_KEYS = (
    "partial_unexpected_list",
    "unexpected_list",
    "observed_value",
    "details",
    "partial_unexpected_counts",
)


def scrub_result(result: dict[str, Any], personal: frozenset[str]) -> dict[str, Any]:
    """A copy of ``result`` in which values observed in personal columns are masked, counts kept."""
    out = copy.deepcopy(result)
    for item in out.get("results", []):
        config = item.get("expectation_config", {})
        if not set(expectation_columns(config)) & personal:
            continue
        res = item.get("result") or {}
        for key in VALUE_KEYS:
            if key not in res:
                continue
            if key == "partial_unexpected_counts":
                res[key] = [{"value": MASK, "count": entry.get("count")} for entry in res[key]]
            elif isinstance(res[key], list):
                res[key] = [MASK] * len(res[key])
            else:
                res[key] = MASK
        # the index query can re-select the rows from the source
        for key in ("unexpected_index_list", "partial_unexpected_index_list", "unexpected_index_query"):
            res.pop(key, None)
        _scrub_exceptions(item.get("exception_info") or {})
    return out


def _scrub_exceptions(info: dict[str, Any]) -> None:
    """An exception raised on a personal column can quote its values ("could not convert string to
    float: '...'"): keep only that an exception was raised, and its class (the traceback's last line
    up to the colon)."""
    for entry in (info, *(v for v in info.values() if isinstance(v, dict))):
        if not entry.get("raised_exception"):
            continue
        last = (entry.get("exception_traceback") or "").strip().splitlines()[-1:] or [""]
        kind = last[0].split(":", 1)[0].strip() or "exception"
        entry["exception_message"] = f"{kind} (message withheld: personal column)"
        entry["exception_traceback"] = MASK
