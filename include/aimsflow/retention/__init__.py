"""Retention and disposal with proof (ISO/IEC 42001 clause 7.5.3).

Policies per data class and legal holds are YAML under ``include/config/retention/``
(:mod:`~aimsflow.retention.policy`). Each run of ``retention_disposal`` recovers interrupted
disposals, writes a plan record (:mod:`~aimsflow.retention.plan`, decisions in
:mod:`~aimsflow.retention.decide`) and, when approved, deletes, verifies and certifies each object
exactly once (:mod:`~aimsflow.retention.dispose`), leaving a tombstone for each evidence record.
The jobs the DAG calls are in :mod:`~aimsflow.retention.job`.
"""
