"""What staff see of manual evidence in `aimsflow evidence list` and `aimsflow demo generate`."""

from __future__ import annotations

from aimsflow.cli import main
from tests.manual.conftest import GOOD, drop, run_drops


def test_the_listing_names_each_document(inbox, capsys):
    """Regression: a run's document records differed only by their record ids (document.0.try1-...),
    so nobody could tell the AI policy from the roles document in the listing."""
    run_drops(
        [
            drop(inbox, "ai-policy.md", b"p", GOOD),
            drop(
                inbox, "impact.md", b"i", GOOD.replace("AI policy", "Impact") + "ai_system: loan_approval\n"
            ),
        ]
    )
    assert main(["evidence", "list", "--check", "manual_evidence/document"]) == 0
    out = capsys.readouterr().out
    assert " ai-policy.md " in out and " loan_approval/impact.md " in out


def test_demo_generate_drops_the_documents_once(aims_env, capsys):
    argv = ["demo", "generate", "--days", "1", "--end", "2026-11-28"]
    assert main(argv) == 0
    assert "manual evidence inbox: 4 demo document(s) dropped, 0 dropped before" in capsys.readouterr().out
    assert len(list((aims_env / "inbox").glob("*.evidence.yaml"))) == 4
    assert main(argv) == 0
    assert "0 demo document(s) dropped, 4 dropped before" in capsys.readouterr().out
