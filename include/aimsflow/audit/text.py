"""The record and nonconformity views (:mod:`aimsflow.audit.show`) as a few lines of text.

Lines are laid out for ``width`` columns (the terminal's; 100 when the output goes to a pipe or a
file): a label column, then values; long free text wraps, a record key that does not fit beside its
status goes on a line of its own. Hashes are shortened to 12 hex digits and an ellipsis (the full ones
are in ``--json`` and on the HTML page). Long URIs are cut in the middle only on a terminal
(``cut=True``): a pipe or a file gets them whole.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import urllib.parse

from aimsflow.audit.show import NC_RELATIONS, ControlRef, NcView, RecordView, RelatedRecord, RunView

SHORT_HASH = 12
ELLIPSIS = "…"
DEFAULT_WIDTH = 100
LABEL = 11  # the label column: two spaces of indent, then this many characters


def short(digest: str | None) -> str:
    """A hash as text shows it: its first 12 hex digits and an ellipsis (the full one in --json)."""
    if not digest:
        return "-"
    return digest if len(digest) <= SHORT_HASH else digest[:SHORT_HASH] + ELLIPSIS


def when(t: dt.datetime | None) -> str:
    """A moment in UTC, to the second: ``2026-11-29 11:58:43 UTC``."""
    if t is None:
        return "-"
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def size_text(n: int | None) -> str:
    return "-" if n is None else f"{n:,} B"


def readable_uri(uri: str) -> str:
    """A URI as people read it: percent-escapes undone (``date%3D2026-11-27`` is ``date=2026-11-27``)."""
    return urllib.parse.unquote(uri)


def cut_middle(text: str, width: int) -> str:
    """``text`` cut in the middle to ``width`` characters: the start names the place, the end the file."""
    if len(text) <= width or width < 20:
        return text
    head = (width - 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head) :]


class Lines:
    """Labelled lines: ``add(label, *rows)`` writes the label on the first row only."""

    def __init__(self, width: int | None, cut: bool):
        self.width = width or DEFAULT_WIDTH
        self.cut = cut
        self.out: list[str] = []

    @property
    def room(self) -> int:
        """Characters left after the label column."""
        return max(self.width - LABEL - 2, 20)

    def add(self, label: str, *rows: str) -> None:
        for i, row in enumerate(rows):
            self.out.append(f"  {(label if i == 0 else ''):<{LABEL}}{row}".rstrip())

    def wrap(self, text: str, indent: int = 0) -> list[str]:
        """Free text wrapped to the room left (continuation lines indented by ``indent``)."""
        return textwrap.wrap(
            text, self.room, subsequent_indent=" " * indent, break_on_hyphens=False, break_long_words=False
        ) or [""]

    def uri(self, uri: str, indent: int) -> str:
        text = readable_uri(uri)
        return cut_middle(text, self.room - indent) if self.cut else text

    def beside(self, key: str, detail: str, indent: int = 0) -> list[str]:
        """A record key and a short detail on one line when it fits, else the key on a line of its own."""
        pad = " " * indent
        one = f"{pad}{key} ({detail})"
        return [one] if len(one) <= self.room else [f"{pad}{key}", f"{pad}  {detail}"]


def framework_label(title: str) -> str:
    """A framework's title without its parenthesis: ``EU AI Act (Regulation (EU) 2024/1689)`` -> ``EU AI Act``."""
    return title.split(" (")[0]


def control_rows(controls: list[ControlRef], lines: Lines) -> list[str]:
    """Each control with its title, then its counterparts in other frameworks (crosswalk), grouped."""
    rows = []
    for c in controls:
        rows.append(f"{c.id}  {c.title}")
        grouped: dict[str, list[str]] = {}
        for cp in c.counterparts:
            grouped.setdefault(framework_label(cp.framework_title), []).append(cp.item)
        if grouped:
            text = "; ".join(f"{name} {', '.join(items)}" for name, items in grouped.items())
            rows.extend(lines.wrap(f"  = {text}", 4))
    return rows


def related_detail(r: RelatedRecord) -> str:
    if r.state == "untrusted":
        return f"{r.status + ', ' if r.status else ''}DOES NOT VERIFY: not read"
    if r.state == "absent":
        return f"{r.status + ', ' if r.status else ''}no longer in the store"
    return f"{r.status}, run {when(r.ran_at)}"


def run_rows(run: RunView, lines: Lines) -> list[str]:
    if run.kind == "task":
        task = f"task {run.task_id}" + (f"[{run.map_index}]" if run.map_index is not None else "")
        tries = f"try {run.try_number}" + (f" of {run.max_tries + 1}" if run.max_tries is not None else "")
        rows = [f"DAG {run.dag_id}, {task}, {tries}", f"run id {run.run_id}"]
    else:
        rows = [f"command {run.command}", f"invocation {run.invocation}"]
    kind = f"{run.run_type} run" if run.run_type else "run"
    who = f"{kind} triggered by {run.user}" if run.user else f"{kind}, no triggering user"
    if run.run_after is not None:
        who += f" (run_after {when(run.run_after)})"
    rows.extend(lines.wrap(who, 2))
    if run.params:
        params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
        rows.extend(lines.wrap(f"params {params}", 2))
    return rows


def record_lines(view: RecordView, width: int | None = None, *, cut: bool = False) -> list[str]:
    """The record in a few lines, laid out for ``width`` columns (default 100); ``cut`` shortens long
    URIs in the middle (for a terminal; the full ones are in --json)."""
    out = Lines(width, cut)
    out.out.append(view.key)
    out.add("status", *out.wrap(f"{view.status.upper()}  {view.message}".rstrip(), 2))
    out.add("check", view.check, *(out.wrap(view.check_title) if view.check_title else []))
    subject = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in view.subject.items() if v)
    if subject:
        out.add("subject", *out.wrap(subject, 2))
    out.add("period", f"{view.period.label}  [{when(view.period.start)} .. {when(view.period.end)})")
    out.add("controls", *control_rows(view.controls, out))
    if view.document:
        d = view.document
        out.add(
            "document",
            *out.wrap(f"{d.get('title')} ({d.get('document')}, sha256 {short(d.get('document_sha256'))})", 2),
            f"owner {d.get('owner')}, review by {d.get('review_date')}",
        )
    out.add("run", *run_rows(view.run, out))
    took = (view.ended_at - view.started_at).total_seconds()
    out.add("ran", f"{when(view.started_at)}, for {duration(took)}")
    for label, refs in (("inputs", view.inputs), ("outputs", view.outputs)):
        rows = []
        for ref in refs:
            facts = [f"sha256 {short(ref.sha256)}", size_text(ref.size)]
            if ref.rows is not None:
                facts.append(f"{ref.rows:,} rows")
            rows.append((f"{ref.dataset}: " if ref.dataset else "") + ", ".join(facts))
            rows.append("  " + out.uri(ref.uri, 2))
        out.add(label, *(rows or ["none"]))
    specs = [
        f"sha256 {short(s.sha256)}  {s.path}" + ("" if s.stored else "  (content NOT in the store)")
        for s in view.specs
    ]
    out.add("specs", *(specs or ["none"]))
    c = view.code
    dirty = {True: "with uncommitted changes", False: "clean", None: "state unknown"}[c.git_dirty]
    commit = f"git commit {c.git_commit[:SHORT_HASH]} ({dirty})" if c.git_commit else "git commit unknown"
    out.add("code", f"{commit}, aimsflow {c.aimsflow or '?'}")
    if view.lineage is None:
        out.add("lineage", "none (OpenLineage off)")
    else:
        ol = view.lineage
        sent = "event sent" if ol.sent else f"event NOT sent: {ol.error or 'no reason given'}"
        out.add(
            "lineage", *out.wrap(f"OpenLineage run {ol.run_id or '-'} ({ol.event_type or '?'}, {sent})", 2)
        )
    if view.error:
        e = view.error
        final = {True: "final try", False: "a retry follows", None: ""}[e.final_try]
        out.add("error", *out.wrap(f"{e.type}: {e.message}" + (f" ({final})" if final else ""), 2))
    if view.current:
        head = "current verdict" + (f"; supersedes {len(view.supersedes)}:" if view.supersedes else "")
        rows = [head]
        for r in view.supersedes:
            rows.extend(out.beside(r.key, related_detail(r), 2))
    else:
        rows = ["superseded by:"]
        if view.superseded_by:
            rows.extend(out.beside(view.superseded_by.key, related_detail(view.superseded_by), 2))
    out.add("verdict", *rows)
    ncs = [
        row
        for n in view.nonconformities
        for row in out.wrap(f"{NC_RELATIONS[n.relation]} {n.id} ({n.status}): {n.cause}", 2)
    ]
    out.add("nc", *(ncs or ["none"]))
    s = view.seal
    if s.state == "sealed":
        rows = [
            f"sealed in seal {s.sequence} at {when(s.sealed_at)}",
            f"leaf {s.leaf_index} of the tree of {s.tree_size} that seal's checkpoint signs",
            "inclusion proof: aimsflow evidence prove RECORD",
        ]
    else:
        rows = ["PENDING: not sealed yet (the next seal takes it in)"]
    if s.log_problems:
        rows.append(f"the log has {s.log_problems} problem(s): run aimsflow evidence verify")
    out.add("seal", *rows)
    sig = view.signature
    out.add(
        "signed",
        f"by key {', '.join(sig.key_ids) or '?'}, judged at {when(sig.judged_at)}",
        f"manifest sha256 {short(sig.manifest_sha256)}",
    )
    size_w = max((len(f"{f.size:,}") for f in view.files), default=0)
    path_w = max((len(f.path) for f in view.files), default=0)
    files = [
        f"{f.path:<{path_w}}  {f.size:>{size_w},} B  sha256 {short(f.sha256)}"
        + ("" if f.state == "ok" else f"  {f.state.upper()}")
        for f in view.files
    ]
    out.add("files", *(files or ["none"]))
    for problem in view.problems:
        out.out.append(f"PROBLEM {problem}")
    if view.untrusted_elsewhere:
        out.out.append(
            f"note: {view.untrusted_elsewhere} other object(s) of the store (records, seals) do not verify and were "
            "left out (aimsflow evidence verify)"
        )
    return out.out


def nc_lines(view: NcView, width: int | None = None) -> list[str]:
    """The nonconformity in a few lines, laid out for ``width`` columns (default 100)."""
    out = Lines(width, cut=False)
    out.out.append(f"{view.id}  {view.status.upper()}")
    out.add("cause", view.cause_label, *(out.wrap(view.check_title) if view.check_title else []))
    if view.cause.get("ai_system"):
        out.add("AI system", str(view.cause["ai_system"]))
    out.add("controls", *(control_rows(view.controls, out) or ["-"]))
    out.add(
        "opened",
        f"{when(view.opened_at)}, {len(view.occurrences)} occurrence(s)",
        f"last occurrence {when(view.last_occurrence_at)}",
    )
    rows = []
    for o in view.occurrences:
        rows.append(f"{o.period}: {o.status}, run {when(o.at)}")
        rows.append(f"  {o.record.key}")
        if o.record.state != "verified":
            rows.append(f"  {related_detail(o.record)}")
        for r in o.reruns:
            rows.append(f"  re-run: {related_detail(r)}")
            rows.append(f"    {r.key}")
    out.add("occurred", *rows)
    if view.closure:
        c = view.closure
        rows = [f"{when(c.closed_at)} by {c.closed_by or '?'}"]
        if c.run and c.run.run_id:
            rows.append(f"run {c.run.run_id} of {c.run.dag_id}")
        rows.append(c.record.key + ("" if c.record.state == "verified" else f" ({related_detail(c.record)})"))
        rows.extend(out.wrap(f"root cause: {c.root_cause}", 2))
        rows.extend(out.wrap(f"corrective action: {c.corrective_action}", 2))
        out.add("closed", *rows)
    if view.passing_record:
        p = view.passing_record
        rows = [related_detail(p), p.key]
        if view.closable:
            rows.append("open: it can be closed on this run (aimsflow nc close ID ...)")
        out.add("passed", *rows)
    elif view.closure is None:
        out.add("passed", "no later passing run yet")
    if view.in_reassessment and view.ledger_record:
        out.add("ledger", "in the ledger of the reassessment", view.ledger_record)
    else:
        out.add("ledger", "derived from records since the last reassessment (in no ledger yet)")
    if view.untrusted_folders:
        out.out.append(
            f"note: {view.untrusted_folders} object(s) of the store (records, seals) do not verify and were not read "
            "(aimsflow evidence verify)"
        )
    return out.out
