"""Every five minutes: claimed sends whose lease ran out without a recorded send (their
sender died between the claim and the record) are resolved: recorded sent when SES accepted
them (its Send event on the claim), else sent (talentops.delivery.leases). A campaign's
counters take the recipients so resolved."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.invocation import bounded
from talentops.observability import logger, metrics
from talentops.wiring import reconciler


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@bounded
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return reconciler().sweep()
