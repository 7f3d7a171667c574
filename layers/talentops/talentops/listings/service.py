"""Keeping the events store current from the event messages (`Candidate Event Registered`,
`Attended`, `No-Show`): each names its event, and the newest message's view of an event
wins (ordering by `observed_at`, never by arrival).

And what a message shows of a job: the job as the listings hold it (``listed_job_fields``), the
jobs that `Job Opened` stored. A behaviour event (a job view on the careers site, an
application) names a job by its id; its title or URL never reaches an email."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..adapters.listings import JOB_FIELDS, ListingsRepository
from ..errors import InvalidEventError
from ..models.events import ContractModel, EventBehaviour
from ..observability import logger


@dataclass
class ListingsService:
    repo: ListingsRepository

    def record_event(self, detail_type: str, detail: ContractModel) -> bool:
        if not isinstance(detail, EventBehaviour):
            raise InvalidEventError(detail_type, "not an event message")
        stored = self.repo.put_event(detail.event, detail.observed_at)
        logger.info("event listing", event_id=detail.event.id, stored=stored)
        return stored


def listed_job_fields(listed: Mapping[str, Any]) -> dict[str, Any]:
    """A stored job (a listings item, which also carries keys and fan-out progress) as a
    message's ``job`` or an entry of ``jobs.similar``: the contract's job fields only."""
    return {name: listed.get(name) for name in JOB_FIELDS}
