"""A self-contained HTML page of one validation: inline CSS, no scripts, no network (GX Data Docs
load assets from public CDNs, which an auditor's offline copy cannot reach)."""

from __future__ import annotations

import html
import json
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f23}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.passed{color:#1a7f37}.failed{color:#cf222e}.warning{color:#9a6700}
.badge{font-weight:600;text-transform:uppercase}code{font-size:12px;white-space:pre-wrap}
"""


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{html.escape(json.dumps(value, default=str)[:400])}</code>"
    return html.escape(str(value))


def render_validation_html(
    title: str, status: str, summary: dict[str, Any], rows: list[dict[str, Any]]
) -> bytes:
    """``rows``: one per expectation (already scrubbed): type, column, severity, success, counts, sample."""
    head = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>"
        for k, v in summary.items()
        if k not in ("expectations", "drift")
    )
    body = "".join(
        "<tr>"
        f"<td class='{'passed' if r['success'] else ('failed' if r['severity'] == 'critical' else 'warning')}'>"
        f"{'pass' if r['success'] else 'FAIL'}</td>"
        f"<td>{_cell(r['type'])}</td><td>{_cell(r.get('column') or '')}</td><td>{_cell(r['severity'])}</td>"
        f"<td>{_cell(r.get('unexpected_count', ''))}</td><td>{_cell(r.get('unexpected_percent', ''))}</td>"
        f"<td>{_cell(r.get('sample', ''))}</td><td>{_cell(r.get('observed_value', ''))}</td></tr>"
        for r in rows
    )
    drift = summary.get("drift") or {}
    drift_rows = "".join(
        f"<tr><td class='{f['verdict']}'>{_cell(f['verdict'])}</td><td>{_cell(f['feature'])}</td>"
        f"<td>{_cell(f['kind'])}</td><td>{_cell(f.get('psi'))}</td><td>{_cell(f.get('ks'))}</td></tr>"
        for f in drift.get("features", [])
    )
    drift_html = (
        f"<h2>Drift against {_cell(drift.get('reference'))}</h2><table><tr><th>verdict</th><th>feature</th>"
        f"<th>kind</th><th>PSI</th><th>KS statistic</th></tr>{drift_rows}</table>"
        if drift
        else ""
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>
<h1>{html.escape(title)} <span class="badge {html.escape(status)}">{html.escape(status)}</span></h1>
<table>{head}</table>
<h2>Expectations</h2>
<table><tr><th></th><th>expectation</th><th>column</th><th>severity</th><th>unexpected</th><th>%</th>
<th>sample (masked for personal columns)</th><th>observed</th></tr>{body}</table>
{drift_html}
<p>Rendered by aimsflow from Great Expectations' validation result (validation_result.json in this record).</p>
</body></html>
"""
    return page.encode("utf-8")
