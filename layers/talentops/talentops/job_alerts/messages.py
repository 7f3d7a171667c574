"""The message from the fan-out to the send worker: one job, up to 100 candidate ids (one
BatchGetItem of profiles), everything the worker needs without reading the job again."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from ..errors import InvalidEventError
from ..models.events import JobInfo
from ..models.validation import summary
from ..observability import logger

if TYPE_CHECKING:
    from ..delivery.decide import TriggerFact

JOB_OPENED = "Job Opened"
TEMPLATE = "job_alert"


class AlertBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    v: int = 1
    # The job as the fan-out stored it (JobInfo's fields); checked against JobInfo, kept as
    # the dict the matching and the rendering read.
    job: dict[str, Any]
    # The fact that opened the job: the first Job Opened's envelope id and observed_at. A
    # repeat of the same Job Opened (a new id, perhaps a new observed_at) resolves to these,
    # so a job and a candidate make one decision id however often the job is announced.
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    opened_at: AwareDatetime
    page: int = Field(default=0, ge=0)
    candidates: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=100
    )

    @field_validator("job", mode="before")
    @classmethod
    def _a_job(cls, value: Any) -> dict[str, Any]:
        return JobInfo.model_validate(value).model_dump(mode="json")

    def fact(self, candidate_id: str) -> TriggerFact:
        from ..delivery.decide import TriggerFact  # the worker's: the fan-out never decides

        return TriggerFact(
            detail_type=JOB_OPENED,
            event_id=self.event_id,
            candidate_key=f"id:{candidate_id}",
            observed_at=self.opened_at,
            subject_id=str(self.job["id"]),
            payload={"job": dict(self.job)},
        )


def parse_batch(body: str | bytes) -> AlertBatch:
    """A message of the job-alert queue; InvalidEventError (where and what, never a value)
    when it is not one, so that the record fails with its reason and the others go on."""
    try:
        return AlertBatch.model_validate_json(body)
    except ValidationError as exc:
        reason = summary(exc)
        logger.warning("job alert message refused", reason=reason)
        raise InvalidEventError("job alert message", reason) from exc


def opened_at_of(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
