"""Bias assessment: group metrics of a dataset (and a model's predictions) with fairlearn MetricFrame
semantics, judged against the fairness policy of the dataset's AI system, reported as evidence with small groups suppressed.

Modules: ``metrics`` (group figures), ``policy`` (thresholds and verdicts), ``report`` (JSON,
Markdown, charts), ``assess`` and ``run`` (one training set), ``job`` (the declaration). Nothing is
re-exported here: the DAG imports ``job`` at parse time, which must not import pandas.
"""
