"""Data preparation: ingest, clean and training-set jobs over write-once, versioned partitions."""

from __future__ import annotations
