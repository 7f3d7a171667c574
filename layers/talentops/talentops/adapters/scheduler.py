"""One-time timers as EventBridge Scheduler schedules.

A timer is a schedule named by the caller (idempotent: creating a name that exists is a
success), with an ``at(...)`` expression in UTC, a target (a function or a queue) with a JSON
input, and ``ActionAfterCompletion: DELETE``, so it removes itself after firing. The local
stack fires due schedules from its clock (``POST /_local/clock``).

Schedule names allow 1 to 64 of ``[0-9a-zA-Z-_.]``: callers pass ids that fit (hex digests).
A timer whose input names a candidate and that nothing in the candidate's partition records
(a campaign deferral) carries a digest of the candidate id in its name
(:func:`campaign_timer_name`), so that erasure finds it with one ListSchedules by name prefix
(:meth:`TimerScheduler.cancel_prefixed`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client

# Scheduler refuses an at() in the past; a timer already due fires a moment from now.
MIN_LEAD = timedelta(seconds=1)
FLEXIBLE_OFF = {"Mode": "OFF"}
CAMPAIGN_TIMER_PREFIX = "cmp-"


def candidate_digest(candidate_id: str) -> str:
    """16 hex digits of the candidate id's SHA-256: the part of a timer's name that erasure
    looks the candidate's timers up by."""
    return hashlib.sha256(candidate_id.encode()).hexdigest()[:16]


def campaign_timers_prefix(candidate_id: str) -> str:
    """The name prefix of every campaign deferral timer of ``candidate_id``."""
    return f"{CAMPAIGN_TIMER_PREFIX}{candidate_digest(candidate_id)}-"


def campaign_timer_name(candidate_id: str, decision_id: str, at: datetime) -> str:
    """A campaign deferral timer's name: the candidate's prefix, the decision (one per
    campaign and candidate) and the time, so that a message delivered again creates no timer
    twice. 56 characters with a 32-digit decision id (Scheduler allows 64)."""
    return f"{campaign_timers_prefix(candidate_id)}{decision_id[:24]}-{int(at.timestamp())}"


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass
class TimerScheduler:
    group: str
    target_arn: str
    role_arn: str
    dead_letter_arn: str | None = None
    scheduler_client: Any = field(default=None, repr=False, compare=False)  # tests: a fake

    @property
    def scheduler(self) -> Any:
        return self.scheduler_client or client("scheduler")

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

    def cancel_prefixed(self, prefix: str) -> int:
        """Delete every schedule of the group whose name starts with ``prefix`` (a
        candidate's campaign deferrals at erasure); returns how many were deleted."""
        if not prefix:
            raise ValueError("a prefix is required: an empty one would match every timer")
        names: list[str] = []
        kwargs: dict[str, Any] = {"GroupName": self.group, "NamePrefix": prefix}
        try:
            while True:
                page = self.scheduler.list_schedules(**kwargs)
                names += [
                    str(s["Name"])
                    for s in page.get("Schedules", [])
                    if str(s.get("Name", "")).startswith(prefix)
                ]
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        except ClientError as exc:
            raise StorageError("listing timers failed") from exc
        for name in names:
            self.cancel(name)
        return len(names)
