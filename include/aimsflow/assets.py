"""Airflow Asset names, built in one place (no Airflow import: jobs name the events they want, the
glue turns names into Assets).

* ``dataset/<id>`` — a new partition of a catalog dataset was written (``data_preparation``);
* ``validated/<id>`` — a partition passed its data quality check (``data_quality``, through the
  ``validated`` AssetAlias, since mapped tasks only know their dataset at run time).
"""

from __future__ import annotations

VALIDATED_ALIAS = "validated"


def dataset_asset(dataset_id: str) -> tuple[str, str]:
    """(name, uri) of the Asset a dataset's new partitions are announced on."""
    return f"dataset/{dataset_id}", f"aimsflow://dataset/{dataset_id}"


def validated_asset(dataset_id: str) -> tuple[str, str]:
    """(name, uri) of the Asset announcing a validated partition."""
    return f"validated/{dataset_id}", f"aimsflow://validated/{dataset_id}"
