"""The records the audit tools write. No DAG: ``aimsflow evidence sample`` writes the sample record
(declared here so that the job contract, ``--check`` and docs/controls.md know it)."""

from __future__ import annotations

from aimsflow.audit.sample import SAMPLE

JOBS = ()
CHECKS = (SAMPLE,)
