"""The coverage on the Compliance page is :func:`aimsflow.compliance.coverage.load_coverage`'s, rendered
and never recomputed: every number and row shown is compared with the Coverage the CLI prints."""

from __future__ import annotations

import re
import shutil

import pytest

from aimsflow.compliance import coverage as coverage_module
from aimsflow.risk.nonconformity import current_nonconformities
from aimsflow.ui import pages, views


@pytest.fixture
def evidence(store):
    return views.read_evidence()


def expected(evidence):
    return coverage_module.load_coverage(evidence.storage, evidence.keys, as_of=evidence.read_at)


def test_the_page_shows_the_coverage_the_cli_computes(store, evidence):
    coverage = expected(evidence)
    view = views.coverage_view(evidence)
    assert view.error is None and view.framework == "iso42001" and view.base
    assert view.summary == coverage.summary()
    assert [(c.id, c.freshness) for c in view.rows] == [(c.id, c.freshness) for c in coverage.controls]
    html = pages.compliance_page(evidence, views.overview(evidence), view)
    shown = dict(re.findall(r'data-coverage="(\w+)">(\d+)<', html))
    assert {k: int(v) for k, v in shown.items()} == {
        k: coverage.summary()[k]
        for k in ("fresh", "stale", "missing", "failing", "with_open_nonconformities")
    }
    rows = re.findall(r'<tr data-control="([^"]+)" data-freshness="(\w+)">', html)
    assert rows == [(c.id, str(c.freshness)) for c in coverage.annex_a] + [
        (c.id, str(c.freshness)) for c in coverage.controls if c.kind != "annex_a"
    ]
    # The test store evidences A.7.4 (data_quality records): its row links the latest verdict's record.
    latest = coverage.control("A.7.4").verdict
    assert latest is not None and f'title="{latest.record}"' in html


def test_every_framework_view_is_the_crosswalk_aggregation(store, evidence):
    coverage = expected(evidence)
    for name in coverage.frameworks[1:]:
        view = views.coverage_view(evidence, name)
        assert not view.base and view.framework == name
        items = coverage.by_framework(name)
        assert [(r.item, r.freshness, r.verdict) for r in view.rows] == [
            (r.item, r.freshness, r.verdict) for r in items
        ]
        html = pages.compliance_page(evidence, views.overview(evidence), view)
        assert re.findall(r'<tr data-item="([^"]+)" data-freshness="(\w+)">', html) == [
            (r.item, str(r.freshness)) for r in items
        ]


def test_an_unknown_framework_is_a_bad_request(store, evidence):
    with pytest.raises(views.BadRequest, match="framework='iso9001'"):
        views.coverage_view(evidence, "iso9001")


def test_a_statement_of_applicability_that_does_not_load_is_shown_and_the_rest_renders(
    store, evidence, tmp_path, monkeypatch
):
    from aimsflow import settings

    config = tmp_path / "config"
    shutil.copytree(settings.config_dir(), config)
    soa = config / "soa.yaml"
    soa.write_text(soa.read_text().replace("A.2.2", "A.99.9", 1))
    monkeypatch.setenv("AIMSFLOW_CONFIG_DIR", str(config))
    view = views.coverage_view(evidence)
    assert view.error and "A.99.9" in view.error
    html = pages.compliance_page(evidence, views.overview(evidence), view)
    assert "Coverage cannot be computed" in html and 'data-status="passed">3<' in html


def test_coverage_shows_nothing_of_dags_the_user_may_not_read(store):
    """Bug (review finding 6): coverage_view re-read the whole store (load_coverage(evidence.storage))
    instead of the restricted evidence, so a user who may read no DAG still saw the verdicts, record
    keys, gap texts and nonconformities of every DAG's records on the Compliance page."""
    evidence = views.restricted(views.read_evidence(), lambda dag: False)
    assert evidence.records == []  # the list and cards are restricted ...
    view = views.coverage_view(evidence)
    shown = [c.id for c in view.rows if c.verdict is not None]
    html = pages.compliance_page(evidence, views.overview(evidence), view)
    leaked = store.key("v0") in html or any(store.key(n) in html for n in store.refs)
    assert not shown and not leaked, f"coverage shows verdicts of unreadable DAGs for {shown}"


def test_restricted_coverage_counts_the_readable_dags_and_says_so(store):
    """The cards and the coverage count the same records: a user who may read data_quality only sees
    its verdicts (A.7.4), none of bias_assessment's, and one line saying coverage is restricted."""
    whole = views.read_evidence()
    evidence = views.restricted(whole, lambda dag: dag == "data_quality")
    assert evidence.records and {r.dag_id for r in evidence.records} == {"data_quality"}
    view = views.coverage_view(evidence)
    ledger, _, _ = current_nonconformities(store.storage)
    mine = [nc for nc in ledger if nc.cause.check.startswith("data_quality/")]
    assert mine and len(mine) < len(ledger)  # the failing bias assessment's is not the user's
    expected = coverage_module.compute_coverage(
        evidence.loaded, view.coverage.soa, view.coverage.crosswalk, mine, evidence.read_at
    )
    assert view.summary == expected.summary() and view.summary["with_open_nonconformities"] == 1
    verdicts = {c.verdict.record for c in view.rows if c.verdict is not None}
    assert verdicts and verdicts <= set(evidence.by_key)
    html = pages.compliance_page(evidence, views.overview(evidence), view)
    assert 'id="coverage-restricted"' in html and store.key("assess") not in html
    # Everyone may read everything: nothing is left out and nothing is said.
    everything = views.restricted(whole, lambda dag: True)
    html = pages.compliance_page(everything, views.overview(everything), views.coverage_view(everything))
    assert 'id="coverage-restricted"' not in html
