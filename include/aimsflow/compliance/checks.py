"""The compliance report's check, declared where the readers that must recognise its records (the
risk package's self-checks) can import it without importing the job."""

from __future__ import annotations

from aimsflow.jobs import Check

REPORT = Check(
    "compliance_report/report",
    ("9.1", "9.3"),
    "coverage per control and framework, run history, trends, risk levels and the management review "
    "input, as one self-contained HTML page and its JSON",
)
