"""The lineage graph of a period as JSON, and as an SVG a person can read (no external tools)."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

from aimsflow.provenance.custody import Transformation


def build_graph(chains: list[Transformation]) -> dict[str, Any]:
    """Nodes: sources and dataset versions; edges: acquisitions and transformations."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    for t in chains:
        partition = t.subject.get("partition")
        if t.is_acquisition:
            for ref in t.inputs:
                source = f"source:{ref.get('dataset')}"
                nodes.setdefault(source, {"id": source, "kind": "source", "label": ref.get("dataset")})
                nodes.setdefault(ref["sha256"], _version_node(ref, partition))
                edges.append({"from": source, "to": ref["sha256"], "record": t.record, "check": t.check})
            continue
        for out in t.outputs:
            nodes.setdefault(out["sha256"], _version_node(out, partition))
            for ref in t.inputs:
                nodes.setdefault(ref["sha256"], _version_node(ref, None))
                edges.append(
                    {"from": ref["sha256"], "to": out["sha256"], "record": t.record, "check": t.check}
                )
    unique = {(e["from"], e["to"], e["check"]): e for e in edges}
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]), "edges": list(unique.values())}


def _version_node(ref: dict[str, Any], partition: str | None) -> dict[str, Any]:
    return {
        "id": ref["sha256"],
        "kind": "version",
        "dataset": ref.get("dataset"),
        "uri": ref.get("uri"),
        "rows": ref.get("rows"),
        "partition": partition,
        "label": f"{ref.get('dataset')}\n{partition or ''} {ref['sha256'][:10]}",
    }


def _depths(graph: dict[str, Any]) -> dict[str, int]:
    parents = defaultdict(set)
    for e in graph["edges"]:
        parents[e["to"]].add(e["from"])
    depth: dict[str, int] = {}

    def of(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in depth:
            ups = [p for p in parents[node] if p not in seen]
            depth[node] = 1 + max((of(p, seen | {node}) for p in ups), default=-1)
        return depth[node]

    for n in graph["nodes"]:
        of(n["id"])
    return depth


def render_svg(graph: dict[str, Any], title: str) -> bytes:
    """Columns by depth (source -> raw -> clean -> training), one box per node, arrows for edges."""
    depth = _depths(graph)
    columns: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for node in graph["nodes"]:
        columns[depth[node["id"]]].append(node)
    box_w, box_h, gap_x, gap_y, top = 230, 40, 90, 14, 50
    pos: dict[str, tuple[int, int]] = {}
    for col, nodes in sorted(columns.items()):
        for row, node in enumerate(sorted(nodes, key=lambda n: (n.get("partition") or "", n["id"]))):
            pos[node["id"]] = (20 + col * (box_w + gap_x), top + row * (box_h + gap_y))
    width = 40 + (max(columns, default=0) + 1) * (box_w + gap_x)
    height = top + 20 + max((len(v) for v in columns.values()), default=1) * (box_h + gap_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#57606a"/></marker></defs>',
        f'<rect width="100%" height="100%" fill="white"/><text x="20" y="28" font-size="15" '
        f'font-weight="bold">{html.escape(title)}</text>',
    ]
    for e in graph["edges"]:
        (x1, y1), (x2, y2) = pos[e["from"]], pos[e["to"]]
        parts.append(
            f'<line x1="{x1 + box_w}" y1="{y1 + box_h // 2}" x2="{x2}" y2="{y2 + box_h // 2}" '
            f'stroke="#8c959f" marker-end="url(#a)"><title>{html.escape(e["check"])}</title></line>'
        )
    colours = {"source": "#ddf4ff", "version": "#f6f8fa"}
    for node in graph["nodes"]:
        x, y = pos[node["id"]]
        lines = str(node["label"]).split("\n")
        parts.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="5" fill="{colours[node["kind"]]}" '
            f'stroke="#57606a"><title>{html.escape(str(node.get("uri") or node["id"]))}</title></rect>'
        )
        for i, line in enumerate(lines[:2]):
            weight = ' font-weight="bold"' if i == 0 else ""
            parts.append(f'<text x="{x + 8}" y="{y + 16 + 14 * i}"{weight}>{html.escape(line)}</text>')
    parts.append("</svg>\n")
    return "\n".join(parts).encode()
