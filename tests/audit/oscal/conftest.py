"""OSCAL tests: signed records in a temporary store, written as the risk tests write them (periods,
end times and signers of their own), with a small Statement of Applicability."""

from __future__ import annotations

from tests.risk.conftest import forger, store, write  # noqa: F401  (fixtures used here)
