"""SES bounce and complaint events (configuration set -> EventBridge default bus) into the
suppression list; soft bounces are ignored. SES Send events note the acceptance on the
message's open claim (its decision_id and candidate_id tags); Delivery, Open and Click
events become Message Delivered / Opened / Clicked on the bus. An event that does not fit the
SES record model (models/ses.py) raises InvalidEventError, so Lambda retries it and then
parks it in the DLQ with its reason."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.models.ses import parse_ses_event
from talentops.observability import logger, metrics
from talentops.privacy.wiring import feedback_service


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ses_event = parse_ses_event(event)
    result = feedback_service().handle(ses_event.detail)
    return {"kind": result.kind, "addresses": result.addresses, "profiles": len(result.profiles)}
