"""Publishes candidate facts on the bus in the name of a producer inside the system.

The preference centre is a producer of consent facts like any other (docs/contract.md section 1):
its `Candidate Consent Changed` events carry source ``talent.preference-centre`` so that the
systems around learn of the change (and so that ingest, which applies them too, does not
mistake them for the system's own output, whose source is ``talent.personalization``).
"""

from __future__ import annotations

from typing import Any

from ..models.events import INBOUND_EVENTS, OWN_SOURCE, ContractModel
from .aws import client
from .bus import put_one


class FactPublisher:
    def __init__(self, bus_name: str, events: Any | None = None):
        self.bus_name = bus_name
        self._events = events

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = client("events")
        return self._events

    def publish(self, source: str, detail_type: str, detail: ContractModel) -> str:
        """Put one inbound fact on the bus; returns the EventId EventBridge gave it."""
        if detail_type not in INBOUND_EVENTS or source == OWN_SOURCE:
            raise ValueError(f"not an inbound fact: {detail_type} from {source}")
        return put_one(self.events, self.bus_name, source, detail_type, detail)
