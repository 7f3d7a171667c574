"""SES bounce and complaint events (configuration set -> EventBridge default bus) into the
suppression list. Soft bounces are ignored."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.observability import logger, metrics
from talentops.privacy.wiring import feedback_service


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = feedback_service().handle(event.get("detail") or {})
    return {"kind": result.kind, "addresses": result.addresses, "profiles": len(result.profiles)}
