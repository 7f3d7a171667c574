"""The population "why not": a pool of explanations of one subject (a message, a campaign, a
journey, a job), broken down by the first reason each candidate would not be reached.

Each candidate's explanation comes from the same functions as a single explanation (the
outcome is the one decision's, which stops at the first check that fails), so the reason
counted is the first thing that stands between the candidate and the message; its example
carries that candidate's first failing step, in words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .message import Explanation


@dataclass
class Reason:
    count: int = 0
    example: str | None = None  # a candidate id
    why: str | None = None  # that candidate's first failing step

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "example": self.example, "why": self.why}


@dataclass
class WhyNot:
    scanned: int = 0
    reached: int = 0  # would send now (deferred ones are counted under ``deferred``)
    by_variant: Counter[str] = field(default_factory=Counter)
    deferred: dict[str, Reason] = field(default_factory=dict)  # reached later, by reason
    not_reached: dict[str, Reason] = field(default_factory=dict)  # by first reason

    def add(self, found: Explanation) -> None:
        self.scanned += 1
        if found.outcome == "send":
            self.reached += 1
            self.by_variant[found.variant or "?"] += 1
            return
        into = self.deferred if found.outcome == "defer" else self.not_reached
        reason = into.setdefault(found.reason or found.outcome, Reason())
        reason.count += 1
        if reason.example is None:
            reason.example = found.candidate_id
            failing = next((s for s in found.steps if not s.passed), None)
            reason.why = f"{failing.check}: {failing.why}" if failing else None
        if found.outcome == "defer":
            self.by_variant[found.variant or "?"] += 1

    def as_dict(self) -> dict[str, Any]:
        def ordered(reasons: dict[str, Reason]) -> dict[str, Any]:
            ranked = sorted(reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
            return {name: reason.as_dict() for name, reason in ranked}

        return {
            "scanned": self.scanned,
            "reached": self.reached,
            "deferred_total": sum(r.count for r in self.deferred.values()),
            "not_reached_total": sum(r.count for r in self.not_reached.values()),
            "by_variant": dict(sorted(self.by_variant.items())),
            "deferred": ordered(self.deferred),
            "not_reached": ordered(self.not_reached),
        }


def why_not(explanations: Iterable[Explanation]) -> WhyNot:
    """Fold explanations (one per candidate) into counts by outcome and first reason."""
    tally = WhyNot()
    for found in explanations:
        tally.add(found)
    return tally
