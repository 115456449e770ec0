"""The record and nonconformity views (:mod:`aimsflow.audit.show`) as one self-contained HTML page
each: inline CSS, no script, nothing loaded from a network, every value escaped (the package's Jinja2
environment autoescapes; :mod:`aimsflow.render`). The pages read the same offline, years later, and
are what the export bundle ships beside the records.

Links between pages are the caller's: ``record_href(key)`` and ``nc_href(id)`` give the address of
another record's or nonconformity's page (or None: the key is shown without a link). The default
links nothing, so a page written on its own has no dangling link. An export bundle's pages are the
same pages with :class:`BundleLinks`: back to the bundle's index, to the record's files as packed,
the spec contents, its inclusion proof, and how to check it offline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from aimsflow.audit.show import NC_RELATIONS, NcView, RecordView
from aimsflow.audit.text import readable_uri, when

Href = Callable[[str], str | None]


@dataclass(frozen=True)
class BundleLinks:
    """Where a record's page sits in an export bundle (every address relative to the page)."""

    index: str  # the bundle's index page
    folder: str  # the record's folder as packed (its files, manifest.json, manifest.dsse.json)
    proof: str  # its inclusion and consistency proof (proofs/<key>.json)
    checkpoint_seal: int  # the seal whose checkpoint the proof leads to
    specs: frozenset[str]  # SHA-256 of the specs whose content the bundle packs
    spec_folder: str  # where they are, one file per SHA-256

    def spec(self, sha256: str) -> str | None:
        return f"{self.spec_folder}/{sha256}" if sha256 in self.specs else None


def _none(_: str) -> str | None:
    return None


def _size(n: int | None) -> str:
    return "—" if n is None else f"{n:,} B"


def _common(record_href: Href | None, nc_href: Href | None) -> dict:
    from aimsflow.cli import package_version

    return {
        "when": when,
        "size": _size,
        "readable_uri": readable_uri,
        "record_href": record_href or _none,
        "nc_href": nc_href or _none,
        "version": package_version(),
    }


def render_record_page(
    view: RecordView,
    record_href: Href | None = None,
    nc_href: Href | None = None,
    bundle: BundleLinks | None = None,
) -> str:
    """The record's page (UTF-8 text of one HTML document); ``bundle``: the page is part of an export
    bundle (:mod:`aimsflow.audit.bundle`)."""
    from aimsflow.render import environment

    title = f"{view.status} · {view.check} · {view.period.label} — aimsflow evidence record"
    return (
        environment()
        .get_template("record.html.j2")
        .render(
            title=title,
            view=view,
            bundle=bundle,
            relations=NC_RELATIONS,
            summary_json=json.dumps(view.summary, indent=2, ensure_ascii=False, sort_keys=True, default=str),
            **_common(record_href, nc_href),
        )
    )


def render_nc_page(view: NcView, record_href: Href | None = None, nc_href: Href | None = None) -> str:
    """The nonconformity's page (UTF-8 text of one HTML document)."""
    from aimsflow.render import environment

    title = f"{view.id} ({view.status}) · {view.cause_label} — aimsflow nonconformity"
    return (
        environment()
        .get_template("nonconformity.html.j2")
        .render(title=title, view=view, **_common(record_href, nc_href))
    )
