"""The local stack's event log: every event put on any bus, one JSON line each, appended to
``<data dir>/events.jsonl`` (``LOCAL_DATA_DIR``, default ``out/``).

What an EventBridge archive on the bus is in AWS (template.yaml, ``TalentEventsArchive``):
the record of what happened, that ``scripts/simulate.py`` replays through the decision and
journey logic with changed content (docs/operations.md). Each line is the event as a rule's
target gets it (``id``, ``time``, ``detail-type``, ``source``, ``detail``) and the bus it was
put on; ``time`` is the event's own ``Time`` when the sender gave one, else the
application's clock (the stack's, which ``POST /_local/clock`` advances), so that a range
of the log is a range of the application's time.

The log holds the events' details as sent, personal data included (addresses, names): it is
the local stack's data, under a git-ignored folder, like the table moto keeps in memory.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_NAME = "events.jsonl"
_LOCK = threading.Lock()


def _time(value: Any, now: Callable[[], datetime]) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = now()
    else:
        moment = now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def line_of(entry: dict[str, Any], event_id: str, now: Callable[[], datetime]) -> dict[str, Any]:
    """One PutEvents entry as the log keeps it."""
    try:
        detail = json.loads(entry.get("Detail") or "{}")
    except ValueError:
        detail = None
    bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
    return {
        "id": event_id,
        "time": _time(entry.get("Time"), now),
        "bus": bus,
        "source": entry.get("Source"),
        "detail-type": entry.get("DetailType"),
        "detail": detail,
    }


def install(path: Path, now: Callable[[], datetime]) -> Callable[[], None]:
    """Wraps moto's PutEvents to append each accepted event to ``path``; returns the undo.
    Installing again replaces the file and clock (the wrappers never stack)."""
    from moto.events.models import EventsBackend

    current = EventsBackend.put_events
    original = getattr(current, "_devstack_original", current)
    path.parent.mkdir(parents=True, exist_ok=True)

    @functools.wraps(original)
    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        entries = original(self, events)
        lines = [
            json.dumps(line_of(event, entry["EventId"], now), default=str)
            for event, entry in zip(events, entries, strict=False)
            if entry.get("EventId")
        ]
        if lines:
            with _LOCK, path.open("a", encoding="utf-8") as log:
                log.write("".join(f"{line}\n" for line in lines))
        return entries

    put_events._devstack_original = original  # type: ignore[attr-defined]
    EventsBackend.put_events = put_events  # type: ignore[method-assign]

    def uninstall() -> None:
        EventsBackend.put_events = original  # type: ignore[method-assign]

    return uninstall


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The log's events in order; a line that is not a JSON object is skipped."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as log:
        for line in log:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event
