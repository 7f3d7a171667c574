"""EventBridge publisher for the behaviour the careers site reports (`POST /track`), with
source talent.careers-site: the API puts the site's facts on the bus on its behalf."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..models.careers import CAREERS_SITE_EVENTS, SITE_SOURCE
from ..models.events import ContractModel
from .aws import client


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
        entry = {
            "Source": SITE_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail.model_dump(mode="json", exclude_none=True)),
            "EventBusName": self.bus_name,
        }
        try:
            resp = self.events.put_events(Entries=[entry])
        except ClientError as exc:
            raise StorageError("publishing a careers-site event failed") from exc
        if resp.get("FailedEntryCount"):
            raise StorageError("the careers-site event was not accepted")
        return str(resp["Entries"][0]["EventId"])
