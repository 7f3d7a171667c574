"""One-time timers as EventBridge Scheduler schedules.

A timer is a schedule named by the caller (idempotent: creating a name that exists is a
success), with an ``at(...)`` expression in UTC, a target (a function or a queue) with a JSON
input, and ``ActionAfterCompletion: DELETE``, so it removes itself after firing. The local
stack fires due schedules from its clock (``POST /_local/clock``).

Schedule names allow 1 to 64 of ``[0-9a-zA-Z-_.]``: callers pass ids that fit (hex digests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client

# Scheduler refuses an at() in the past; a timer already due fires a moment from now.
MIN_LEAD = timedelta(seconds=1)
FLEXIBLE_OFF = {"Mode": "OFF"}


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass
class TimerScheduler:
    group: str
    target_arn: str
    role_arn: str
    dead_letter_arn: str | None = None

    @property
    def scheduler(self) -> Any:
        return client("scheduler")

    def schedule(
        self, name: str, at: datetime, payload: Mapping[str, Any], *, now: datetime
    ) -> None:
        """Create the one-time schedule ``name`` firing at ``at`` (or a second after ``now``
        when ``at`` has passed). An existing schedule of that name is left as it is."""
        when = max(at, now + MIN_LEAD)
        target: dict[str, Any] = {
            "Arn": self.target_arn,
            "RoleArn": self.role_arn,
            "Input": json.dumps(payload, separators=(",", ":"), sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 86400},
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        try:
            self.scheduler.create_schedule(
                Name=name,
                GroupName=self.group,
                ScheduleExpression=at_expression(when),
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow=FLEXIBLE_OFF,
                Target=target,
                ActionAfterCompletion="DELETE",
                State="ENABLED",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConflictException":
                return  # created by an earlier attempt of the same transition
            raise StorageError("creating a timer failed") from exc

    def cancel(self, name: str) -> None:
        """Delete the schedule ``name``; one that fired (and deleted itself) or never existed
        is fine."""
        try:
            self.scheduler.delete_schedule(Name=name, GroupName=self.group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return
            raise StorageError("deleting a timer failed") from exc
