"""The human-readable page of a reassessment record (``report.md``)."""

from __future__ import annotations

from typing import Any

from aimsflow.render import md_cell, md_table


def report_markdown(
    snapshot: dict[str, Any], diff: dict[str, Any], ledger: dict[str, Any], status: str
) -> str:
    period = snapshot["period"]["label"]
    m = snapshot["methodology"]
    lines = [
        f"# Risk register reassessment {period}: {status}",
        "",
        f"As of {snapshot['as_of']}. Appetite: score <= {m['appetite']}; an owner may accept up to "
        f"{m['max_acceptable']}. Register SHA-256 `{snapshot['register']['sha256'][:16]}...`, methodology "
        f"`{m['sha256'][:16]}...`.",
        "",
    ]
    lines += md_table(
        ("risk", "category", "assessed", "current", "level", "flags"),
        (
            (
                f"{r['id']} {r['title']}",
                r["category"],
                f"{r['assessed']['likelihood']}x{r['assessed']['impact']}={r['assessed']['score']}",
                f"{r['current']['likelihood']}x{r['current']['impact']}={r['current']['score']}",
                r["current"]["level"],
                ", ".join(r["flags"]) or "-",
            )
            for r in snapshot["risks"]
        ),
    )
    lines += [
        "",
        "## Changes since "
        + (f"`{diff['previous']}`" if diff["previous"] else "the register (first snapshot)"),
    ]
    if not diff["risks"]:
        lines.append("")
        lines.append("No change.")
    for change in diff["risks"]:
        lines += ["", f"### {change['id']} ({change['change']})"]
        for name, ft in change["fields"].items():
            lines.append(f"* {name}: {md_cell(ft['from'])} -> {md_cell(ft['to'])}")
        for why in change["why"]:
            lines.append(f"* {md_cell(why)}")
        for key in change["records"]:
            lines.append(f"  * record `{key}`")
    open_ncs = [nc for nc in ledger["nonconformities"] if nc["status"] == "open"]
    lines += ["", f"## Nonconformities: {ledger['open']} open, {ledger['closed']} closed", ""]
    ncd = diff.get("nonconformities", {})
    if ncd.get("opened"):
        lines.append(f"Opened: {', '.join(ncd['opened'])}. ")
    if ncd.get("closed"):
        lines.append(f"Closed: {', '.join(ncd['closed'])}. ")
    for nc in open_ncs:
        cause = nc["cause"]
        lines.append(
            f"* {nc['id']} {cause['check']}"
            + (f" [{cause['dataset']}]" if cause["dataset"] else "")
            + f": {len(nc['occurrences'])} occurrence(s), last `{nc['occurrences'][-1]['record']}`"
        )
    return "\n".join(lines) + "\n"
