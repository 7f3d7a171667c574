"""Journey timers that fell due (one-time EventBridge Scheduler schedules deliver
{candidate_id, instance_id, timer_id} to the timer queue): the instance moves on. A timer
whose work failed is reported as a partial batch failure, so that SQS delivers only it again
(and after maxReceiveCount, to the DLQ); a timer the instance no longer waits for changes
nothing."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

# The journeys' code is imported at init, the way Lambda runs a module's top level; the
# runtime itself (catalogue, journeys, clients) is built when the first event needs it.
import talentops.journeys.runtime  # noqa: F401
from talentops.coldstart import collect_after_first_call
from talentops.invocation import bounded
from talentops.observability import logger, metrics
from talentops.wiring import journey_runtime, read_at_init

read_at_init()  # the token key, in Lambda's init phase rather than with a message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class TimerMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    candidate_id: str
    instance_id: str
    timer_id: str


def record_handler(record: SQSRecord) -> dict[str, Any]:
    timer = TimerMessage.model_validate_json(record.body)
    try:
        outcome = journey_runtime().on_timer(timer.candidate_id, timer.instance_id, timer.timer_id)
    except Exception as exc:
        # Reported as a batch item failure (SQS delivers it again); say which and why here.
        logger.warning("timer failed", timer_id=timer.timer_id, error_type=type(exc).__name__)
        raise
    return outcome.summary()


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@bounded
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
