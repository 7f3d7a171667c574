"""On the local stack: a malformed fact lands in one dead-letter queue, with its reason.

A malformed `Candidate Event Attended` goes to record_event and journeys (two rules): record
_event dead-letters it (after Lambda's retries) with the field that broke the contract in
`ErrorMessage`; journeys drops it; no other DLQ holds it. The queues are peeked, not drained
(other tests of the session share the stack).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
DLQS = (
    "IngestProfileDLQ",
    "JourneysDLQ",
    "RecordEventDLQ",
    "CandidateErasureDLQ",
    "JobFanoutDLQ",
    "SesFeedbackDLQ",
)


def _holding(stack: LocalStack, event_id: str) -> dict[str, list[dict[str, Any]]]:
    """The DLQs whose messages include the event, each with those messages (peeked)."""
    sqs = stack.client("sqs")
    found: dict[str, list[dict[str, Any]]] = {}
    for logical_id in DLQS:
        url = stack.queue(logical_id)
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        mine = [m for m in messages if json.loads(m["Body"]).get("id") == event_id]
        if mine:
            found[logical_id] = mine
    return found


def test_a_malformed_event_message_lands_in_one_dlq_with_its_reason(stack: LocalStack) -> None:
    event_id = stack.put_event(
        "Candidate Event Attended",
        {"candidate": {}, "observed_at": "yesterday", "event": {"id": "x"}},
        source="talent.events-platform",
    )
    held = stack.wait_for(lambda: _holding(stack, event_id), timeout=30)
    time.sleep(3)  # journeys had the event as long: a second DLQ would hold it by now
    held = _holding(stack, event_id)
    assert list(held) == ["RecordEventDLQ"]
    reason = held["RecordEventDLQ"][0]["MessageAttributes"]["ErrorMessage"]["StringValue"]
    assert "observed_at" in reason and "yesterday" not in reason
