"""docs/mutation.md keeps the promise of issue 12: every mutant the committed mutation reports
(``bench/results/mutation/TARGET.json``) leave undetected has a written reason in its Dispositions
table, and the table gives no reason for a mutant the reports count as killed (a stale row)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.conftest import PROJECT

RESULTS = PROJECT / "bench" / "results" / "mutation"
DOC = PROJECT / "docs" / "mutation.md"
TARGETS = ("evidence", "retention", "suppression")

_NAME = re.compile(
    r"^aimsflow\.(?P<module>[\w.]+?)\.x(?:_(?P<func>\w+?)|ǁ(?P<cls>\w+)ǁ(?P<meth>\w+?))__mutmut_(?P<n>\d+)$"
)
_NUMBERS = re.compile(r"`_(\d+)`(?:\s*[-–]\s*`_(\d+)`)?")


@dataclass(frozen=True)
class Mutant:
    module: str  # "evidence/tlog.py"
    cls: str | None
    function: str
    number: int


def parse_mutant(name: str) -> Mutant:
    m = _NAME.match(name)
    assert m, f"not a mutmut mutant name: {name!r}"
    module = m["module"].replace(".", "/") + ".py"
    if m["func"] is not None:
        return Mutant(module, None, m["func"], int(m["n"]))
    return Mutant(module, m["cls"], m["meth"], int(m["n"]))


@dataclass(frozen=True)
class Row:
    line: int
    module: str
    cls: str | None
    function: str
    numbers: frozenset[int]

    def covers(self, mutant: Mutant) -> bool:
        return (
            mutant.module == self.module
            and mutant.function == self.function
            and mutant.cls == self.cls  # a method's row names its class: `LocalStorage.put_once`
            and mutant.number in self.numbers
        )


def parse_rows(text: str) -> list[Row]:
    """The rows of the table under ``## Dispositions``: module, the function (the first code span of
    the mutant cell, ``Class.method`` or ``function``) and the mutant numbers (`` `_7` ``, ranges
    `` `_3`-`_6` ``)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "## Dispositions")
    rows = []
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or not cells[0].endswith(".py"):
            continue
        first = re.search(r"`([^`]+)`", cells[1])
        assert first, f"docs/mutation.md:{i + 1}: the mutant cell names no function: {cells[1]!r}"
        cls, _, function = first[1].rpartition(".")
        numbers: set[int] = set()
        for low, high in _NUMBERS.findall(cells[1]):
            numbers.update(range(int(low), int(high or low) + 1))
        assert numbers, f"docs/mutation.md:{i + 1}: the row names no mutant number: {cells[1]!r}"
        rows.append(Row(i + 1, cells[0], cls or None, function, frozenset(numbers)))
    return rows


def _undetected(target: str) -> list[Mutant]:
    report = json.loads((RESULTS / f"{target}.json").read_text())
    return [parse_mutant(n) for n, s in report["mutants"].items() if s in ("survived", "no tests")]


def _all(target: str) -> dict[Mutant, str]:
    report = json.loads((RESULTS / f"{target}.json").read_text())
    return {parse_mutant(n): s for n, s in report["mutants"].items()}


def test_mutant_names_and_rows_are_parsed():
    """The parser itself, on the shapes the reports and the table use (a test that reads nothing
    would let every survivor through)."""
    assert parse_mutant("aimsflow.evidence.tlog.x_scan_log__mutmut_155") == Mutant(
        "evidence/tlog.py", None, "scan_log", 155
    )
    assert parse_mutant("aimsflow.evidence.storage.xǁLocalStorageǁput_dir_once__mutmut_6") == Mutant(
        "evidence/storage.py", "LocalStorage", "put_dir_once", 6
    )
    assert parse_mutant("aimsflow.fairness.suppression.xǁ_Auditǁ__init____mutmut_3") == Mutant(
        "fairness/suppression.py", "_Audit", "__init__", 3
    )
    assert parse_mutant("aimsflow.evidence.tlog.x__read_entry__mutmut_78").function == "_read_entry"
    rows = parse_rows(
        "## Dispositions\n\n| module | mutant | disposition |\n|---|---|---|\n"
        "| evidence/verify.py | `verify_store`: progress (`_301`-`_303`, `_310`) | harmless |\n"
        "| evidence/witness.py | `Witness.write`: layout (`_12`) | harmless |\n"
        "## Next\n| evidence/x.py | `f`: (`_1`) | after the table |\n"
    )
    assert [(r.module, r.cls, r.function, sorted(r.numbers)) for r in rows] == [
        ("evidence/verify.py", None, "verify_store", [301, 302, 303, 310]),
        ("evidence/witness.py", "Witness", "write", [12]),
    ]
    assert rows[1].covers(Mutant("evidence/witness.py", "Witness", "write", 12))
    assert not rows[1].covers(Mutant("evidence/witness.py", "Other", "write", 12))
    assert not rows[0].covers(Mutant("evidence/verify.py", None, "verify_store", 304))
    assert not rows[0].covers(Mutant("evidence/verify.py", "Report", "verify_store", 301))


@pytest.mark.parametrize("target", TARGETS)
def test_the_committed_reports_checked_every_mutant(target):
    """A report of a run cut short ("not checked") would leave mutants out of both lists."""
    report = json.loads((RESULTS / f"{target}.json").read_text())
    assert set(report["mutants"].values()) <= {"killed", "timeout", "survived", "no tests"}


@pytest.mark.parametrize("target", TARGETS)
def test_every_undetected_mutant_has_a_written_reason(target):
    rows = parse_rows(DOC.read_text())
    missing = [m for m in _undetected(target) if not any(r.covers(m) for r in rows)]
    assert missing == [], f"{len(missing)} undetected {target} mutants without a row in docs/mutation.md"


def test_no_row_gives_a_reason_for_a_mutant_the_reports_count_as_detected():
    statuses: dict[Mutant, str] = {}
    for target in TARGETS:
        statuses |= _all(target)
    stale = []
    for row in parse_rows(DOC.read_text()):
        for number in sorted(row.numbers):
            hits = [s for m, s in statuses.items() if row.covers(m) and m.number == number]
            if not hits or any(s in ("killed", "timeout") for s in hits):
                stale.append((row.line, row.function, number, hits))
    assert stale == [], f"rows of docs/mutation.md for mutants that are detected or unknown: {stale}"
