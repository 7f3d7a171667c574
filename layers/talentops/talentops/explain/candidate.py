"""The first question of every explanation: was the candidate in the pool at that time?

An explanation at a moment before the profile was created says so (``not_eligible``,
``not_yet_in_pool``) instead of judging a profile that did not exist yet. Otherwise every
explanation is of the profile as the pool holds it now, judged at the moment asked for
(consent lapses, freshness windows, caps and budget windows, quiet hours are all measured
at that moment): the pool keeps each field's current value, not its history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..models.state import Profile
from .message import Explanation, Step

NOT_YET_IN_POOL = "not_yet_in_pool"


def candidate_step(profile: Profile, at: datetime, now: datetime) -> Step:
    """Whether the candidate was in the pool at ``at``, and what the explanation reads."""
    created = profile.created_at
    since = f"in the talent pool since {created.isoformat()}" if created else "in the talent pool"
    if created is not None and at < created:
        return Step(
            "candidate",
            False,
            f"{at.isoformat()} is before the candidate joined the talent pool "
            f"({created.isoformat()}): there was nobody to send to",
        )
    if at < now:
        return Step(
            "candidate", True, f"{since}; the profile as held now, judged at {at.isoformat()}"
        )
    return Step("candidate", True, since)


def not_yet_in_pool(
    profile: Profile, subject: Mapping[str, Any], at: datetime, step: Step
) -> Explanation:
    return Explanation(
        candidate_id=profile.candidate_id,
        subject=dict(subject),
        at=at,
        outcome="not_eligible",
        reason=NOT_YET_IN_POOL,
        variant=None,
        steps=[step],
    )
