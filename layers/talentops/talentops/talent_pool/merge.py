"""Field-level merge with provenance. Pure: no AWS, no clock.

Each field keeps the observation that ranks highest under a total order:
(authority of its source for that field, observed_at, source, canonical value). Because
the order is total, merging is commutative, associative and idempotent: any interleaving
of the same facts, duplicates included, gives the same profile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..models.state import ConsentState, FieldValue, Profile


@dataclass(frozen=True)
class MergePolicy:
    """Per-field source precedence. A field absent here: the newest observation wins.

    ``authority["seniority"] = ("ats",)`` means an ATS observation of seniority beats any
    other source's, however new; among equals, the newest wins.
    """

    authority: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def rank(self, name: str, source: str) -> int:
        order = self.authority.get(name, ())
        system = source.rsplit(".", maxsplit=1)[-1]
        if system in order:
            return len(order) - order.index(system)
        return 0


DEFAULT_MERGE_POLICY = MergePolicy(authority={"seniority": ("ats",), "role_family": ("ats",)})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _key(policy: MergePolicy, name: str, fv: FieldValue) -> tuple[int, datetime, str, str]:
    return (policy.rank(name, fv.source), fv.observed_at, fv.source, _canonical(fv.value))


def merge_observation(
    profile: Profile, name: str, candidate: FieldValue, policy: MergePolicy = DEFAULT_MERGE_POLICY
) -> bool:
    """Keep ``candidate`` for field ``name`` if it ranks above the current observation;
    True when the field's value changed."""
    current = profile.fields.get(name)
    if current is not None and _key(policy, name, candidate) <= _key(policy, name, current):
        return False
    profile.fields[name] = candidate
    return current is None or _canonical(current.value) != _canonical(candidate.value)


def merge_fields(
    profile: Profile,
    incoming: Mapping[str, Any],
    *,
    source: str,
    observed_at: datetime,
    policy: MergePolicy = DEFAULT_MERGE_POLICY,
) -> dict[str, FieldValue]:
    """Merge one fact into ``profile.fields`` in place; return the fields whose value changed."""
    changed: dict[str, FieldValue] = {}
    for name, value in incoming.items():
        candidate = FieldValue(value=value, source=source, observed_at=observed_at)
        if merge_observation(profile, name, candidate, policy):
            changed[name] = candidate
    return changed


_STATUS_RANK = {"granted": 0, "withdrawn": 1}
_JUST_BEFORE = timedelta(microseconds=1)


def consent_effective_at(state: ConsentState) -> datetime:
    """When a consent fact counts as having happened: its observed_at, but never later than
    when the system received it. A producer whose clock runs ahead (within the skew ingest
    allows) cannot place its fact after a choice the candidate made after it arrived."""
    if state.received_at is not None and state.received_at < state.observed_at:
        return state.received_at
    return state.observed_at


def _consent_key(
    c: ConsentState, at: datetime | None = None
) -> tuple[datetime, int, datetime, str, str]:
    # Same moment: a withdrawal holds over a grant.
    return (
        at or consent_effective_at(c),
        _STATUS_RANK[c.status],
        c.observed_at,
        c.source,
        c.evidence or "",
    )


def merge_consent(
    profile: Profile, purpose: str, incoming: ConsentState, now: datetime | None = None
) -> bool:
    """Apply one consent fact; True when the current state for the purpose changed.

    ``now`` is when ``incoming`` is received. What is stored was received before it, so a
    stored state dated after ``now`` (recorded before dates were bounded at ingest, without
    ``received_at``) counts as just before it: the fact being received now is the newer."""
    current = profile.consent.get(purpose)
    if current is not None:
        current_at = consent_effective_at(current)
        if now is not None and current_at > now:
            current_at = now - _JUST_BEFORE
        if _consent_key(incoming) <= _consent_key(current, current_at):
            return False
    profile.consent[purpose] = incoming
    return current is None or current.status != incoming.status or current != incoming


def _behaviour_key(value: Mapping[str, Any]) -> tuple[str, str]:
    return (str(value.get("at") or ""), _canonical(value))


def merge_profiles(
    survivor: Profile, loser: Profile, policy: MergePolicy = DEFAULT_MERGE_POLICY
) -> dict[str, FieldValue]:
    """Fold ``loser`` into ``survivor`` in place (identity merge): every field keeps its
    highest-ranking observation, consent its newest state, sends and behaviours their union.
    Returns the survivor's fields whose value changed. Commutative in the facts it keeps:
    the merged profile is the one that all facts of both would have built on one candidate.
    """
    changed: dict[str, FieldValue] = {}
    for name, fv in sorted(loser.fields.items()):
        if merge_observation(survivor, name, fv, policy):
            changed[name] = survivor.fields[name]
    for purpose, state in sorted(loser.consent.items()):
        merge_consent(survivor, purpose, state)
    for decision_id, sent in loser.recent.items():
        survivor.recent.setdefault(decision_id, sent)
    for kind, value in loser.behaviours.items():
        current = survivor.behaviours.get(kind)
        if current is None or _behaviour_key(value) > _behaviour_key(current):
            survivor.behaviours[kind] = value
    survivor.aliases = sorted({*survivor.aliases, *loser.aliases})
    survivor.suppressed = survivor.suppressed or loser.suppressed
    if loser.created_at is not None and (
        survivor.created_at is None or loser.created_at < survivor.created_at
    ):
        survivor.created_at = loser.created_at
    return changed


def survivor_of(a: Profile, b: Profile) -> tuple[Profile, Profile]:
    """(survivor, loser) of an identity merge: the candidate the system knew first survives;
    the newer-linked one is merged into it. Ties: the smaller id. Deterministic."""

    def age(p: Profile) -> tuple[bool, float, str]:
        created = p.created_at.timestamp() if p.created_at is not None else 0.0
        return (p.created_at is None, created, p.candidate_id)

    return (a, b) if age(a) <= age(b) else (b, a)
