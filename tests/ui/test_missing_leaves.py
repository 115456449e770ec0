"""Review finding 5 in the UI: a sealed record deleted from the store simply vanished from the pages
(an older record became the current verdict, no banner). The deleted leaf is now named in the red
banner of every page, and its own page says it is gone."""

from __future__ import annotations

import shutil

from aimsflow.ui import pages, views


def test_a_deleted_sealed_record_is_in_the_banner_and_has_a_page_saying_so(store):
    gone = store.key("profile")  # sealed in seal 1 (tests/ui/conftest.py)
    before = views.read_evidence()
    assert gone not in {u.key for u in before.untrusted}
    shutil.rmtree(store.storage.root / gone)
    evidence = views.read_evidence()
    problem = "sealed in seal 1, missing from the store (deleted record)"
    assert {u.key: u.problem for u in evidence.untrusted}[gone] == problem
    view = views.record_list(evidence, views.parse_filters({}))
    assert gone not in {row.key for row in view.rows}
    html = pages.records_page(evidence, view)
    banner = html[html.index('id="untrusted"') :]
    assert gone in banner and problem in banner
    detail = views.record_detail(evidence, gone)
    assert isinstance(detail, views.UntrustedDetail) and detail.problem == problem
