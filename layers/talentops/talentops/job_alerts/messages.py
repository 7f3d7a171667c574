"""The message from the fan-out to the send worker: one job, up to 100 candidate ids (one
BatchGetItem of profiles), everything the worker needs without reading the job again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..delivery.decide import TriggerFact

JOB_OPENED = "Job Opened"
TEMPLATE = "job_alert"


class AlertBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    v: int = 1
    job: dict[str, Any]
    # The fact that opened the job: the first Job Opened's envelope id and observed_at. A
    # repeat of the same Job Opened (a new id, perhaps a new observed_at) resolves to these,
    # so a job and a candidate make one decision id however often the job is announced.
    event_id: str
    opened_at: AwareDatetime
    page: int = 0
    candidates: list[str] = Field(min_length=1, max_length=100)

    def fact(self, candidate_id: str) -> TriggerFact:
        return TriggerFact(
            detail_type=JOB_OPENED,
            event_id=self.event_id,
            candidate_key=f"id:{candidate_id}",
            observed_at=self.opened_at,
            subject_id=str(self.job["id"]),
            payload={"job": dict(self.job)},
        )


def opened_at_of(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
