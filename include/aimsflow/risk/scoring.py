"""Re-scoring a risk from its signals, by the methodology's rules.

1. Start from the likelihood and impact the risk owner assessed in the register (never from the
   previous snapshot: a reassessment is reproducible from the register and the records alone).
2. Each signal's state gives a change in steps (methodology ``signals.changes``); on each dimension
   the signal with the largest change sets it (``combination: worst``), clamped to the scale.
3. Score = likelihood x impact; the level is the highest whose ``min_score`` the score reaches.
4. Above the appetite, a risk is *accepted* only while a formal acceptance dated by the period's end
   covers its score; otherwise it is *unaccepted* and the reassessment record is ``failed``.
5. A risk whose review date (last review + interval) has passed is flagged ``review_overdue``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aimsflow.periods import Period
from aimsflow.results import Status
from aimsflow.risk.config import Dimension, Methodology, Risk, SignalState
from aimsflow.risk.signals import SignalResult


@dataclass(frozen=True)
class RiskAssessment:
    risk: Risk
    likelihood: int
    impact: int
    score: int
    level: str
    assessed_score: int
    assessed_level: str
    signals: tuple[SignalResult, ...]
    reasons: tuple[str, ...]
    above_appetite: bool
    accepted: bool
    review_overdue: bool

    @property
    def unaccepted(self) -> bool:
        return self.above_appetite and not self.accepted

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.unaccepted:
            flags.append("above_appetite_unaccepted")
        elif self.above_appetite:
            flags.append("above_appetite_accepted")
        if self.review_overdue:
            flags.append("review_overdue")
        flags += [f"no_data:{s.id}" for s in self.signals if s.state == SignalState.no_data]
        return flags

    @property
    def records(self) -> list[str]:
        """Keys of the records that drove a non-ok signal."""
        return sorted({k for s in self.signals if s.state != SignalState.ok for k in s.records})

    def as_dict(self) -> dict[str, Any]:
        r = self.risk
        return {
            "id": r.id,
            "ai_system": r.ai_system,
            "category": str(r.category),
            "title": r.title,
            "description": r.description,
            "owner": r.owner,
            "treatment": str(r.treatment),
            "controls": list(r.controls),
            "assessed": {
                "likelihood": r.likelihood,
                "impact": r.impact,
                "score": self.assessed_score,
                "level": self.assessed_level,
            },
            "current": {
                "likelihood": self.likelihood,
                "impact": self.impact,
                "score": self.score,
                "level": self.level,
            },
            "above_appetite": self.above_appetite,
            "accepted": self.accepted,
            "acceptance": r.acceptance.model_dump(mode="json") if r.acceptance else None,
            "review": {
                "last_reviewed": r.last_reviewed.isoformat(),
                "interval_days": r.review_interval_days,
                "due": r.review_due.isoformat(),
                "overdue": self.review_overdue,
            },
            "flags": self.flags,
            "reasons": list(self.reasons),
            "signals": [s.as_dict() for s in self.signals],
            "records": self.records,
        }


def combined_change(signals: Sequence[SignalResult], dimension: Dimension) -> tuple[int, list[SignalResult]]:
    """The change on ``dimension`` (worst signal wins) and the signals that set it."""
    moving = [s for s in signals if s.moves == dimension]
    if not moving:
        return 0, []
    change = max(s.change for s in moving)
    return change, [s for s in moving if s.change == change and change != 0]


def score_risk(
    risk: Risk,
    signals: Sequence[SignalResult],
    methodology: Methodology,
    period: Period,
    as_of: dt.datetime | None = None,
) -> RiskAssessment:
    as_of = as_of or period.end
    values: dict[Dimension, int] = {}
    reasons = []
    for dim in (Dimension.likelihood, Dimension.impact):
        base = getattr(risk, dim.value)
        change, setters = combined_change(signals, dim)
        value = min(max(base + change, 1), methodology.scale_max(dim))
        values[dim] = value
        if value != base:
            why = "; ".join(f"signal {s.id} {s.state}: {s.detail}" for s in setters)
            reasons.append(
                f"{dim} {base} -> {value} ({methodology.scale_name(dim, value)}), {change:+d} step(s): {why}"
            )
    likelihood, impact = values[Dimension.likelihood], values[Dimension.impact]
    score = methodology.score_of(likelihood, impact)
    assessed = methodology.score_of(risk.likelihood, risk.impact)
    appetite = methodology.acceptance.appetite
    above = score > appetite
    acc = risk.acceptance
    accepted = above and acc is not None and acc.accepted_on < period.end.date() and score <= acc.max_score
    if above and acc is not None and not accepted:
        reasons.append(
            f"score {score} exceeds the acceptance by {acc.accepted_by} on {acc.accepted_on} (up to {acc.max_score})"
            if score > acc.max_score
            else f"acceptance by {acc.accepted_by} dated {acc.accepted_on}, after the period"
        )
    overdue = risk.review_due < as_of.date()
    return RiskAssessment(
        risk=risk,
        likelihood=likelihood,
        impact=impact,
        score=score,
        level=methodology.level_of(score).name,
        assessed_score=assessed,
        assessed_level=methodology.level_of(assessed).name,
        signals=tuple(signals),
        reasons=tuple(reasons),
        above_appetite=above,
        accepted=accepted,
        review_overdue=overdue,
    )


def register_status(assessments: Sequence[RiskAssessment]) -> Status:
    """``failed`` while any unaccepted risk is above appetite; ``warning`` for other flags (accepted
    risks above appetite, overdue reviews); else ``passed``."""
    if any(a.unaccepted for a in assessments):
        return Status.failed
    if any(a.above_appetite or a.review_overdue for a in assessments):
        return Status.warning
    return Status.passed
