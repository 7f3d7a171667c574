"""The journey definition: what a journey file (templates/journeys/<name>.yaml) says, as
validated models. docs/journeys.md describes the format for the people who write them.

A journey is an entry (a candidate event, or joining a segment), steps, exit conditions and a
re-entry policy. Steps are one of:

- ``send``: a message of the catalogue (its purpose and variants are the catalogue's);
- ``wait``: a duration (``3d``, ``12h``, ``1d 12h``);
- ``wait_until``: a local time of day in the candidate's timezone, optionally relative to a
  time of the journey's subject (``09:00`` the day before ``event.starts_at``), optionally a
  window (``at`` to ``until``);
- ``wait_for``: one of several candidate events, with a timeout; it branches on which came;
- ``branch``: on conditions of the profile (the catalogue's rule ops);
- ``end``: the journey completes, with a word saying how.

``Journey.version`` is a hash of the validated content: an instance records the version it
started on and finishes on it, whatever is deployed later.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import time, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    model_validator,
)

from ..content.catalogue import Holdout
from ..content.rules import Condition
from ..delivery.budget import Priority, format_time_of_day, parse_time_of_day
from .fields import CANDIDATE_EVENTS

FORMAT = 1
END = "end"  # a step reference: the journey completes here
NEXT = "next"  # a step reference: the step after this one in the file
STEP_KINDS = ("send", "wait", "wait_until", "wait_for", "branch", "end")
RESERVED_IDS = frozenset({END, NEXT})
MAX_WAIT = timedelta(days=366)

_DURATION_PART = re.compile(
    r"(\d+)\s*(d|day|days|h|hr|hour|hours|m|min|minute|minutes|s|sec|second|seconds)\b",
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: Any) -> timedelta:
    """``"3d"``, ``"12h"``, ``"90m"``, ``"1d 12h"``, ``"3 days"`` -> timedelta (more than zero,
    at most 366 days)."""
    if isinstance(value, timedelta):
        total = value
    else:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{value!r} is not a duration: write e.g. '3d', '12h', '1d 12h'")
        text = value.strip().lower()
        parts = list(_DURATION_PART.finditer(text))
        rest = _DURATION_PART.sub("", text).replace(",", "").strip()
        if not parts or rest:
            raise ValueError(f"{value!r} is not a duration: write e.g. '3d', '12h', '1d 12h'")
        seconds = sum(int(p[1]) * _UNIT_SECONDS[p[2][0]] for p in parts)
        total = timedelta(seconds=seconds)
    if total <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    if total > MAX_WAIT:
        raise ValueError("a duration may be at most 366 days")
    return total


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    out = []
    for unit, size in _UNIT_SECONDS.items():
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(out) or "0s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
TimeOfDay = Annotated[
    time, BeforeValidator(parse_time_of_day), PlainSerializer(format_time_of_day, return_type=str)
]
StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
MessageName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Word = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
EventType = Literal[
    "Candidate Event Registered",
    "Candidate Event Attended",
    "Candidate Event No-Show",
    "Candidate Job Viewed",
    "Candidate Application Started",
    "Candidate Application Submitted",
    "Candidate Page Viewed",
    "Candidate Profile Updated",
    "Candidate Consent Changed",
]
assert set(EventType.__args__) == set(CANDIDATE_EVENTS)  # type: ignore[attr-defined]
# A moment a wait can be measured from: a time of the journey's subject, or when the journey
# started. Without one, a wait counts from the moment its step is reached.
Anchor = Literal["event.starts_at", "started_at"]
Purpose = Literal["events", "job_alerts", "marketing", "transactional"]
Category = Literal["event_logistics", "job_alerts", "nurture"]

CATEGORY_PRIORITY: dict[str, Priority] = {
    "event_logistics": Priority.event_logistics,
    "job_alerts": Priority.job_alerts,
    "nurture": Priority.nurture,
}
CATEGORY_PURPOSE: dict[str, str] = {
    "event_logistics": "events",
    "job_alerts": "job_alerts",
    "nurture": "marketing",
}


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )


class _Step(_Model):
    id: StepId
    description: str | None = None
    # Where to go after this step: a step id, "end", or (the default) the next step.
    then: StepId | None = None


class SendStep(_Step):
    send: MessageName
    # The catalogue's purpose; stating it here is a check (loading refuses a mismatch).
    purpose: Purpose | None = None
    # Who yields when the contact budget is tight; default: the journey's category.
    priority: Priority | None = None
    # A direct answer to the candidate's own action (a registration confirmation): neither
    # quiet hours nor the budget hold it back (it still counts toward the budget).
    immediate: bool = False
    # A deferred send past this moment is pointless (a reminder after the event): suppressed.
    not_after: Anchor | None = None
    # A share of the candidates who reach this step are held out of its message (decided,
    # then suppressed with reason holdout): `holdout: 0.1`, or {share, name}; the name
    # defaults to "<journey>.<step id>".
    holdout: Holdout | None = None

    def holdout_name(self, journey: str) -> str | None:
        if self.holdout is None:
            return None
        return self.holdout.name or f"{journey}.{self.id}"


class WaitStep(_Step):
    wait: Duration


class WaitUntil(_Model):
    at: TimeOfDay
    # With until: a window [at, until) of local time; reached inside it, the step goes on at
    # once. A window with until before at runs over midnight.
    until: TimeOfDay | None = None
    # Days from the anchor's local date (-1: the day before).
    day: int = Field(default=0, ge=-60, le=60)
    anchor: Anchor | None = None
    # Reached after the moment (only with an anchor): go on to "next" (default) or jump.
    if_past: StepId = NEXT

    @model_validator(mode="after")
    def _possible(self) -> WaitUntil:
        if self.until is not None and self.until == self.at:
            raise ValueError(
                f"the window {format_time_of_day(self.at)} to {format_time_of_day(self.until)} "
                "is empty: until must differ from at"
            )
        if self.anchor is None and self.if_past != NEXT:
            raise ValueError("if_past needs an anchor (without one the time is never past)")
        if self.anchor is None and self.day < 0:
            raise ValueError("a day before needs an anchor (the day before what?)")
        return self


class WaitUntilStep(_Step):
    wait_until: WaitUntil


class OnEvent(_Model):
    event: EventType
    goto: StepId | None = None  # default: the step's then (or the next step)


class Timeout(_Model):
    after: Duration
    from_: Anchor | None = Field(default=None, alias="from")
    goto: StepId | None = None


class WaitFor(_Model):
    events: tuple[OnEvent, ...] = Field(min_length=1)
    # "same": only events about this journey's subject (this event, this job); "any": any.
    subject: Literal["same", "any"] = "same"
    timeout: Timeout

    @model_validator(mode="after")
    def _distinct(self) -> WaitFor:
        names = [e.event for e in self.events]
        if len(set(names)) != len(names):
            raise ValueError("each event may be waited for once")
        return self


class WaitForStep(_Step):
    wait_for: WaitFor


class BranchCase(_Model):
    if_: tuple[Condition, ...] = Field(alias="if", min_length=1)
    goto: StepId


class BranchStep(_Step):
    # The first case whose conditions all hold; none: then (or the next step).
    branch: tuple[BranchCase, ...] = Field(min_length=1)


class EndStep(_Model):
    id: StepId
    description: str | None = None
    end: Word = "completed"


STEP_MODELS: dict[str, type[_Model]] = {
    "send": SendStep,
    "wait": WaitStep,
    "wait_until": WaitUntilStep,
    "wait_for": WaitForStep,
    "branch": BranchStep,
    "end": EndStep,
}


def step_kind(value: Any) -> str | None:
    """Which kind of step a mapping or a model is (the key among STEP_KINDS it has)."""
    if isinstance(value, dict):
        kinds = [k for k in STEP_KINDS if k in value]
        return kinds[0] if len(kinds) == 1 else None
    for kind, model in STEP_MODELS.items():
        if isinstance(value, model):
            return kind
    return None


AnyStep = SendStep | WaitStep | WaitUntilStep | WaitForStep | BranchStep | EndStep
Step = Annotated[
    Annotated[SendStep, Tag("send")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[WaitUntilStep, Tag("wait_until")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[EndStep, Tag("end")],
    Discriminator(step_kind),
]


class Entry(_Model):
    # Exactly one of: a candidate event, or a segment (conditions on the profile) joined.
    event: EventType | None = None
    segment: tuple[Condition, ...] | None = None
    # Further conditions on the profile at entry.
    when: tuple[Condition, ...] = ()
    # One instance per subject (per event, per job) or per candidate. Default: per subject
    # when the entry event has one.
    one_per: Literal["subject", "candidate"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Entry:
        if (self.event is None) == (self.segment is None):
            raise ValueError("an entry is either an event or a segment (exactly one of them)")
        if self.segment is not None and not self.segment:
            raise ValueError("a segment needs at least one condition")
        if self.one_per == "subject" and self.subject is None:
            raise ValueError("one_per: subject needs an entry event that has a subject")
        return self

    @property
    def subject(self) -> str | None:
        """What the journey is about: "event", "job" or nothing."""
        return CANDIDATE_EVENTS.get(self.event) if self.event is not None else None

    @property
    def per_subject(self) -> bool:
        if self.one_per is not None:
            return self.one_per == "subject"
        return self.subject is not None


class ExitCondition(_Model):
    # A candidate event (with conditions, if any), or conditions on the profile alone (checked
    # whenever the journey moves).
    event: EventType | None = None
    subject: Literal["same", "any"] = "any"
    when: tuple[Condition, ...] = ()
    reason: Word | None = None

    @model_validator(mode="after")
    def _something(self) -> ExitCondition:
        if self.event is None and not self.when:
            raise ValueError("an exit condition needs an event or conditions (when)")
        return self

    def describe(self) -> str:
        if self.reason:
            return self.reason
        if self.event is not None:
            return self.event
        return "; ".join(r.describe() for r in self.when)


class ReEntry(_Model):
    """May a candidate go through the journey again (per subject or candidate, as ``one_per``
    says)? ``never``; ``always`` (once the previous instance has ended); ``{after: 14d}``: once
    that long has passed since the previous one ended. An instance in progress always blocks
    a second one."""

    policy: Literal["never", "always", "after"]
    after: Duration | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"policy": value}
        if isinstance(value, dict) and "policy" not in value and "after" in value:
            return {"policy": "after", **value}
        return value

    @model_validator(mode="after")
    def _after_given(self) -> ReEntry:
        if (self.policy == "after") != (self.after is not None):
            raise ValueError("re_entry is never, always, or {after: <duration>}")
        return self


_CACHED = ("version", "_index")

# Every nurture journey exits when the candidate applies, whatever its file says.
NURTURE_EXITS = (ExitCondition(event="Candidate Application Submitted", reason="applied"),)


class Journey(_Model):
    format: Literal[1] = 1
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
    description: str | None = None
    category: Category
    entry: Entry
    re_entry: ReEntry = ReEntry(policy="never")
    exit: tuple[ExitCondition, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Journey:
        """A copy, without the cached version and step index of the original."""
        copy = super().model_copy(update=update, deep=deep)
        for cached in _CACHED:
            copy.__dict__.pop(cached, None)
        return copy

    @cached_property
    def version(self) -> str:
        """A hash of the content (not of the file's comments or layout): same journey, same
        version."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    def canonical_json(self) -> str:
        """The journey as JSON, keys sorted: what a version store keeps, and what the version
        hashes."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_canonical_json(cls, text: str) -> Journey:
        return cls.model_validate_json(text)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {step.id: i for i, step in enumerate(self.steps)}

    def step(self, step_id: str) -> AnyStep:
        return self.steps[self._index[step_id]]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._index

    def following(self, step_id: str) -> str:
        """The step after ``step_id`` in the file, or END after the last one."""
        index = self._index[step_id] + 1
        return self.steps[index].id if index < len(self.steps) else END

    def resolve(self, step_id: str, target: str | None) -> str:
        """A step reference as the engine follows it: None or "next" is the following step
        (or the step's ``then``, where it has one), "end" ends."""
        if target is None or target == NEXT:
            then = getattr(self.step(step_id), "then", None)
            if then is not None and then != NEXT:
                return then
            return self.following(step_id)
        return target

    @property
    def priority(self) -> Priority:
        return CATEGORY_PRIORITY[self.category]

    @property
    def exits(self) -> tuple[ExitCondition, ...]:
        """The file's exit conditions, plus NURTURE_EXITS for a nurture journey."""
        if self.category == "nurture":
            return self.exit + tuple(e for e in NURTURE_EXITS if e not in self.exit)
        return self.exit
