"""The HTML pages: self-contained, every value escaped, the same facts as the view."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from aimsflow.audit.html import render_nc_page, render_record_page
from aimsflow.audit.show import describe_nonconformity, describe_record, read_store
from aimsflow.results import Status
from tests.audit.conftest import D1, at

HOSTILE = "<script>alert('x')</script>"


class _Tags(HTMLParser):
    """Tags and attributes of a page, and whether every opened table, list and cell was closed."""

    VOID = {"meta", "br", "wbr", "img", "link", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert tags.open == [], f"unclosed: {tags.open}"
    return tags


def assert_self_contained(page: str) -> _Tags:
    """No script, nothing loaded from anywhere: no src, no stylesheet link, no external URL in an
    attribute; the only style is the inline one."""
    tags = parse(page)
    names = [t for t, _ in tags.tags]
    assert "script" not in names and "link" not in names and "img" not in names and "iframe" not in names
    for tag, attrs in tags.tags:
        assert "src" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert not re.match(r"\s*(https?:|//|javascript:)", attrs.get("href") or ""), attrs
    assert names.count("style") == 1
    return tags


def test_record_page_shows_the_view_whole(store, keys, scenario):
    snap = read_store(store, keys)
    snap.crosswalk = None  # (the crosswalk's counterparts: test_record_page_shows_counterparts...)
    view = describe_record(store, scenario.first.key, keys, snapshot=snap)
    page = render_record_page(view)
    assert "crosswalk" not in page  # no counterparts, no note about them
    tags = assert_self_contained(page)
    text = " ".join("".join(tags.text).split())
    # Full hashes (the text view shortens them; the page must not).
    for digest in (
        *(f.sha256 for f in view.files),
        view.inputs[0].sha256,
        view.outputs[0].sha256,
        view.specs[0].sha256,
        view.signature.manifest_sha256,
        view.seal.root_hash,
    ):
        assert digest in text, digest
    # (None where the project is not a git checkout: a copied tree)
    assert (view.code.git_commit or "git commit unknown") in text
    for fact in (
        "A.7.4 Quality of data for AI systems",
        "7.5.3 Control of documented information",
        view.check_title,
        "scheduled__2026-11-25T01:00:00+00:00",
        "map index 3",
        "1 of 3",
        "by alice",
        "api_token=***",
        "01a2272b-f54e-7967-aff1-993910c87168",
        f"opened {scenario.nc_id}",
        f"superseded by {scenario.passed.key}",
        "in seal 1 at",
        f"leaf {view.seal.leaf_index} of the tree of 4 leaves",
        "4 of 15 expectations failed",
        "2026-11-24 [2026-11-24 00:00:00 UTC .. 2026-11-25 00:00:00 UTC)",
        "test-key-1",
        "charts/rows.txt",
        "summary.json",
    ):
        assert fact in text, fact
    # The checkpoint note is on the page as signed (three lines, blank line, signature line).
    assert view.seal.checkpoint.splitlines()[0] in page and "— " in view.seal.checkpoint
    assert "<a " not in page  # no link target given: nothing links anywhere


def test_record_page_escapes_every_field(store, keys, write):
    """A record field holding markup is shown as text: the message, a Param, the summary, the
    subject's dataset, a file name and an input URI."""
    ref = write(
        dataset=f"loans{HOSTILE}",
        message=f"failed on {HOSTILE}",
        params={"note": f'"><img src=x onerror=alert(1)>{HOSTILE}'},
        summary={"comment": HOSTILE},
        files={"<b>bold</b>.txt": b"x"},
        status=Status.failed,
    )
    page = render_record_page(describe_record(store, ref.key, keys))
    assert_self_contained(page)
    assert "<script" not in page.lower() and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;.txt" in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_links_are_the_callers(store, keys, scenario):
    view = describe_record(store, scenario.first.key, keys)
    page = render_record_page(
        view, record_href=lambda key: f"../{key}/index.html", nc_href=lambda nc: f"nc/{nc}.html?a=1&b=2"
    )
    hrefs = [a.get("href") for tag, a in parse(page).tags if tag == "a"]
    assert f"../{scenario.passed.key}/index.html" in hrefs
    assert f"nc/{scenario.nc_id}.html?a=1&b=2" in hrefs  # parsed back from &amp;: escaped in the page
    assert "?a=1&amp;b=2" in page


def test_record_page_of_a_pending_record_with_problems(store, keys, scenario):
    store.path(f"{scenario.pending.key}/summary.json").write_bytes(b"{}\n")
    page = render_record_page(describe_record(store, scenario.pending.key, keys))
    text = " ".join("".join(parse(page).text).split())
    assert "pending not in a seal yet" in text
    assert "Problems found reading this record" in text and "file summary.json: changed" in text


def test_record_page_of_an_error_record(store, keys, write):
    ref = write(
        status=Status.error,
        error={
            "type": "BadInput",
            "message": f"bad {HOSTILE}",
            "traceback": f"Traceback {HOSTILE}",
            "final_try": True,
        },
    )
    page = render_record_page(describe_record(store, ref.key, keys))
    assert_self_contained(page)
    text = " ".join("".join(parse(page).text).split())
    assert "BadInput (final try)" in text and "Traceback (secrets redacted)" in text
    assert "&lt;script&gt;" in page and "<script" not in page


def test_nonconformity_page(store, keys, scenario):
    snap = read_store(store, keys)
    view = describe_nonconformity(store, scenario.nc_id, keys, snapshot=snap)
    page = render_nc_page(view, record_href=lambda key: f"{key}.html")
    tags = assert_self_contained(page)
    text = " ".join("".join(tags.text).split())
    for fact in (
        scenario.nc_id,
        "closed",
        "data_quality/validate [loan_applications_clean]",
        "2026-11-24",
        "2026-11-25 01:00:00 UTC",
        scenario.first.key,
        scenario.again.key,
        "by carol",
        "null incomes in the export",
        "export fixed and re-run",
        scenario.closure.key,
        scenario.passed.key,
    ):
        assert fact in text, fact
    hrefs = {a.get("href") for tag, a in tags.tags if tag == "a"}
    assert {
        f"{k}.html"
        for k in (scenario.first.key, scenario.again.key, scenario.closure.key, scenario.passed.key)
    } <= hrefs


def test_nonconformity_page_escapes_the_closure(store, keys, write):
    from aimsflow.risk.job import CLOSE, close_nonconformity
    from tests.conftest import declared

    write(status=Status.failed)
    write(run_after=at(D1, 9))
    (nc,) = read_store(store, keys).ledger
    result = declared(CLOSE, close_nonconformity)(
        nc.id, HOSTILE, f"fixed {HOSTILE}", "carol", storage=store, triggered_by="ui"
    )
    assert result.status == Status.passed
    write(
        "nonconformity_close/close",
        status=Status.passed,
        dataset=None,
        summary=result.summary,
        dag_id="nonconformity_close",
        task_id="close",
        user="carol",
        controls=("10.2",),
    )
    page = render_nc_page(describe_nonconformity(store, nc.id, keys))
    assert_self_contained(page)
    assert "<script" not in page and page.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 2


def test_record_keys_wrap_at_their_folders_and_stay_escaped():
    from aimsflow.render import environment

    template = environment().from_string(
        '{% from "_audit_macros.html.j2" import breakable %}{{ breakable(x) }}'
    )
    assert (
        template.render(x="records/2026-11/<b>x</b>") == "records/<wbr>2026-11/<wbr>&lt;b&gt;x&lt;/<wbr>b&gt;"
    )


def test_record_page_shows_counterparts_and_their_source(store, keys, scenario):
    from tests.audit.test_show import FakeCrosswalk

    snap = read_store(store, keys)
    snap.crosswalk = FakeCrosswalk()
    page = render_record_page(describe_record(store, scenario.first.key, keys, snapshot=snap))
    text = " ".join("".join(parse(page).text).split())
    assert "EU AI Act Art. 10 Data and data governance" in text
    assert (
        "NIST AI RMF 1.0 MAP 2.3 Scientific integrity and TEVV (published crosswalk: nist-ai-rmf-42001)"
        in text
    )
    assert "own judgement unless marked as from a published crosswalk" in text
