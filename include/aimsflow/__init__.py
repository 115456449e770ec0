"""aimsflow: recurring, evidence-producing jobs of an ISO/IEC 42001 AI management system."""

from __future__ import annotations

__version__ = "0.1.0"
