"""EventBridge publisher for the behaviour the careers site reports (`POST /track`), with
source talent.careers-site: the API puts the site's facts on the bus on its behalf."""

from __future__ import annotations

from typing import Any

from ..models.careers import CAREERS_SITE_EVENTS, SITE_SOURCE
from ..models.events import ContractModel
from .aws import client
from .bus import put_one


class SiteEventPublisher:
    def __init__(self, bus_name: str, events: Any | None = None):
        self.bus_name = bus_name
        self._events = events

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = client("events")
        return self._events

    def publish(self, detail_type: str, detail: ContractModel) -> str:
        """Put one event; returns the id EventBridge gave it."""
        model = CAREERS_SITE_EVENTS.get(detail_type)
        if model is None or not isinstance(detail, model):
            raise ValueError(f"not a careers-site event: {detail_type}")
        return put_one(self.events, self.bus_name, SITE_SOURCE, detail_type, detail)
