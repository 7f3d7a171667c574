"""Keeping the events store current from the event messages (`Candidate Event Registered`,
`Attended`, `No-Show`): each names its event, and the newest message's view of an event
wins (ordering by `observed_at`, never by arrival)."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters.listings import ListingsRepository
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
