"""Journey timers under moto: the EventBridge Scheduler schedules the system created, fired
the way the local stack fires them (due by the clock, once, then deleted), into the timer
function as an SQS batch."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3

GROUP = "talentops-timers"
REGION = "eu-west-1"


def schedules() -> list[dict[str, Any]]:
    scheduler = boto3.client("scheduler", region_name=REGION)
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    return [scheduler.get_schedule(Name=name, GroupName=GROUP) for name in names]


def due_at(schedule: dict[str, Any]) -> datetime:
    expression = str(schedule["ScheduleExpression"])
    assert expression.startswith("at(") and expression.endswith(")"), expression
    assert schedule.get("ActionAfterCompletion") == "DELETE"
    return datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)


def sqs_record(body: str, queue_arn: str = "arn:aws:sqs:eu-west-1:123456789012:timers") -> dict:
    """One SQS record as Lambda's event source mapping delivers it."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def fire_due(handler: ModuleType, context: Any, now: datetime) -> int:
    """Deliver every schedule due by ``now`` (oldest first, a tie broken by name) to the
    timer function; returns how many fired."""
    scheduler = boto3.client("scheduler", region_name=REGION)
    due = sorted((s for s in schedules() if due_at(s) <= now), key=lambda s: (due_at(s), s["Name"]))
    for schedule in due:
        record = sqs_record(schedule["Target"]["Input"], schedule["Target"]["Arn"])
        result = handler.handler({"Records": [record]}, context)
        assert result == {"batchItemFailures": []}, result
        scheduler.delete_schedule(Name=schedule["Name"], GroupName=GROUP)
    return len(due)


def payload(schedule: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(schedule["Target"]["Input"]))
