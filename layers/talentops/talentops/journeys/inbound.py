"""What the journeys function takes in, parsed before anything reads it.

Two kinds of event reach it (template.yaml, JourneysFunction): the candidate behaviours of
the producers, and our own `Candidate Profile Changed`. The envelope is parsed first, then
the detail against the contract's model; nothing is read from the raw event.

A malformed fact lands in one dead-letter queue. The event messages (`Candidate Event
Registered`, `Attended`, `No-Show`) also go to the record_event function, which dead-letters
them with the reason; so this function drops those (a warning with the reason, never the
value, and the `MalformedEventsDropped` metric) instead of failing a second time. Every
other detail-type it takes, it alone takes: a malformed one raises InvalidEventError, so
Lambda retries it and then parks it in this function's DLQ with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..clock import now
from ..delivery.decide import TriggerFact
from ..errors import InvalidEventError
from ..models.events import (
    OWN_SOURCE,
    CandidateProfileChanged,
    CandidateRef,
    EventEnvelope,
    parse_detail,
)
from ..models.validation import summary
from ..observability import logger, metrics

PROFILE_CHANGED = "Candidate Profile Changed"
# detail-type -> the function that dead-letters it when malformed (it takes it as well).
DEAD_LETTERED_BY: dict[str, str] = {
    "Candidate Event Registered": "record_event",
    "Candidate Event Attended": "record_event",
    "Candidate Event No-Show": "record_event",
}
_CANDIDATE_ID = re.compile(r"^c_[A-Za-z0-9]{6,40}$")


@dataclass(frozen=True)
class ProfileChange:
    event_id: str
    candidate_id: str
    changed: tuple[str, ...]
    observed_at: datetime


@dataclass(frozen=True)
class CandidateBehaviour:
    fact: TriggerFact
    candidate: CandidateRef


def parse_inbound(event: Any) -> ProfileChange | CandidateBehaviour | None:
    """The event as the journeys function reads it; None for a malformed fact that another
    function dead-letters (dropped here, with its reason logged)."""
    try:
        envelope = EventEnvelope.model_validate(event)
    except ValidationError as exc:
        raise InvalidEventError("?", "not an EventBridge event: " + summary(exc)) from exc
    if envelope.detail_type == PROFILE_CHANGED and envelope.source == OWN_SOURCE:
        return _profile_change(envelope)
    try:
        detail = parse_detail(envelope)  # the envelope is read once
    except InvalidEventError as exc:
        owner = DEAD_LETTERED_BY.get(envelope.detail_type)
        if owner is None:
            raise
        logger.warning(
            "malformed event dropped",
            detail_type=envelope.detail_type,
            event_id=envelope.id[:128],
            reason=exc.reason,
            dead_lettered_by=owner,
        )
        metrics.add_metric(name="MalformedEventsDropped", unit="Count", value=1)
        return None
    candidate = getattr(detail, "candidate", None)
    if not isinstance(candidate, CandidateRef):
        raise InvalidEventError(envelope.detail_type, "not a candidate event")
    fact = TriggerFact.from_event(envelope.id, envelope.detail_type, detail)
    return CandidateBehaviour(fact=fact, candidate=candidate)


def _profile_change(envelope: EventEnvelope) -> ProfileChange:
    try:
        changed = CandidateProfileChanged.model_validate(envelope.detail)
    except ValidationError as exc:
        raise InvalidEventError(PROFILE_CHANGED, summary(exc)) from exc
    if not _CANDIDATE_ID.match(changed.candidate_id):
        raise InvalidEventError(PROFILE_CHANGED, "candidate_id: not a candidate id")
    at = envelope.time if envelope.time is not None and envelope.time.tzinfo else now()
    return ProfileChange(envelope.id, changed.candidate_id, tuple(changed.changed), at)
