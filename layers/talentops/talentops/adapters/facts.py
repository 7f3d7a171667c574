"""Publishes candidate facts on the bus in the name of a producer inside the system.

The preference centre is a producer of consent facts like any other (CONTRACT.md section 1):
its `Candidate Consent Changed` events carry source ``talent.preference-centre`` so that the
systems around learn of the change (and so that ingest, which applies them too, does not
mistake them for the system's own output, whose source is ``talent.personalization``).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..models.events import INBOUND_EVENTS, OWN_SOURCE, ContractModel
from .aws import client


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
        entry = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail.model_dump(mode="json", exclude_none=True)),
            "EventBusName": self.bus_name,
        }
        try:
            resp = self.events.put_events(Entries=[entry])
        except ClientError as exc:
            raise StorageError("publishing a fact failed") from exc
        if resp.get("FailedEntryCount"):
            raise StorageError("the bus did not accept the fact")
        return str(resp["Entries"][0].get("EventId", ""))
