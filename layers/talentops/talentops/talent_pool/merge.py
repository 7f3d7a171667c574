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
from datetime import datetime
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
        current = profile.fields.get(name)
        if current is not None and _key(policy, name, candidate) <= _key(policy, name, current):
            continue
        profile.fields[name] = candidate
        if current is None or _canonical(current.value) != _canonical(value):
            changed[name] = candidate
    return changed


_STATUS_RANK = {"granted": 0, "withdrawn": 1}


def _consent_key(c: ConsentState) -> tuple[datetime, int, str, str]:
    # Same observed_at: a withdrawal holds over a grant.
    return (c.observed_at, _STATUS_RANK[c.status], c.source, c.evidence or "")


def merge_consent(profile: Profile, purpose: str, incoming: ConsentState) -> bool:
    """Apply one consent fact; True when the current state for the purpose changed."""
    current = profile.consent.get(purpose)
    if current is not None and _consent_key(incoming) <= _consent_key(current):
        return False
    profile.consent[purpose] = incoming
    return current is None or current.status != incoming.status or current != incoming
