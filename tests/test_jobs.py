"""The job contract: every job declared once, check ids in one style, the docs' table generated from
the declarations, the cycle's order from what jobs read, and the register's globs checked."""

from __future__ import annotations

import re

import pytest

from aimsflow import jobs
from aimsflow.evidence.controls import CONTROLS
from aimsflow.jobs import Check, Job, PeriodUse, SubjectKind, all_checks, all_jobs, dag_order
from tests.conftest import PROJECT


def test_every_check_id_is_dag_slash_name_in_snake_case_and_declared_once():
    ids = [c.id for c in all_checks()]
    assert len(ids) == len(set(ids))
    for check_id in ids:
        assert re.fullmatch(r"[a-z][a-z_]*/[a-z][a-z_]*", check_id), check_id


def test_every_declared_control_exists():
    for c in all_checks():
        assert set(c.controls) <= CONTROLS.keys(), c.id


def test_no_dag_file_spells_a_check_id_or_uses_a_lambda():
    for path in sorted((PROJECT / "dags").glob("*.py")):
        text = path.read_text()
        assert "lambda" not in text and "noqa" not in text, path.name
        for c in all_checks():
            assert f'"{c.id}"' not in text, (path.name, c.id)


def test_a_bad_check_id_or_missing_controls_is_refused():
    with pytest.raises(ValueError, match="snake_case"):
        Check("Data-Quality/x", ("A.7.4",), "t")
    with pytest.raises(ValueError, match="no controls"):
        Check("a/b", (), "t")


def test_the_controls_table_in_the_docs_is_current():
    text = (PROJECT / "docs" / "controls.md").read_text()
    assert jobs.controls_table() in text, "stale: run `python -m aimsflow.jobs --write-docs`"


def test_the_cycle_runs_a_dag_after_the_dags_whose_records_it_reads():
    order = dag_order({j.dag_id for j in all_jobs()})
    assert order.index("data_preparation") < order.index("data_quality") < order.index("bias_assessment")
    assert order.index("data_preparation") < order.index("data_provenance")
    assert order.index("evidence_seal") < order.index("retention_disposal")  # lineage archives first
    assert order.index("risk_reassessment") > order.index("evidence_seal")  # reads everything
    assert order[-1] == "compliance_report"  # reads everything, the reassessment by name


def test_a_cycle_among_declared_reads_is_an_error(monkeypatch):
    def job(dag: str, reads: tuple[str, ...]) -> Job:
        return Job(dag, "j", ("A.7.4",), SubjectKind.aims, PeriodUse.day, lambda p: None, "t", reads=reads)

    fake = (job("a_dag", ("b_dag/*",)), job("b_dag", ("a_dag/*",)))
    monkeypatch.setattr(jobs, "all_jobs", lambda: fake)
    with pytest.raises(ValueError, match="cycle"):
        dag_order(["a_dag", "b_dag"])


def test_a_register_glob_that_matches_no_declared_check_is_a_configuration_error(tmp_path):
    """A signal on `data_qualty/*` (a typo, or a check renamed) would silently measure nothing."""
    import shutil

    from aimsflow.configfile import ConfigError
    from aimsflow.risk.config import load_risk_config

    config = tmp_path / "config"
    shutil.copytree(PROJECT / "include" / "config", config)
    register = config / "risk" / "register.yaml"
    text = register.read_text()
    assert "check: data_quality/*" in text
    register.write_text(text.replace("check: data_quality/*", "check: data_qualty/*", 1))
    with pytest.raises(ConfigError) as exc:
        load_risk_config(config)
    (problem,) = [p for p in exc.value.problems if "data_qualty" in p]
    assert "register.yaml:" in problem and "matches no declared check" in problem
