"""The HTTP API: careers-site content and tracking, preferences, unsubscribe, admin."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.api.app import build_app
from talentops.coldstart import collect_after_first_call
from talentops.observability import logger, metrics


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return build_app().resolve(event, context)
