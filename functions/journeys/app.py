"""Candidate events into journeys (templates/journeys): the event journey starts on a
registration and follows the outcome; a job view starts the job nurture and an application
ends it. An event outcome that no journey follows for the candidate gets the catalogue's
follow-up directly. `Candidate Profile Changed` moves journeys that enter on a segment or
exit on the profile. The event is parsed first (journeys/inbound.py): a malformed fact that
only this function takes raises, so that Lambda retries it and then parks it in the DLQ with
its reason; a malformed event message, which record_event dead-letters, is dropped here."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

# The journeys' code is imported at init, the way Lambda runs a module's top level; the
# runtime itself (catalogue, journeys, clients) is built when the first event needs it.
import talentops.journeys.runtime  # noqa: F401
from talentops.coldstart import collect_after_first_call
from talentops.invocation import bounded
from talentops.journeys.inbound import ProfileChange, parse_inbound
from talentops.observability import logger, metrics
from talentops.wiring import journey_runtime, read_at_init

read_at_init()  # the token key, in Lambda's init phase rather than with a message


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@bounded
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    inbound = parse_inbound(event)
    if inbound is None:
        return {"dropped": "malformed"}
    if isinstance(inbound, ProfileChange):
        outcome = journey_runtime().on_profile_changed(
            inbound.candidate_id, inbound.changed, inbound.event_id, inbound.observed_at
        )
        return outcome.summary()
    outcome = journey_runtime().on_candidate_event(inbound.fact, inbound.candidate)
    return outcome.summary()
