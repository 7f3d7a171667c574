"""The campaign worker: messages of the campaign queue (a launch's fan-out, a page of up to
100 candidates, a deferred candidate's retry) into decisions and emails, and messages of
the preview queue (a segment of a preview's parallel Scan) into the preview's counts. A message that
stops part-way (SES still throttling after the backoff, the invocation running out of time)
has recorded what it sent and released the rest; it is reported as a partial batch failure,
so that SQS delivers only it again (and after maxReceiveCount, to the DLQ)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.campaigns.launch import parse_message
from talentops.campaigns.preview_job import PreviewMessage
from talentops.campaigns.wiring import campaign_worker, preview_worker
from talentops.coldstart import collect_after_first_call
from talentops.invocation import bounded
from talentops.observability import logger, metrics
from talentops.wiring import read_at_init

read_at_init()  # the token key, in Lambda's init phase rather than with a message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(
    record: SQSRecord, lambda_context: LambdaContext | None = None
) -> dict[str, Any]:
    def seconds_left() -> float:
        if lambda_context is None:
            return 900.0
        return lambda_context.get_remaining_time_in_millis() / 1000

    message = parse_message(record.body)
    if isinstance(message, PreviewMessage):
        done = preview_worker().segment(message, seconds_left)
        return {"kind": "preview", "status": done.status, "scanned": done.scanned}
    report = campaign_worker().process(message, seconds_left)
    return {"kind": report.kind, "status": report.status, "sent": report.sent}


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@bounded
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
