"""Data preparation: ingest, clean and training-set jobs over write-once, versioned partitions."""

from __future__ import annotations

# The demo AI system and its pipeline's datasets (catalog ids). Kept here, free of heavy imports,
# because the DAG file reads them at parse time.
AI_SYSTEM = "loan_approval"
RAW, CLEAN, TRAIN = "loan_applications_raw", "loan_applications_clean", "loan_training_set"
