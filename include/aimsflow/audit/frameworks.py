"""Other frameworks, seen from the ISO/IEC 42001 controls records carry: the crosswalk of issue 13.

Until ``aimsflow.compliance.crosswalk`` is installed, only ISO/IEC 42001 itself is known: sampling
with ``--framework iso42001`` works, any other framework is refused with a message saying why, and a
record's controls have no counterparts. Everything the audit tools need from the crosswalk goes
through :func:`counterparts`; its one call into the crosswalk (:func:`_crosswalk_items`) is the only
line to adapt to the crosswalk's final interface.
"""

from __future__ import annotations

import functools
from typing import Any

ISO_42001 = "iso42001"
_ISO_42001_NAMES = {"iso42001", "iso_42001", "iso-42001", "iso/iec42001", "iso/iec_42001"}


class UnknownFramework(ValueError):
    """A framework the installed crosswalk does not know (or no crosswalk is installed)."""


@functools.cache
def _crosswalk() -> Any | None:
    """The crosswalk of issue 13, or None while it is not installed."""
    try:
        from aimsflow.compliance.crosswalk import load_crosswalk  # type: ignore[import-not-found]
    except ImportError:
        return None
    return load_crosswalk()


def _crosswalk_items(crosswalk: Any, control: str) -> dict[str, list[str]]:
    """Framework name -> the items mapped to ISO/IEC 42001 ``control``, from the crosswalk (the only
    call into it), every framework it declares present (an empty list when nothing is mapped)."""
    out: dict[str, list[str]] = {name: [] for name in crosswalk.frameworks}
    for link in crosswalk.of_control(control):
        out[link.framework].append(link.item)
    return out


def counterparts(control: str) -> dict[str, list[str]]:
    """The EU AI Act, NIST AI RMF, ISO/IEC 27001 ... items mapped to ISO/IEC 42001 ``control``
    (framework name -> item ids); empty while no crosswalk is installed."""
    crosswalk = _crosswalk()
    return {} if crosswalk is None else _crosswalk_items(crosswalk, control)


def crosswalk_available() -> bool:
    return _crosswalk() is not None


def framework_controls(name: str) -> frozenset[str] | None:
    """The ISO/IEC 42001 controls that evidence framework ``name`` through the crosswalk; None for
    ISO/IEC 42001 itself (every control). Raises :class:`UnknownFramework`."""
    from aimsflow.evidence.controls import CONTROLS

    if name.strip().lower().replace(" ", "") in _ISO_42001_NAMES:
        return None
    if _crosswalk() is None:
        raise UnknownFramework(
            f"--framework {name!r}: only {ISO_42001!r} is available; other frameworks need the "
            "crosswalk (include/config/crosswalk.yaml), which this installation does not have yet"
        )
    known: set[str] = set()
    mapped: set[str] = set()
    for control in CONTROLS:
        items = counterparts(control)
        known |= set(items)
        if items.get(name):
            mapped.add(control)
    if name not in known:
        raise UnknownFramework(
            f"--framework {name!r}: unknown; the crosswalk knows {', '.join(sorted([ISO_42001, *known]))}"
        )
    return frozenset(mapped)
