"""Event messages (Candidate Event Registered, Attended, No-Show) into the events store that
the careers site's events block lists. A malformed message raises, so Lambda retries it and
then parks it in the DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.models.events import parse_event
from talentops.observability import logger, metrics
from talentops.wiring import listings_service


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope, detail = parse_event(event)
    stored = listings_service().record_event(envelope.detail_type, detail)
    return {"stored": stored}
