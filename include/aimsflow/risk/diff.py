"""The diff of two register snapshots: what changed, why, and which records drove it.

Works on the snapshot documents (``register.json``) so that a snapshot read back from an earlier
record and one just computed compare the same way.
"""

from __future__ import annotations

from typing import Any

DIFF_FORMAT = "aimsflow-risk-diff/1"
# Compared per risk: (label, path in the snapshot's risk entry).
_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("likelihood", ("current", "likelihood")),
    ("impact", ("current", "impact")),
    ("score", ("current", "score")),
    ("level", ("current", "level")),
    ("above_appetite", ("above_appetite",)),
    ("accepted", ("accepted",)),
    ("review_overdue", ("review", "overdue")),
    ("assessed_likelihood", ("assessed", "likelihood")),
    ("assessed_impact", ("assessed", "impact")),
    ("treatment", ("treatment",)),
    ("owner", ("owner",)),
    ("controls", ("controls",)),
    ("acceptance", ("acceptance",)),
    ("review_due", ("review", "due")),
)


def _get(entry: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = entry
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _signal_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    old = {s["id"]: s for s in (before or {}).get("signals", [])}
    new = {s["id"]: s for s in (after or {}).get("signals", [])}
    out = []
    for sid in sorted(old.keys() | new.keys()):
        a, b = old.get(sid), new.get(sid)
        if a and b and a["state"] == b["state"]:
            continue  # a value moving within the same state changes nothing about the risk
        out.append(
            {
                "id": sid,
                "state": {"from": a and a["state"], "to": b and b["state"]},
                "value": {"from": a and a["value"], "to": b and b["value"]},
                "detail": (b or a)["detail"],
                # Records that drive the state now, and those that drove it before (an improvement is
                # explained by the records that left the window or were superseded).
                "records": sorted(set((b or {}).get("records", []))),
                "records_before": sorted(set((a or {}).get("records", []))),
            }
        )
    return out


def _why(fields: dict[str, Any], signals: list[dict[str, Any]], after: dict[str, Any] | None) -> list[str]:
    why = []
    for name in ("assessed_likelihood", "assessed_impact", "treatment", "owner", "controls", "acceptance"):
        if name in fields:
            why.append(f"register: {name} {fields[name]['from']!r} -> {fields[name]['to']!r}")
    for s in signals:
        why.append(
            f"signal {s['id']}: {s['state']['from'] or 'absent'} -> {s['state']['to'] or 'absent'}: {s['detail']}"
        )
    if "review_overdue" in fields and after is not None:
        due = after["review"]["due"]
        why.append(f"review due {due} " + ("has passed" if fields["review_overdue"]["to"] else "is ahead"))
    if after is not None:
        why.extend(after.get("reasons", []))
    return why


_CORE = ("likelihood", "impact", "score", "level", "above_appetite", "accepted", "review_overdue")


def _added_or_removed(rid: str, entry: dict[str, Any], added: bool) -> dict[str, Any]:
    """A risk new in (or gone from) the register: its core figures and what drives it now."""
    fields = {
        name: {"from": None, "to": _get(entry, path)} if added else {"from": _get(entry, path), "to": None}
        for name, path in _FIELDS
        if name in _CORE
    }
    signals = [
        {
            "id": s["id"],
            "state": {"from": None, "to": s["state"]},
            "value": {"from": None, "to": s["value"]},
            "detail": s["detail"],
            "records": sorted(set(s["records"])),
            "records_before": [],
        }
        for s in entry.get("signals", [])
        if added and s["state"] != "ok"
    ]
    why = ["new in the register" if added else "removed from the register"]
    if added:
        why += [f"signal {s['id']}: {s['state']['to']}: {s['detail']}" for s in signals]
        why += list(entry.get("reasons", []))
        if entry.get("review", {}).get("overdue"):
            why.append(f"review due {entry['review']['due']} has passed")
    records = sorted({k for s in signals for k in s["records"]})
    return {
        "id": rid,
        "change": "added" if added else "removed",
        "fields": fields,
        "signals": signals,
        "why": why,
        "records": records,
    }


def diff_snapshots(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """Per risk: added, removed or changed (fields from/to, signal changes, why, record keys)."""
    old = {r["id"]: r for r in (previous or {}).get("risks", [])}
    new = {r["id"]: r for r in current.get("risks", [])}
    risks, unchanged = [], []
    for rid in sorted(old.keys() | new.keys()):
        a, b = old.get(rid), new.get(rid)
        if a is None or b is None:
            risks.append(_added_or_removed(rid, b if a is None else a, added=a is None))
            continue
        fields = {}
        for name, path in _FIELDS:
            va, vb = _get(a, path), _get(b, path)
            if va != vb:
                fields[name] = {"from": va, "to": vb}
        signals = _signal_changes(a, b)
        if not fields and not signals:
            unchanged.append(rid)
            continue
        records = sorted({k for s in signals for k in s["records"] + s["records_before"]})
        risks.append(
            {
                "id": rid,
                "change": "changed",
                "fields": fields,
                "signals": signals,
                "why": _why(fields, signals, b),
                "records": records,
            }
        )
    specs_changed = [
        name
        for name in ("register", "methodology")
        if previous is not None and _get(previous, (name, "sha256")) != _get(current, (name, "sha256"))
    ]
    return {
        "format": DIFF_FORMAT,
        "previous": (previous or {}).get("record"),
        "previous_period": _get(previous or {}, ("period", "label")),
        "period": _get(current, ("period", "label")),
        "specs_changed": specs_changed,
        "risks": risks,
        "unchanged": unchanged,
    }
