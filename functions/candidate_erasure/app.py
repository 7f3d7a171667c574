"""`Candidate Erasure Requested` into an erasure of the candidate, then `Candidate Erased`."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.models.events import ErasureRequested, parse_event
from talentops.observability import logger, metrics
from talentops.privacy.wiring import erasure_service


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _, detail = parse_event(event)
    assert isinstance(detail, ErasureRequested)
    candidate_id = erasure_service().handle_request(detail.candidate, request_id=detail.request_id)
    return {"candidate_id": candidate_id, "erased": candidate_id is not None}
