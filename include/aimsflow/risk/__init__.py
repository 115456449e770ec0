"""The AI risk register (ISO/IEC 42001 6.1.2, 6.1.3, 8.2, 8.3, A.5.2) re-scored from evidence, and
nonconformities (clause 10.2) derived from records.

Modules: ``config`` (register and methodology YAML, validated), ``evidence`` (what the jobs read
from the store), ``signals`` (measurements per risk signal), ``scoring`` (the methodology's rules),
``diff`` (snapshot against snapshot), ``nonconformity`` (the ledger), ``job`` (the reassessment and
the closing jobs), ``report``, ``notify`` (the Airflow notifier), ``airflow_api`` (REST client for
``aimsflow nc close``). Only ``notify`` imports Airflow. See docs/risk-methodology.md.
"""
