"""Shared settings of the fairness tests."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_sklearn():
    # fairlearn/sklearn warn about ill-defined rates on the edge cases the tests build on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
