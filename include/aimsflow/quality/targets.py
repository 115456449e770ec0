"""Which dataset partitions a data_quality run validates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aimsflow.catalog import Inventory
from aimsflow.periods import Period
from aimsflow.runperiod import period_from_extra

DATASET_ASSET_PREFIX = "dataset/"


def plan_targets(
    inventory: Inventory, period: Period, events: Iterable[tuple[str, dict[str, Any]]]
) -> list[dict[str, str]]:
    """``[{"dataset", "day"}]`` to validate, one per dataset partition.

    Asset-triggered: exactly the partitions announced by the consumed events (so a run never checks
    data that is not there yet). Otherwise (manual, scheduled): every dataset that names a suite, for
    every day of the period.
    """
    with_suite = sorted(d.id for d in inventory.datasets.values() if d.suite)
    events = list(events)
    pairs: set[tuple[str, str]] = set()
    if events:
        for name, extra in events:
            dataset_id = name.removeprefix(DATASET_ASSET_PREFIX)
            event_period = period_from_extra(extra)
            if dataset_id in with_suite and event_period is not None:
                pairs.update((dataset_id, day.isoformat()) for day in event_period.dates())
    else:
        pairs.update((d, day.isoformat()) for d in with_suite for day in period.dates())
    return [{"dataset": d, "day": day} for d, day in sorted(pairs, key=lambda p: (p[1], p[0]))]
