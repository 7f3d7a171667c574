"""Profile and consent facts (Candidate Profile Updated, Candidate Consent Changed) into the
talent pool. A malformed fact raises, so Lambda retries it and then parks it in the DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.models.events import parse_event
from talentops.observability import logger, metrics
from talentops.wiring import talent_pool_service


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope, detail = parse_event(event)
    result = talent_pool_service().ingest(detail, envelope.source)  # type: ignore[arg-type]
    return {"candidate_id": result.candidate_id, "changed": sorted(result.changed)}
