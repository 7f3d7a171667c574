"""EventBridge publisher for the events the system emits (source talent.personalization)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..models.events import OUTBOUND_EVENTS, OWN_SOURCE, ContractModel
from .aws import client


class EventPublisher:
    def __init__(self, bus_name: str, events: Any | None = None):
        self.bus_name = bus_name
        self._events = events

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = client("events")
        return self._events

    def publish(self, entries: Sequence[tuple[str, ContractModel]]) -> None:
        """Put events, ten a request; a partial failure raises so that the caller retries."""
        batch: list[dict[str, Any]] = []
        for detail_type, detail in entries:
            if detail_type not in OUTBOUND_EVENTS:
                raise ValueError(f"not an outbound event: {detail_type}")
            batch.append(
                {
                    "Source": OWN_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail.model_dump(mode="json", exclude_none=True)),
                    "EventBusName": self.bus_name,
                }
            )
        for start in range(0, len(batch), 10):
            chunk = batch[start : start + 10]
            try:
                resp = self.events.put_events(Entries=chunk)
            except ClientError as exc:
                raise StorageError("publishing events failed") from exc
            if resp.get("FailedEntryCount"):
                raise StorageError(f"{resp['FailedEntryCount']} events were not accepted")


def put_one(
    events: Any, bus_name: str, source: str, detail_type: str, detail: ContractModel
) -> str:
    """Put one event under ``source``; returns the EventId EventBridge gave it."""
    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail.model_dump(mode="json", exclude_none=True)),
        "EventBusName": bus_name,
    }
    try:
        resp = events.put_events(Entries=[entry])
    except ClientError as exc:
        raise StorageError(f"publishing {detail_type} failed") from exc
    if resp.get("FailedEntryCount"):
        raise StorageError(f"the bus did not accept {detail_type}")
    return str(resp["Entries"][0].get("EventId", ""))
