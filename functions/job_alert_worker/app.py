"""The job-alert send worker: SQS messages of the fan-out (a job and up to 100 candidates)
into decisions and emails. A message whose sends failed is reported as a partial batch
failure, so that SQS delivers only it again (and after maxReceiveCount, to the DLQ)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.invocation import bounded
from talentops.job_alerts.messages import parse_batch
from talentops.job_alerts.wiring import alert_worker
from talentops.observability import logger, metrics
from talentops.wiring import read_at_init

read_at_init()  # the token key, in Lambda's init phase rather than with a message

# A batch whose every record failed is reported like any other (each record listed), so that
# only its records come back, and the invocation itself does not count as an error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    report = alert_worker().process(parse_batch(record.body))
    return {"sent": report.sent, "duplicates": report.duplicates}


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@bounded
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
