"""HTML of the evidence pages, from the view models of :mod:`aimsflow.ui.views`.

Templates are ``aimsflow/templates/ui_*.html.j2`` (autoescaped; undefined names are errors). Pages
are served inside the Airflow UI in an iframe under the API server's prefix, so every link is
relative to the page (all pages live side by side: ``records``, ``record?key=...``) and nothing is
loaded from elsewhere: CSS inline, no script, no font, no image from a network.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aimsflow.evidence.controls import CONTROLS

if TYPE_CHECKING:
    import jinja2

    from aimsflow.ui.views import Evidence, Overview, RecordDetail, RecordList, RunEvidence, UntrustedDetail


def when(value: dt.datetime | str | None) -> str:
    """A moment as people read it, in UTC to the minute: ``2026-11-20 01:00``."""
    if value is None or value == "":
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def size(n: int) -> str:
    """Bytes as people read them: ``812 B``, ``4.1 kB``, ``2.3 MB``."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("kB", "MB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} GB"


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aimsflow", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["size"] = size
    env.globals["control_title"] = lambda c: CONTROLS.get(c, "")
    return env


def _page(
    template: str, evidence: Evidence | None, section: str, untrusted: list | None = None, **context: Any
) -> str:
    """A page in the common frame: the store's untrusted objects on every page (never hidden;
    ``untrusted``: those the page does not list itself)."""
    from aimsflow.evidence.redact import redact_text, secret_values

    pending = None if evidence is None else sum(r.sealed_in is None for r in evidence.records)
    html = (
        environment()
        .get_template(template)
        .render(
            section=section,
            untrusted=untrusted if untrusted is not None else [] if evidence is None else evidence.untrusted,
            read_at="" if evidence is None else when(evidence.read_at) + " UTC",
            pending=pending,
            **context,
        )
    )
    # Records are redacted when written; masking the configured secret values once more here means a
    # record that slipped one through (a job's bug, for verify to report) still never shows it.
    return redact_text(html, secret_values())


def _status_href(base: dict[str, str]) -> Callable[[str], str]:
    """Links of the status cards: the record list filtered by that status (keeping the rest)."""
    return lambda status: "records?" + urlencode({**base, "status": status})


def compliance_page(evidence: Evidence, view: Overview, coverage: Any = None) -> str:
    return _page(
        "ui_compliance.html.j2",
        evidence,
        "compliance",
        title="Compliance",
        view=view,
        coverage=coverage,
        status_href=_status_href({}),
    )


def records_page(evidence: Evidence, view: RecordList) -> str:
    base = {k: v for k, v in view.filters.active().items() if k != "status"}
    return _page(
        "ui_records.html.j2",
        evidence,
        "records",
        title="Evidence records",
        view=view,
        status_href=_status_href(base),
    )


def record_page(evidence: Evidence, view: RecordDetail | UntrustedDetail) -> str:
    from aimsflow.ui.views import UntrustedDetail

    if isinstance(view, UntrustedDetail):
        return _page("ui_untrusted.html.j2", evidence, "records", title="Untrusted record folder", view=view)
    return _page(
        "ui_record.html.j2",
        evidence,
        "records",
        title=view.row.check,
        view=view,
        masked=view.masked,
    )


def run_page(evidence: Evidence, view: RunEvidence) -> str:
    title = f"Evidence of {view.task_id or view.run_id}"
    others = [u for u in evidence.untrusted if u not in view.untrusted]
    return _page("ui_run.html.j2", evidence, "run", untrusted=others, title=title, view=view)


def error_page(status_code: int, reason: str, message: str, login_url: str | None = None) -> str:
    return _page(
        "ui_error.html.j2",
        None,
        "",
        title=f"{status_code} {reason}",
        status_code=status_code,
        reason=reason,
        message=message,
        login_url=login_url,
    )
