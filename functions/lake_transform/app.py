"""Firehose's data transformation of the event lake (docs/metrics.md): a batch of the bus's
facts (`records`, each an EventBridge event as base64 JSON) in, each record's lake row out
(`recordId`, `result` Ok / Dropped, `data`, and the row's day as the dynamic partition key
`metadata.partitionKeys.day`). The row names the candidate by their lake key, never by id,
address or name; what is not a fact is Dropped, never failed."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.metrics.wiring import lake_transform
from talentops.observability import logger, metrics


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return lake_transform().handle(event)
