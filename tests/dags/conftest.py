from __future__ import annotations

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(PROJECT / "dags"))
