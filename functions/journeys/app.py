"""Candidate events into journeys (templates/journeys): the event journey starts on a
registration and follows the outcome; a job view starts the job nurture and an application
ends it. An event outcome that no journey follows for the candidate gets the catalogue's
follow-up directly. `Candidate Profile Changed` moves journeys that enter on a segment or
exit on the profile. A malformed event raises, so that Lambda retries it and then parks it
in the DLQ with its reason."""

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.clock import now
from talentops.delivery.decide import TriggerFact
from talentops.models.events import OWN_SOURCE, CandidateProfileChanged, parse_event
from talentops.observability import logger, metrics
from talentops.wiring import journey_runtime

PROFILE_CHANGED = "Candidate Profile Changed"


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == PROFILE_CHANGED and event.get("source") == OWN_SOURCE:
        changed = CandidateProfileChanged.model_validate(event.get("detail") or {})
        outcome = journey_runtime().on_profile_changed(
            changed.candidate_id, changed.changed, str(event.get("id")), _time(event)
        )
        return outcome.summary()
    envelope, detail = parse_event(event)
    fact = TriggerFact.from_event(envelope.id, envelope.detail_type, detail)
    outcome = journey_runtime().on_candidate_event(fact, detail.candidate)  # type: ignore[attr-defined]
    return outcome.summary()


def _time(event: dict[str, Any]) -> datetime:
    raw = str(event.get("time") or "")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return now()
