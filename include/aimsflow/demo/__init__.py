"""Demo data: a seeded stand-in for the loan origination system, with defects injected on known days."""

from __future__ import annotations

from aimsflow.demo.generator import BatchInfo, defect_plan, generate_source_batches

__all__ = ["BatchInfo", "defect_plan", "generate_source_batches"]
