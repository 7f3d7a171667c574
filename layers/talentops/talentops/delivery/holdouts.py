"""Holdouts and experiments as data (issue 13): who is held out of a message, and which arm
of an experiment a candidate is in.

Assignment is a stable hash of the candidate id and the holdout's or experiment's name, so
it does not change when anything else changes (the share aside: a candidate held out at
10 % stays held out at 20 %, the bucket only grows). Pure: no clock, no randomness, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

BUCKETS = 10_000  # the resolution of a share: 0.01 %
MIN_SHARE, MAX_SHARE = 0.0, 0.5  # a holdout holds out more than nothing and at most half


def bucket(candidate_id: str, name: str) -> int:
    """The candidate's bucket in [0, BUCKETS) for the holdout or experiment `name`."""
    digest = hashlib.sha256(f"{name}\x1f{candidate_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def check_share(share: float) -> float:
    """A holdout share: 0 < share <= 0.5 (ValueError otherwise)."""
    if not (MIN_SHARE < share <= MAX_SHARE):
        raise ValueError("a holdout share must be more than 0 and at most 0.5")
    return share


def held_out(candidate_id: str, name: str, share: float) -> bool:
    """Whether the candidate is in the holdout `name` of `share`."""
    return bucket(candidate_id, name) < round(check_share(share) * BUCKETS)


@dataclass(frozen=True)
class HoldoutRef:
    """A holdout to apply to a decision: its name (what the assignment hashes) and share."""

    name: str
    share: float


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float


def arm_of(candidate_id: str, experiment: str, arms: Sequence[Arm]) -> str:
    """The arm of `experiment` the candidate is in, split by the arms' weights (positive)."""
    if not arms or any(a.weight <= 0 for a in arms):
        raise ValueError("an experiment needs arms with positive weights")
    total = sum(a.weight for a in arms)
    point = bucket(candidate_id, experiment) / BUCKETS * total
    edge = 0.0
    for arm in arms:
        edge += arm.weight
        if point < edge:
            return arm.name
    return arms[-1].name
