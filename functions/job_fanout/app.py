"""Job Opened into job alerts: store the job, read the matching part of the talent pool page
by page, queue it for the send worker. A run that runs out of time raises, and Lambda's
retry resumes from the cursor saved on the job."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.coldstart import collect_after_first_call
from talentops.errors import InvalidEventError
from talentops.job_alerts.wiring import fanout_service
from talentops.models.events import JobOpened, parse_event
from talentops.observability import logger, metrics


@collect_after_first_call
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope, detail = parse_event(event)
    if not isinstance(detail, JobOpened):
        raise InvalidEventError(envelope.detail_type, "not a Job Opened event")
    result = fanout_service().open_job(
        detail, envelope.id, seconds_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    return {
        "job_id": result.job_id,
        "status": result.status,
        "pages": result.pages,
        "enqueued": result.enqueued,
    }
