"""Data quality (A.7.4) and drift (A.6.2.6): Great Expectations suites as data, run in the task."""
