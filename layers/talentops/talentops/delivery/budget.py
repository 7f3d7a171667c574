"""Quiet hours and the contact budget: whether a message may go out now, later, or not at all.

Pure: the send history (the profile's ``recent`` traces), the candidate's timezone and "now"
in, a verdict out. Journeys (talentops.journeys.engine) and campaigns
(talentops.campaigns.preview) ask the same question of the same ``ContactPolicy``, so the
budget holds across both.

- Quiet hours: a window of local wall-clock time (e.g. 21:00 to 08:00) in which no budgeted
  message is sent; a message that falls in it waits for the window's end in the candidate's
  own timezone (zoneinfo, so daylight saving changes are taken as the clocks take them).
- Contact budget: every budgeted send (purposes events, job_alerts, marketing) counts, across
  all journeys and campaigns, in a sliding window (7 days by default). Each priority class has
  a ceiling: a message of that class may go only while fewer than ``ceiling`` budgeted messages
  went out in the window. Higher priorities have higher ceilings (event logistics: none; job
  alerts: 4; nurture and campaigns: 2), so event logistics come before job alerts before
  nurture: what a higher class sends uses up the room of the lower ones, never the reverse.
- Over the budget a message is deferred to the moment the window frees up, unless that is
  later than its class may wait (``max_defer``) or than the caller's own deadline
  (``not_after``, e.g. the start of the event a reminder is about): then it is suppressed with
  reason ``frequency_cap``. The verdict says which, and why, in words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class BudgetConfigError(ValueError):
    """The quiet hours or the contact budget are not a possible configuration (says why)."""


class Priority(StrEnum):
    """Who yields to whom when the budget is tight (first = highest)."""

    transactional = "transactional"  # never budgeted, never held for quiet hours
    event_logistics = "event_logistics"  # confirmations, reminders, follow-ups of an event
    job_alerts = "job_alerts"
    nurture = "nurture"  # journeys that market (e.g. the job nurture)
    campaign = "campaign"  # marketing ops' campaigns


PRIORITY_RANK: Mapping[Priority, int] = {
    Priority.transactional: 0,
    Priority.event_logistics: 1,
    Priority.job_alerts: 2,
    Priority.nurture: 3,
    Priority.campaign: 3,
}

# The priority of a message whose sender does not say: by its catalogue purpose.
PRIORITY_OF_PURPOSE: Mapping[str, Priority] = {
    "transactional": Priority.transactional,
    "events": Priority.event_logistics,
    "job_alerts": Priority.job_alerts,
    "marketing": Priority.nurture,
}

# Purposes whose sends count against the budget (everything but transactional).
BUDGETED_PURPOSES = frozenset({"events", "job_alerts", "marketing"})

_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_time_of_day(value: Any) -> time:
    """``"09:00"`` -> 09:00. Refuses anything that is not a wall-clock time (``"25:00"``)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    match = _TIME_OF_DAY.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a time of day: write it as HH:MM, e.g. '09:00'")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"{value} is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


def format_time_of_day(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The candidate's timezone; the default when it is unknown or not an IANA name."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _round_trips(instant: datetime, naive: datetime, tz: ZoneInfo) -> bool:
    return instant.astimezone(tz).replace(tzinfo=None) == naive


def wall_instants(day: date, at: time, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the clocks of ``tz`` read ``day`` ``at``, in order.

    Usually one. Two when the clocks go back and the time happens twice. When the clocks go
    forward and skip it (02:30 on the spring-forward night), the instant they jump over it:
    the first moment at which the local clock reads later than ``at``.
    """
    naive = datetime.combine(day, at)
    found: list[datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if _round_trips(instant, naive, tz) and instant not in found:
            found.append(instant)
    if found:
        return sorted(found)
    # In a gap: fold=1 maps to before the jump, fold=0 to after it. Find the jump (to the
    # second) between the two: the first instant whose local reading is past ``naive``.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if hi < lo:
        lo, hi = hi, lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return [hi]


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at which the clocks of ``tz`` read ``day`` ``at`` (see wall_instants)."""
    return wall_instants(day, at, tz)[0]


@dataclass(frozen=True)
class QuietHours:
    """A window of local wall-clock time without budgeted sends: [start, end). A window whose
    start is later than its end runs over midnight (21:00 to 08:00)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise BudgetConfigError(
                f"quiet hours from {format_time_of_day(self.start)} to "
                f"{format_time_of_day(self.end)}: start and end must differ (an empty or "
                "24-hour window is impossible)"
            )

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        try:
            return cls(parse_time_of_day(start), parse_time_of_day(end))
        except ValueError as exc:
            if isinstance(exc, BudgetConfigError):
                raise
            raise BudgetConfigError(f"quiet hours: {exc}") from exc

    def covers(self, local: time) -> bool:
        """Whether a local wall-clock time falls inside the window."""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def is_quiet(self, at: datetime, tz: ZoneInfo) -> bool:
        return self.covers(at.astimezone(tz).time())

    def next_allowed(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` itself (in UTC) when it is outside the window; else the first instant after
        it at which the candidate's clock has left the window (its end, that morning)."""
        at = at.astimezone(UTC)
        local = at.astimezone(tz)
        if not self.covers(local.time()):
            return at
        today = local.date()
        for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
            for instant in wall_instants(day, self.end, tz):
                if instant > at and not self.is_quiet(instant, tz):
                    return instant
        raise BudgetConfigError("quiet hours never end")  # unreachable: start != end

    def describe(self) -> str:
        return f"{format_time_of_day(self.start)}-{format_time_of_day(self.end)}"


class SendTrace(Protocol):
    """What the budget reads of a send: models.state.SentRecord fits."""

    @property
    def at(self) -> datetime: ...

    @property
    def purpose(self) -> str: ...


@dataclass(frozen=True)
class Sent:
    """A send trace of one's own (e.g. a send decided earlier in the same transition)."""

    at: datetime
    purpose: str
    template: str = ""


DEFAULT_CEILINGS: Mapping[Priority, int | None] = {
    Priority.event_logistics: None,
    Priority.job_alerts: 4,
    Priority.nurture: 2,
    Priority.campaign: 2,
}
DEFAULT_MAX_DEFER: Mapping[Priority, timedelta] = {
    Priority.event_logistics: timedelta(days=1),
    Priority.job_alerts: timedelta(days=1),
    Priority.nurture: timedelta(days=3),
    Priority.campaign: timedelta(days=2),
}


@dataclass(frozen=True)
class ContactBudget:
    window: timedelta = timedelta(days=7)
    ceilings: Mapping[Priority, int | None] = field(default_factory=lambda: dict(DEFAULT_CEILINGS))
    max_defer: Mapping[Priority, timedelta] = field(default_factory=lambda: dict(DEFAULT_MAX_DEFER))
    purposes: frozenset[str] = BUDGETED_PURPOSES

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise BudgetConfigError("budget window must be longer than zero")
        budgeted = [p for p in Priority if p is not Priority.transactional]
        for higher in budgeted:
            for lower in budgeted:
                if PRIORITY_RANK[higher] >= PRIORITY_RANK[lower]:
                    continue
                hi, lo = self.ceilings.get(higher), self.ceilings.get(lower)
                if hi is not None and (lo is None or lo > hi):
                    raise BudgetConfigError(
                        f"budget: {lower.value} may send up to {_room(lo)} but "
                        f"{higher.value} only up to {hi}; a lower priority cannot have more "
                        "room than a higher one"
                    )
        for priority, ceiling in self.ceilings.items():
            if ceiling is not None and ceiling < 0:
                raise BudgetConfigError(f"budget: {priority.value} ceiling must be 0 or more")

    def counted(self, history: Iterable[SendTrace], now: datetime) -> list[datetime]:
        """The times of the budgeted sends inside the window that ends now, oldest first."""
        since = now - self.window
        return sorted(t.at for t in history if t.purpose in self.purposes and t.at > since)

    def describe_window(self) -> str:
        days = self.window / timedelta(days=1)
        return f"{days:g} days" if days >= 1 else f"{self.window.total_seconds() / 3600:g} hours"


Action = Literal["send", "defer", "suppress"]


@dataclass(frozen=True)
class SendVerdict:
    """send now; defer until ``at`` (then ask again); or suppress, with ``reason`` the
    machine word (quiet_hours, frequency_cap) and ``explanation`` the why, in words."""

    action: Action
    at: datetime
    reason: str | None
    explanation: str

    @property
    def allowed(self) -> bool:
        return self.action == "send"


@dataclass(frozen=True)
class ContactPolicy:
    quiet_hours: QuietHours | None = field(
        default_factory=lambda: QuietHours(time(21, 0), time(8, 0))
    )
    budget: ContactBudget | None = field(default_factory=ContactBudget)
    default_timezone: str = "UTC"

    def check(
        self,
        *,
        priority: Priority | str,
        history: Iterable[SendTrace],
        timezone: str | None,
        now: datetime,
        first_tried_at: datetime | None = None,
        not_after: datetime | None = None,
        immediate: bool = False,
    ) -> SendVerdict:
        """May a message of ``priority`` go to this candidate at ``now``?

        ``first_tried_at``: when the message was first held (a deferred message asks again
        when its timer fires; its class's ``max_defer`` counts from the first try).
        ``not_after``: the latest moment the message still makes sense (the caller's own).
        ``immediate``: a direct answer to what the candidate just did (a registration
        confirmation): neither quiet hours nor the budget hold it; it still counts.
        """
        priority = Priority(priority)
        now = now.astimezone(UTC)
        if priority is Priority.transactional:
            return SendVerdict("send", now, None, "transactional: not budgeted")
        if immediate:
            return SendVerdict("send", now, None, "immediate: answers the candidate's own action")
        if not_after is not None and now >= not_after.astimezone(UTC):
            return SendVerdict(
                "suppress",
                now,
                "expired",
                f"the moment for this message ({_iso(not_after)}) has passed",
            )
        notes: list[str] = []
        when = now
        reason: str | None = None
        first = (first_tried_at or now).astimezone(UTC)
        budget = self.budget
        if budget is not None:
            ceiling = budget.ceilings.get(priority)
            if ceiling is not None:
                counted = budget.counted(history, now)
                used = f"{len(counted)} budgeted messages in the last {budget.describe_window()}"
                room = f"{priority.value} may send while fewer than {ceiling}"
                if len(counted) >= ceiling:
                    if ceiling == 0:
                        return SendVerdict(
                            "suppress", now, "frequency_cap", f"budget: {room} (never)"
                        )
                    frees = counted[len(counted) - ceiling] + budget.window
                    limit = first + budget.max_defer.get(priority, timedelta(0))
                    if not_after is not None:
                        limit = min(limit, not_after.astimezone(UTC))
                    if frees > limit:
                        return SendVerdict(
                            "suppress",
                            now,
                            "frequency_cap",
                            f"budget: {used}, {room}; room again at {_iso(frees)}, later "
                            f"than this message may wait ({_iso(limit)})",
                        )
                    when, reason = frees, "frequency_cap"
                    notes.append(f"budget: {used}, {room}; room again at {_iso(frees)}")
                else:
                    notes.append(f"budget: {used}, {room}")
        if self.quiet_hours is not None:
            tz = zone(timezone, self.default_timezone)
            allowed = self.quiet_hours.next_allowed(when, tz)
            if allowed != when:
                where = f"quiet hours {self.quiet_hours.describe()} in {tz.key}"
                if not_after is not None and allowed > not_after.astimezone(UTC):
                    return SendVerdict(
                        "suppress",
                        now,
                        "quiet_hours",
                        f"{where}: the morning ({_iso(allowed)}) is later than this message "
                        f"may wait ({_iso(not_after)})",
                    )
                notes.append(f"{where}: waits until {_iso(allowed)}")
                when = allowed
                reason = reason or "quiet_hours"
            else:
                notes.append(f"outside quiet hours {self.quiet_hours.describe()} in {tz.key}")
        if when <= now:
            return SendVerdict("send", now, None, "; ".join(notes) or "no limits")
        return SendVerdict("defer", when, reason, "; ".join(notes))

    @classmethod
    def from_config(cls, config: str | Mapping[str, Any] | None) -> ContactPolicy:
        """From JSON text or a mapping (an environment variable, a settings file); empty or
        None means the defaults. Refuses an impossible configuration, saying why."""
        if config is None or (isinstance(config, str) and not config.strip()):
            return cls()
        raw: Any = json.loads(config) if isinstance(config, str) else dict(config)
        try:
            parsed = ContactPolicyConfig.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise BudgetConfigError(f"contact policy: {problems}") from exc
        return parsed.build()


def _room(ceiling: int | None) -> str:
    return "any number" if ceiling is None else str(ceiling)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _QuietHoursConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    start: str
    end: str


class _BudgetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    window_days: float = Field(default=7, gt=0, le=366)
    ceilings: dict[Priority, int | None] = Field(default_factory=lambda: dict(DEFAULT_CEILINGS))
    max_defer_hours: dict[Priority, float] = Field(
        default_factory=lambda: {p: d.total_seconds() / 3600 for p, d in DEFAULT_MAX_DEFER.items()}
    )


class ContactPolicyConfig(BaseModel):
    """The configuration's shape: ``{"quiet_hours": {"start": "21:00", "end": "08:00"} | null,
    "budget": {"window_days": 7, "ceilings": {"nurture": 2, ...}, "max_defer_hours": {...}}
    | null, "default_timezone": "Europe/Dublin"}``. Ceilings and delays not named keep their
    defaults."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    quiet_hours: _QuietHoursConfig | None = _QuietHoursConfig(start="21:00", end="08:00")
    budget: _BudgetConfig | None = _BudgetConfig()
    default_timezone: str = "UTC"

    def build(self) -> ContactPolicy:
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BudgetConfigError(
                f"contact policy: default_timezone {self.default_timezone!r} is not an IANA "
                "timezone"
            ) from exc
        quiet = (
            QuietHours.parse(self.quiet_hours.start, self.quiet_hours.end)
            if self.quiet_hours is not None
            else None
        )
        budget = None
        if self.budget is not None:
            ceilings = {**DEFAULT_CEILINGS, **self.budget.ceilings}
            delays = {**DEFAULT_MAX_DEFER}
            for priority, hours in self.budget.max_defer_hours.items():
                if hours < 0:
                    raise BudgetConfigError(f"contact policy: max_defer_hours.{priority} < 0")
                delays[priority] = timedelta(hours=hours)
            budget = ContactBudget(
                window=timedelta(days=self.budget.window_days),
                ceilings=ceilings,
                max_defer=delays,
            )
        return ContactPolicy(
            quiet_hours=quiet, budget=budget, default_timezone=self.default_timezone
        )


# No quiet hours, no budget: what a test or a tool that wants raw journey logic passes.
NO_LIMITS = ContactPolicy(quiet_hours=None, budget=None)
