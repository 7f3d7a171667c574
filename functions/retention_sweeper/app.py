"""Hourly: go on with the day's retention sweep (a pass over the pool that starts once a UTC
day): erase candidates past their country's retention limit, and ask candidates whose grant
is about to lapse to renew it (the re-permission message). Near its deadline the sweep saves
its cursor and the next run continues from there (docs/privacy.md). ``{"restart": true}``
starts a new pass even if today's is done."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.observability import logger, metrics
from talentops.privacy.wiring import retention_sweeper


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    restart = isinstance(event, dict) and event.get("restart") is True
    report = retention_sweeper().sweep(context.get_remaining_time_in_millis, restart=restart)
    return report.summary()
