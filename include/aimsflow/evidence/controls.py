"""ISO/IEC 42001:2023 control vocabulary: the 38 Annex A controls and the management-system clauses.

Copied from the project's reference list so that a clone has it. Every record names its controls
from here; an unknown id is an error, so a typo never produces evidence for a control that does
not exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

ANNEX_A: dict[str, str] = {
    "A.2.2": "AI policy",
    "A.2.3": "Alignment with other organizational policies",
    "A.2.4": "Review of the AI policy",
    "A.3.2": "AI roles and responsibilities",
    "A.3.3": "Reporting of concerns",
    "A.4.2": "Resource documentation",
    "A.4.3": "Data resources",
    "A.4.4": "Tooling resources",
    "A.4.5": "System and computing resources",
    "A.4.6": "Human resources",
    "A.5.2": "AI system impact assessment process",
    "A.5.3": "Documentation of AI system impact assessments",
    "A.5.4": "Assessing AI system impact on individuals or groups of individuals",
    "A.5.5": "Assessing societal impacts of AI systems",
    "A.6.1.2": "Objectives for responsible development of AI system",
    "A.6.1.3": "Processes for responsible AI system design and development",
    "A.6.2.2": "AI system requirements and specification",
    "A.6.2.3": "Documentation of AI system design and development",
    "A.6.2.4": "AI system verification and validation",
    "A.6.2.5": "AI system deployment",
    "A.6.2.6": "AI system operation and monitoring",
    "A.6.2.7": "AI system technical documentation",
    "A.6.2.8": "AI system recording of event logs",
    "A.7.2": "Data for development and enhancement of AI system",
    "A.7.3": "Acquisition of data",
    "A.7.4": "Quality of data for AI systems",
    "A.7.5": "Data provenance",
    "A.7.6": "Data preparation",
    "A.8.2": "System documentation and information for users",
    "A.8.3": "External reporting",
    "A.8.4": "Communication of incidents",
    "A.8.5": "Information for interested parties",
    "A.9.2": "Processes for responsible use of AI systems",
    "A.9.3": "Objectives for responsible use of AI system",
    "A.9.4": "Intended use of the AI system",
    "A.10.2": "Allocating responsibilities",
    "A.10.3": "Suppliers",
    "A.10.4": "Customers",
}

CLAUSES: dict[str, str] = {
    "6.1.2": "AI risk assessment",
    "6.1.3": "AI risk treatment",
    "6.1.4": "AI system impact assessment",
    "7.5.3": "Control of documented information",
    "8.2": "AI risk assessment (operation)",
    "8.3": "AI risk treatment (operation)",
    "8.4": "AI system impact assessment (operation)",
    "9.1": "Monitoring, measurement, analysis and evaluation",
    "9.2": "Internal audit",
    "9.3": "Management review",
    "10.2": "Nonconformity and corrective action",
}

CONTROLS: dict[str, str] = {**ANNEX_A, **CLAUSES}


class UnknownControlError(ValueError):
    pass


def validate_controls(ids: Iterable[str]) -> tuple[str, ...]:
    """Return ``ids`` sorted and de-duplicated, or raise naming every unknown id."""
    ids = tuple(ids)
    unknown = sorted(set(ids) - CONTROLS.keys())
    if unknown:
        raise UnknownControlError(
            f"unknown control id(s) {unknown}; expected Annex A ids (A.x.y) or clauses {sorted(CLAUSES)}"
        )
    if not ids:
        raise UnknownControlError("a record must name at least one control")
    return tuple(sorted(set(ids), key=_sort_key))


def _sort_key(control_id: str) -> tuple[int, ...]:
    """Clauses before Annex A controls, each in numeric order (A.7.4 before A.10.2)."""
    numbers = tuple(int(p) for p in control_id.removeprefix("A.").split("."))
    return (int(control_id.startswith("A.")), *numbers)


def title(control_id: str) -> str:
    return CONTROLS[control_id]


def canonical_control(text: str) -> str:
    """The vocabulary's id for ``text`` given by a person (``a.7.6`` -> ``A.7.6``), or
    :class:`UnknownControlError` with the nearest ids.

    Letter case is ignored: the vocabulary holds no two ids that differ only in case, so ignoring it
    cannot select a wrong control, and records always carry the canonical spelling. Anything else
    (``A.99``, ``A7.6``) is refused rather than guessed: a filter that silently matched nothing
    reads as "no evidence for this control".
    """
    key = text.strip().upper()
    if key in CONTROLS:
        return key
    near = difflib.get_close_matches(key, list(CONTROLS), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise UnknownControlError(f"unknown control id {text!r}{hint}")


def ordered_controls() -> list[str]:
    """Every id, clauses first, each in numeric order."""
    return sorted(CONTROLS, key=_sort_key)
