"""The lake's transform: Firehose hands it the bus's facts in batches (each record the
EventBridge event as JSON), and it answers each record with its lake row (one JSON line)
and the row's day as the partition key (`facts/day=YYYY-MM-DD/`).

A record that is not a fact of ours (not JSON, no detail-type or date) is `Dropped`, and
counted; a fact is never `ProcessingFailed` for its content, so Firehose never retries a
batch for one bad record. The candidate's lake key is read for the whole batch at once
(one BatchGetItem per 100 candidates) and created for a candidate seen the first time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..observability import logger, metrics
from .lake import candidate_of, lake_record


class KeyStore(Protocol):
    def existing(self, candidate_ids: Iterable[str]) -> dict[str, str]: ...

    def create_many(self, candidate_ids: Iterable[str]) -> dict[str, str | None]: ...


def _event(data: str) -> Mapping[str, Any] | None:
    try:
        event = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None
    return event if isinstance(event, Mapping) else None


@dataclass
class LakeTransform:
    keys: KeyStore

    def keys_for(self, candidate_ids: Iterable[str]) -> dict[str, str | None]:
        wanted = list(dict.fromkeys(candidate_ids))
        found: dict[str, str | None] = dict(self.keys.existing(wanted))
        found.update(self.keys.create_many(c for c in wanted if c not in found))
        return found

    def rows(self, events: list[Mapping[str, Any] | None]) -> list[dict[str, Any] | None]:
        """The lake row of each event (None for what is not a fact), in order."""
        ids = [c for c in (candidate_of(e) for e in events if e is not None) if c]
        keys = self.keys_for(ids)
        out: list[dict[str, Any] | None] = []
        for event in events:
            if event is None:
                out.append(None)
                continue
            candidate = candidate_of(event)
            out.append(lake_record(event, keys.get(candidate) if candidate else None))
        return out

    def handle(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """A Firehose data-transformation batch -> its answer."""
        records = list(batch.get("records") or [])
        events = [_event(str(r.get("data") or "")) for r in records]
        answers = []
        dropped = 0
        for record, row in zip(records, self.rows(events), strict=True):
            if row is None:
                dropped += 1
                answers.append({"recordId": record.get("recordId"), "result": "Dropped"})
                continue
            line = (json.dumps(row, separators=(",", ":")) + "\n").encode()
            answers.append(
                {
                    "recordId": record.get("recordId"),
                    "result": "Ok",
                    "data": base64.b64encode(line).decode(),
                    "metadata": {"partitionKeys": {"day": row["day"]}},
                }
            )
        metrics.add_metric(name="LakeRows", unit="Count", value=len(records) - dropped)
        if dropped:
            metrics.add_metric(name="LakeRecordsDropped", unit="Count", value=dropped)
        logger.info("lake batch", records=len(records), dropped=dropped)
        return {"records": answers}
