"""Manual evidence: documents staff drop in an inbox folder with a small YAML sidecar, ingested by the
``manual_evidence`` DAG into one signed record per document (docs/manual-evidence.md).

* :mod:`aimsflow.manual.sidecar` — the sidecar's model and its strict, position-naming loader;
* :mod:`aimsflow.manual.inbox` — what lies in the inbox, and moving an ingested drop out of it;
* :mod:`aimsflow.manual.history` — the verified records of earlier drops (duplicates, versions);
* :mod:`aimsflow.manual.job` — the job ``manual_evidence/document``, the scan and the filing step.
"""
