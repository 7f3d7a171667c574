"""The journey engine: a pure state machine.

(journey definition, instance state, profile, stimulus, now, contact policy)
    -> (new instance state, effects, notes)

A stimulus is a candidate event, a profile change (for segment entries and profile exits) or
a timer firing. Effects are what the caller carries out: SendMessage, SuppressMessage,
ScheduleTimer, CancelTimer, Exit. No AWS and no clock of its own: "now" is an argument, so the
same code runs under Lambda, under the local stack's clock and in unit tests.

How the caller uses it (phase 2): read the candidate's profile and journey instances; call
``dispatch``; write each transition's instance conditionally on the ``seq`` it read (a lost
race re-reads and runs again; the engine is deterministic, so the effects come out the same);
then carry out the effects, each idempotent: a timer is a schedule named ``timer_id``, a send
is a decision whose id derives from ``dedupe_key``.

Decisions (docs/journeys.md says them for marketing ops):

- A ``wait_until`` whose moment has passed when the step is reached (a registration after
  09:00 the day before the event) goes to ``if_past``: by default the next step, at once.
  The event journey jumps over its reminder instead: the confirmation just sent carries the
  same details.
- A candidate event that a ``wait_for`` listens to is remembered when it arrives early (in the
  instance's inbox; the profile's behaviours cover one that arrived before the instance
  began), and counts when the step is reached. The newest such fact wins. An event about
  another subject is remembered only when a wait for it takes any subject: otherwise it
  could never count, and the instance is not written for it.
- A late event, after its ``wait_for`` timed out and the journey went on (Attended after the
  no-show follow-up went out), changes nothing: the candidate has had one follow-up and a
  second, contradicting one would be worse. The timeout is the knob for how late a check-in
  may sync; the event still reaches the profile's behaviours (and with them the careers
  site's blocks).
- A timer that is not the one the instance waits for (an earlier timer that fired after the
  wait was resolved) changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from ..content.rules import Condition, all_hold, condition_fields, explain_held, first_failed
from ..delivery.budget import (
    NO_LIMITS,
    ContactPolicy,
    Priority,
    SendTrace,
    Sent,
    local_to_utc,
    zone,
)
from ..delivery.decide import TriggerFact, candidate_view
from ..delivery.holdouts import held_out
from ..models.state import JOURNEYS_LISTED, Profile
from .fields import behaviour_kind
from .loader import JourneyRegistry
from .model import (
    END,
    NEXT,
    AnyStep,
    BranchStep,
    EndStep,
    ExitCondition,
    Journey,
    SendStep,
    WaitFor,
    WaitForStep,
    WaitStep,
    WaitUntilStep,
)

MAX_STEPS_PER_TRANSITION = 100
TRAIL_LENGTH = 30
EARLY_TIMER_GRACE = timedelta(seconds=60)

# ---------------------------------------------------------------------------------------------
# Stimuli


@dataclass(frozen=True)
class CandidateEvent:
    """A candidate event from the bus (docs/contract.md section 1)."""

    detail_type: str
    event_id: str
    observed_at: datetime
    subject_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)  # {"event": {...}} / {"job": {...}}

    @classmethod
    def from_fact(cls, fact: TriggerFact) -> CandidateEvent:
        return cls(
            detail_type=fact.detail_type,
            event_id=fact.event_id,
            observed_at=fact.observed_at,
            subject_id=fact.subject_id,
            payload=fact.payload,
        )


@dataclass(frozen=True)
class ProfileChanged:
    """`Candidate Profile Changed`: the names of the fields whose value changed."""

    event_id: str
    observed_at: datetime
    changed: frozenset[str]


@dataclass(frozen=True)
class TimerFired:
    instance_id: str
    timer_id: str


Stimulus = CandidateEvent | ProfileChanged | TimerFired

# ---------------------------------------------------------------------------------------------
# Effects


@dataclass(frozen=True)
class SendMessage:
    """Send ``template`` (the catalogue chooses the variant) through the one decision: consent,
    suppression and freshness are still checked at send time. ``dedupe_key`` is the same for
    the same step of the same instance however often the transition is computed."""

    instance_id: str
    journey: str
    version: str
    step: str
    template: str
    purpose: str
    priority: str
    dedupe_key: str
    trigger: Mapping[str, str]  # {"detail_type", "event_id"} of what caused it
    payload: Mapping[str, Any]  # the journey's subject, JSON-ready ({"event": {...}})
    reasons: tuple[str, ...] = ()
    # The step's holdout, if it has one: its name and share (the decision applies it).
    holdout: str | None = None
    holdout_share: float | None = None


@dataclass(frozen=True)
class SuppressMessage:
    """A send the contact policy refused (reason frequency_cap or quiet_hours): record it as a
    suppressed decision and publish Message Suppressed; the journey goes on."""

    instance_id: str
    journey: str
    step: str
    template: str
    purpose: str
    priority: str
    dedupe_key: str
    trigger: Mapping[str, str]
    reason: str
    explanation: str


@dataclass(frozen=True)
class ScheduleTimer:
    """A one-time schedule named ``timer_id`` that fires TimerFired(instance_id, timer_id) at
    ``at`` (and deletes itself)."""

    instance_id: str
    timer_id: str
    at: datetime
    reason: str  # wait, wait_until, timeout, quiet_hours, frequency_cap


@dataclass(frozen=True)
class CancelTimer:
    instance_id: str
    timer_id: str


@dataclass(frozen=True)
class Exit:
    """The instance ended: ``completed`` (ran to its end) or ``exited`` (an exit condition)."""

    instance_id: str
    journey: str
    status: Literal["completed", "exited"]
    reason: str


Effect = SendMessage | SuppressMessage | ScheduleTimer | CancelTimer | Exit
EFFECT_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (SendMessage, SuppressMessage, ScheduleTimer, CancelTimer, Exit)
}


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    """JSON-ready, with ``type``: for an outbox of effects kept with the instance."""
    return {"type": type(effect).__name__, **jsonable(asdict(effect))}


def effect_from_dict(data: Mapping[str, Any]) -> Effect:
    cls = EFFECT_TYPES[str(data["type"])]
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "at":
            value = datetime.fromisoformat(value)
        elif f.name == "reasons":
            value = tuple(value)
        values[f.name] = value
    effect: Effect = cls(**values)
    return effect


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def render_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A SendMessage's JSON payload as delivery.context.render_context takes it (the event's
    ``starts_at`` a datetime again)."""
    out = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in payload.items()
    }
    event = out.get("event")
    if isinstance(event, dict) and "starts_at" in event:
        starts_at = _as_time(event["starts_at"])
        if starts_at is not None:
            event["starts_at"] = starts_at
    return out


# ---------------------------------------------------------------------------------------------
# State


class Waiting(BaseModel):
    """What a paused instance waits for."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    kind: Literal["timer", "events", "send"]
    timer_id: str
    until: datetime
    then: str | None = None  # timer: where to go when it fires
    events: dict[str, str] = Field(default_factory=dict)  # events: detail-type -> step
    subject: Literal["same", "any"] = "same"
    timeout: str | None = None  # events: where to go on the timeout
    since: datetime | None = None  # send: when the message was first held
    held_for: str | None = None  # send: why it was held (quiet_hours, frequency_cap)


class JourneyInstance(BaseModel):
    """One candidate's way through one journey, stored with the candidate."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    instance_id: str
    journey: str
    version: str
    candidate_id: str
    key: str  # one instance at a time per key: "<journey>" or "<journey>#<subject id>"
    subject_id: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)  # the entry's subject, JSON-ready
    status: Literal["active", "completed", "exited"] = "active"
    step: str | None = None
    seq: int = 0  # bumped on every change: the condition of the caller's write
    step_seq: int = 0  # seq when the current step was entered: part of the dedupe key
    waiting: Waiting | None = None
    inbox: dict[str, str] = Field(default_factory=dict)  # "<detail-type>|<subject>" -> at
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    trail: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Transition:
    """The outcome of one stimulus for one journey: the instance as it is now (None when no
    instance was started), the effects to carry out, and why, in words."""

    journey: str
    instance: JourneyInstance | None
    effects: tuple[Effect, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.instance is not None and bool(self.effects or self.notes)


# ---------------------------------------------------------------------------------------------
# The machine


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cause(stimulus: Stimulus) -> dict[str, str]:
    if isinstance(stimulus, CandidateEvent):
        return {"detail_type": stimulus.detail_type, "event_id": stimulus.event_id}
    if isinstance(stimulus, ProfileChanged):
        return {"detail_type": "Candidate Profile Changed", "event_id": stimulus.event_id}
    return {"detail_type": "Journey Timer", "event_id": stimulus.timer_id}


@dataclass
class _Run:
    journey: Journey
    inst: JourneyInstance
    profile: Profile
    now: datetime
    policy: ContactPolicy
    history: list[SendTrace]
    cause: dict[str, str]
    effects: list[Effect] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- helpers ---------------------------------------------------------------------------

    def update(self, **values: Any) -> None:
        self.inst = self.inst.model_copy(update={"updated_at": self.now, **values})

    def note(self, text: str) -> None:
        self.notes.append(text)
        trail = [*self.inst.trail, f"{_iso(self.now)} {text}"][-TRAIL_LENGTH:]
        self.update(trail=trail)

    def context(self) -> dict[str, Any]:
        return {
            "candidate": candidate_view(self.profile),
            "behaviours": dict(self.profile.behaviours),
            **self.inst.context,
        }

    def tz(self) -> ZoneInfo:
        return zone(self.profile.value("timezone"), self.policy.default_timezone)

    def anchor(self, name: str | None) -> datetime | None:
        """The moment an anchor names; None (no anchor) is now, when the step is reached."""
        if name is None:
            return self.now
        if name == "started_at":
            return self.inst.started_at
        head, _, attr = name.partition(".")
        subject = self.inst.context.get(head)
        return _as_time(subject.get(attr)) if isinstance(subject, Mapping) else None

    def holds(self, rules: Iterable[Condition]) -> bool:
        return all_hold(rules, self.context(), self.now)

    def held(self, rules: Sequence[Condition]) -> str:
        """Conditions that hold, in words (which branch of a group held)."""
        return explain_held(rules, self.context(), self.now)

    def failed(self, rules: Sequence[Condition]) -> str | None:
        """The first condition that does not hold, in words; None when all hold."""
        context = self.context()
        condition = first_failed(rules, context, self.now)
        return condition.explain(context, self.now) if condition is not None else None

    def schedule(self, kind: str, until: datetime, reason: str, **waiting: Any) -> None:
        seq = self.inst.seq + 1
        timer_id = f"jt-{self.inst.instance_id}-{seq}"
        self.update(
            seq=seq,
            waiting=Waiting(kind=kind, timer_id=timer_id, until=until, **waiting),  # type: ignore[arg-type]
        )
        self.effects.append(ScheduleTimer(self.inst.instance_id, timer_id, until, reason))

    def cancel_wait(self) -> None:
        if self.inst.waiting is not None:
            self.effects.append(CancelTimer(self.inst.instance_id, self.inst.waiting.timer_id))
            self.update(waiting=None, seq=self.inst.seq + 1)

    def finish(self, status: Literal["completed", "exited"], reason: str) -> None:
        self.cancel_wait()
        self.update(
            status=status,
            ended_at=self.now,
            end_reason=reason,
            seq=self.inst.seq + 1,
        )
        self.note(f"{status}: {reason}")
        self.effects.append(Exit(self.inst.instance_id, self.journey.name, status, reason))

    def profile_exit(self) -> ExitCondition | None:
        for condition in self.journey.exits:
            if condition.event is None and self.holds(condition.when):
                return condition
        return None

    def transition(self) -> Transition:
        return Transition(self.journey.name, self.inst, tuple(self.effects), tuple(self.notes))

    # -- running ---------------------------------------------------------------------------

    def enter(self, step_id: str) -> None:
        """Run from ``step_id`` until the instance waits or ends."""
        for _ in range(MAX_STEPS_PER_TRANSITION):
            if step_id == END:
                self.finish("completed", "completed")
                return
            condition = self.profile_exit()
            if condition is not None:
                self.finish("exited", condition.describe())
                return
            seq = self.inst.seq + 1
            self.update(step=step_id, seq=seq, step_seq=seq, waiting=None)
            nxt = self.execute(self.journey.step(step_id))
            if nxt is None:
                return
            step_id = nxt
        self.finish("exited", "loop_guard")

    def execute(self, step: AnyStep) -> str | None:
        """Carry out one step: the step to go on to, or None when waiting or ended."""
        if isinstance(step, SendStep):
            return self.send(step, since=None)
        if isinstance(step, WaitStep):
            self.schedule(
                "timer", self.now + step.wait, "wait", then=self.journey.resolve(step.id, None)
            )
            self.note(f"{step.id}: waits until {_iso(self.now + step.wait)}")
            return None
        if isinstance(step, WaitUntilStep):
            return self.wait_until(step)
        if isinstance(step, WaitForStep):
            return self.wait_for(step)
        if isinstance(step, BranchStep):
            for case in step.branch:
                if self.holds(case.if_):
                    self.note(f"{step.id}: {self.held(case.if_)} -> {case.goto}")
                    return case.goto
            nxt = self.journey.resolve(step.id, None)
            self.note(f"{step.id}: no case holds -> {nxt}")
            return nxt
        if isinstance(step, EndStep):
            self.finish("completed", step.end)
            return None
        raise AssertionError(f"unknown step {step!r}")  # unreachable: validated at load

    def send(self, step: SendStep, since: datetime | None, held: str | None = None) -> str | None:
        purpose = step.purpose or "marketing"
        priority = Priority(step.priority or self.journey.priority)
        not_after = self.anchor(step.not_after) if step.not_after else None
        verdict = self.policy.check(
            priority=priority,
            history=self.history,
            timezone=self.profile.value("timezone"),
            now=self.now,
            first_tried_at=since,
            not_after=not_after,
            immediate=step.immediate,
        )
        dedupe = f"{self.inst.instance_id}:{step.id}:{self.inst.step_seq}"
        nxt = self.journey.resolve(step.id, None)
        if verdict.action == "defer":
            held_for = verdict.reason or "deferred"
            self.schedule("send", verdict.at, held_for, since=since or self.now, held_for=held_for)
            self.note(f"{step.id}: {step.send} deferred ({verdict.reason}): {verdict.explanation}")
            return None
        if verdict.action == "suppress":
            self.effects.append(
                SuppressMessage(
                    instance_id=self.inst.instance_id,
                    journey=self.journey.name,
                    step=step.id,
                    template=step.send,
                    purpose=purpose,
                    priority=priority.value,
                    dedupe_key=dedupe,
                    trigger=self.cause,
                    reason=verdict.reason or "frequency_cap",
                    explanation=verdict.explanation,
                )
            )
            self.note(f"{step.id}: {step.send} suppressed ({verdict.reason})")
            return nxt
        holdout = step.holdout_name(self.journey.name)
        share = step.holdout.share if step.holdout is not None else None
        out = (
            holdout is not None
            and share is not None
            and held_out(self.inst.candidate_id, holdout, share)
        )
        if not out:  # a held-out candidate is sent nothing: no room of the budget taken
            self.history.append(Sent(self.now, purpose, step.send))
        self.effects.append(
            SendMessage(
                instance_id=self.inst.instance_id,
                journey=self.journey.name,
                version=self.journey.version,
                step=step.id,
                template=step.send,
                purpose=purpose,
                priority=priority.value,
                dedupe_key=dedupe,
                trigger=self.cause,
                payload=dict(self.inst.context),
                reasons=(
                    f"journey {self.journey.name} step {step.id}",
                    *([f"deferred since {_iso(since)} ({held})"] if since and held else []),
                    verdict.explanation,
                ),
                holdout=holdout,
                holdout_share=share,
            )
        )
        self.note(f"{step.id}: send {step.send}" + (f" (held out: {holdout})" if out else ""))
        return nxt

    def wait_until(self, step: WaitUntilStep) -> str | None:
        spec = step.wait_until
        tz = self.tz()
        nxt = self.journey.resolve(step.id, None)
        local_now = self.now.astimezone(tz)
        if spec.anchor is None:
            if spec.until is not None and spec.day == 0 and _inside(spec.at, spec.until, local_now):
                self.note(f"{step.id}: inside the window in {tz.key}")
                return nxt
            day = local_now.date() + timedelta(days=spec.day)
            target = local_to_utc(day, spec.at, tz)
            if spec.day == 0 and target <= self.now:
                target = local_to_utc(day + timedelta(days=1), spec.at, tz)
            self.schedule("timer", target, "wait_until", then=nxt)
            self.note(f"{step.id}: waits until {_iso(target)} ({tz.key})")
            return None
        anchor = self.anchor(spec.anchor)
        if anchor is None:
            self.finish("exited", f"missing_anchor: {spec.anchor}")
            return None
        day = anchor.astimezone(tz).date() + timedelta(days=spec.day)
        start = local_to_utc(day, spec.at, tz)
        end = None
        if spec.until is not None:
            end_day = day if spec.until > spec.at else day + timedelta(days=1)
            end = local_to_utc(end_day, spec.until, tz)
        if self.now < start:
            self.schedule("timer", start, "wait_until", then=nxt)
            self.note(f"{step.id}: waits until {_iso(start)} ({tz.key})")
            return None
        if (end is not None and self.now < end) or (end is None and self.now == start):
            self.note(f"{step.id}: inside the window in {tz.key}")
            return nxt
        late = self.journey.resolve(step.id, spec.if_past)
        self.note(f"{step.id}: {_iso(start)} has passed -> {late}")
        return late

    def seen(self, spec: WaitFor) -> tuple[str, str] | None:
        """The newest already known fact among those a wait_for listens to, as (detail-type,
        when): from the inbox, or from the profile's behaviours."""
        found: list[tuple[datetime, str]] = []
        for on in spec.events:
            for key, at in self.inst.inbox.items():
                detail_type, _, subject = key.partition("|")
                same = subject == (self.inst.subject_id or "")
                if detail_type == on.event and (spec.subject == "any" or same):
                    arrived = _as_time(at)
                    if arrived is not None:
                        found.append((arrived, on.event))
            behaviour = self.profile.behaviours.get(behaviour_kind(on.event)) or {}
            when = _as_time(behaviour.get("at"))
            if when is None:
                continue
            if spec.subject == "same":
                if self.inst.subject_id and behaviour.get("subject_id") == self.inst.subject_id:
                    found.append((when, on.event))
            elif when >= self.inst.started_at:
                found.append((when, on.event))
        if not found:
            return None
        newest, detail_type = max(found)
        return detail_type, _iso(newest)

    def wait_for(self, step: WaitForStep) -> str | None:
        spec = step.wait_for
        gotos: dict[str, str] = {
            on.event: self.journey.resolve(step.id, on.goto) for on in spec.events
        }
        timeout = self.journey.resolve(step.id, spec.timeout.goto)
        known = self.seen(spec)
        if known is not None:
            detail_type, when = known
            self.note(f"{step.id}: {detail_type} already known ({when}) -> {gotos[detail_type]}")
            return gotos[detail_type]
        base = self.anchor(spec.timeout.from_)
        if base is None:
            self.finish("exited", f"missing_anchor: {spec.timeout.from_}")
            return None
        deadline = base + spec.timeout.after
        if deadline <= self.now:
            self.note(f"{step.id}: deadline {_iso(deadline)} has passed -> {timeout}")
            return timeout
        self.schedule(
            "events",
            deadline,
            "timeout",
            events=gotos,
            subject=spec.subject,
            timeout=timeout,
        )
        self.note(f"{step.id}: waits for {', '.join(gotos)} until {_iso(deadline)}")
        return None

    # -- stimuli on a running instance --------------------------------------------------

    def on_event(self, event: CandidateEvent) -> None:
        same = event.subject_id is not None and event.subject_id == self.inst.subject_id
        for condition in self.journey.exits:
            if condition.event != event.detail_type:
                continue
            if condition.subject == "same" and not same:
                continue
            if self.holds(condition.when):
                self.finish("exited", condition.describe())
                return
        # Remembered only where a wait_for could count it (``seen``): an event about another
        # subject, when every wait for it is about this journey's own subject, would change
        # nothing but the instance (a write for each, and an inbox without bound).
        key_subject = event.subject_id or ""
        listened = any(
            on.event == event.detail_type
            and (s.wait_for.subject == "any" or key_subject == (self.inst.subject_id or ""))
            for s in self.journey.steps
            if isinstance(s, WaitForStep)
            for on in s.wait_for.events
        )
        if listened:
            # The newest observation of each kind is kept: an older one arriving late (out
            # of order) must not make an earlier fact look like the latest in ``seen``.
            key = f"{event.detail_type}|{key_subject}"
            kept = _as_time(self.inst.inbox.get(key))
            if kept is None or event.observed_at > kept:
                inbox = {**self.inst.inbox, key: event.observed_at.isoformat()}
                self.update(inbox=inbox, seq=self.inst.seq + 1)
        waiting = self.inst.waiting
        if (
            waiting is not None
            and waiting.kind == "events"
            and event.detail_type in waiting.events
            and (waiting.subject == "any" or same)
        ):
            target = waiting.events[event.detail_type]
            self.cancel_wait()
            self.note(f"{self.inst.step}: {event.detail_type} -> {target}")
            self.enter(target)
            return
        if listened:
            self.note(f"{event.detail_type} noted (not waited for at {self.inst.step})")
        self.check_profile_exit()

    def check_profile_exit(self) -> None:
        condition = self.profile_exit()
        if condition is not None:
            self.finish("exited", condition.describe())

    def on_timer(self, timer: TimerFired) -> None:
        waiting = self.inst.waiting
        if waiting is None or waiting.timer_id != timer.timer_id:
            self.notes.append(f"timer {timer.timer_id} is not awaited: ignored")
            return
        if self.now < waiting.until - EARLY_TIMER_GRACE:
            # Fired early: wait on, under a new timer (the schedule deleted itself).
            self.schedule(waiting.kind, waiting.until, "early_timer", **_rest(waiting))
            self.note(f"timer fired before {_iso(waiting.until)}: waits on")
            return
        self.update(waiting=None, seq=self.inst.seq + 1)
        if waiting.kind == "timer":
            self.enter(waiting.then or END)
        elif waiting.kind == "events":
            self.note(f"{self.inst.step}: timeout -> {waiting.timeout}")
            self.enter(waiting.timeout or END)
        else:
            condition = self.profile_exit()
            if condition is not None:
                self.finish("exited", condition.describe())
                return
            step = self.journey.step(self.inst.step or "")
            assert isinstance(step, SendStep)
            nxt = self.send(step, since=waiting.since, held=waiting.held_for)
            if nxt is not None:
                self.enter(nxt)


def _rest(waiting: Waiting) -> dict[str, Any]:
    return {
        "then": waiting.then,
        "events": waiting.events,
        "subject": waiting.subject,
        "timeout": waiting.timeout,
        "since": waiting.since,
        "held_for": waiting.held_for,
    }


def _inside(start: Any, end: Any, local: datetime) -> bool:
    now = local.time().replace(tzinfo=None)
    if start < end:
        return bool(start <= now < end)
    return bool(now >= start or now < end)


def _history(profile: Profile | None, history: list[SendTrace] | None) -> list[SendTrace]:
    if history is not None:
        return history
    return list(profile.recent.values()) if profile is not None else []


# ---------------------------------------------------------------------------------------------
# Public API


def entry_matches(journey: Journey, stimulus: Stimulus) -> bool:
    entry = journey.entry
    if entry.event is not None:
        return isinstance(stimulus, CandidateEvent) and stimulus.detail_type == entry.event
    if not isinstance(stimulus, ProfileChanged) or not entry.segment:
        return False
    named = {f.removeprefix("candidate.") for f in condition_fields(entry.segment)}
    return bool(named & set(stimulus.changed))


def watched_fields(journeys: Iterable[Journey]) -> frozenset[str]:
    """The profile fields a `Candidate Profile Changed` can act through: those a segment
    entry names, and those (``candidate.<name>``) a profile exit names. A change of any
    other field cannot start a journey (entry_matches) nor end one: a profile exit that
    names none of the changed fields reads what it read when the journey last moved, and it
    is checked again whenever the journey moves (a behaviour is noted by the event that is
    its own stimulus; the passing of time by the timers)."""
    named: set[str] = set()
    for journey in journeys:
        if journey.entry.segment:
            named |= condition_fields(journey.entry.segment)
        for condition in journey.exits:
            if condition.event is None:
                named |= condition_fields(condition.when)
    return frozenset(f.removeprefix("candidate.") for f in named if f.startswith("candidate."))


def listens_of(journey: Journey, instance: JourneyInstance) -> frozenset[str]:
    """What a candidate event must bring for ``instance`` (of ``journey``, the version it
    runs) to hear it, the profile's summary of it (``Profile.journey_listens``):

    - ``about:<subject>``: its subject ("" for none). An event about it may meet an exit or
      a wait about the same subject, go to its inbox, or be a late outcome it owns
      (``JourneyRuntime._followed``); and the instance's key blocks a second entry.
    - ``event:<detail-type>``: the events it hears about any subject: an exit or a wait_for
      that takes any subject.
    - ``behaviour:<kind>``: the behaviours a profile exit reads (the event that notes one
      may end the instance on the spot).
    - ``journey:<name>``: a journey one per candidate, whose instance blocks a second entry
      whatever the event's subject.

    An event that brings none of these moves no instance of the candidate's and is owned by
    none (``needs_instances``)."""
    listens = {f"about:{instance.subject_id or ''}"}
    for condition in journey.exits:
        if condition.event is not None and condition.subject == "any":
            listens.add(f"event:{condition.event}")
        if condition.event is None:
            for name in condition_fields(condition.when):
                if name.startswith("behaviours."):
                    listens.add(f"behaviour:{name.split('.')[1]}")
    for step in journey.steps:
        if isinstance(step, WaitForStep) and step.wait_for.subject == "any":
            listens |= {f"event:{on.event}" for on in step.wait_for.events}
    if "#" not in instance.key:
        listens.add(f"journey:{journey.name}")
    return frozenset(listens)


def needs_instances(
    journeys: Iterable[Journey], listens: frozenset[str] | None, event: CandidateEvent
) -> bool:
    """Whether ``event`` can do anything to or with the candidate's stored journey instances,
    given the profile's summary of them (``listens``, which ``listens_of`` wrote for each;
    None or without JOURNEYS_LISTED: unknown) and the ``journeys`` that may start on it.
    False only when no instance hears it (``listens_of``) and no journey it starts is one
    per candidate with an instance already: then ``dispatch`` moves nothing it would have
    read, and starts what it would have started. Two things wait for the instance's next
    move instead (a timer, or an event it hears; it is read then, before it sends): a
    profile exit on a candidate field (as on a profile change, ``watched_fields``), and an
    instance whose version is gone."""
    if listens is None or JOURNEYS_LISTED not in listens:
        return True
    if (
        f"about:{event.subject_id or ''}" in listens
        or f"event:{event.detail_type}" in listens
        or f"behaviour:{behaviour_kind(event.detail_type)}" in listens
    ):
        return True
    return any(
        journey.entry.event == event.detail_type
        and "#" not in instance_key(journey, event)[0]
        and f"journey:{journey.name}" in listens
        for journey in journeys
    )


def instance_key(journey: Journey, stimulus: Stimulus) -> tuple[str, str | None]:
    subject = stimulus.subject_id if isinstance(stimulus, CandidateEvent) else None
    if journey.entry.per_subject and subject:
        return f"{journey.name}#{subject}", subject
    return journey.name, subject


def instance_id_for(journey: Journey, candidate_id: str, stimulus: Stimulus) -> str:
    """Same entry fact (detail-type, subject, observed_at; docs/contract.md section 1), same id:
    a redelivered or re-sent entry event cannot start a second instance."""
    if isinstance(stimulus, CandidateEvent):
        fact = (
            f"{stimulus.detail_type}|{stimulus.subject_id or ''}|{stimulus.observed_at.isoformat()}"
        )
    elif isinstance(stimulus, ProfileChanged):
        fact = f"segment|{','.join(sorted(stimulus.changed))}|{stimulus.observed_at.isoformat()}"
    else:
        fact = f"timer|{stimulus.timer_id}"
    key, _ = instance_key(journey, stimulus)
    digest = hashlib.sha256(f"{journey.name}|{candidate_id}|{key}|{fact}".encode())
    return digest.hexdigest()[:24]


def start(
    journey: Journey,
    *,
    candidate_id: str,
    profile: Profile | None,
    stimulus: Stimulus,
    now: datetime,
    previous: Sequence[JourneyInstance] = (),
    policy: ContactPolicy = NO_LIMITS,
    history: list[SendTrace] | None = None,
) -> Transition | None:
    """Start ``journey`` for the candidate if ``stimulus`` is its entry and the entry
    conditions and re-entry policy allow. None when the stimulus is not this journey's
    entry; a Transition without instance (and notes saying why) when entry is refused."""
    if not entry_matches(journey, stimulus):
        return None

    def refused(why: str) -> Transition:
        return Transition(journey.name, None, (), (f"{journey.name}: not entered: {why}",))

    if profile is None:
        return refused("unknown candidate")
    key, subject_id = instance_key(journey, stimulus)
    instance_id = instance_id_for(journey, candidate_id, stimulus)
    same = [p for p in previous if p.journey == journey.name and p.key == key]
    if any(p.instance_id == instance_id for p in same):
        return refused("this fact started an instance already")
    if any(p.status == "active" for p in same):
        return refused("an instance is in progress")
    ended = [p.ended_at for p in same if p.ended_at is not None]
    policy_name = journey.re_entry.policy
    if same and policy_name == "never":
        return refused("re-entry: never")
    if ended and policy_name == "after" and journey.re_entry.after is not None:
        again = max(ended) + journey.re_entry.after
        if now < again:
            return refused(f"re-entry: not before {_iso(again)}")
    payload = jsonable(stimulus.payload) if isinstance(stimulus, CandidateEvent) else {}
    instance = JourneyInstance(
        instance_id=instance_id,
        journey=journey.name,
        version=journey.version,
        candidate_id=candidate_id,
        key=key,
        subject_id=subject_id,
        context=payload,
        started_at=now,
        updated_at=now,
    )
    run = _Run(
        journey,
        instance,
        profile,
        now,
        policy,
        _history(profile, history),
        _cause(stimulus),
    )
    segment_and_conditions = (*(journey.entry.segment or ()), *journey.entry.when)
    failed = run.failed(segment_and_conditions)
    if failed is not None:
        return refused(f"{failed} does not hold")
    condition = run.profile_exit()
    if condition is not None:
        return refused(f"exit condition holds already: {condition.describe()}")
    run.note(f"entered on {_cause(stimulus)['detail_type']} (version {journey.version})")
    run.enter(journey.steps[0].id)
    return run.transition()


def advance(
    journey: Journey,
    instance: JourneyInstance,
    *,
    profile: Profile | None,
    stimulus: Stimulus,
    now: datetime,
    policy: ContactPolicy = NO_LIMITS,
    history: list[SendTrace] | None = None,
) -> Transition:
    """Move a running instance on ``stimulus``. ``journey`` must be the version the instance
    started on."""
    if journey.name != instance.journey or journey.version != instance.version:
        raise ValueError(
            f"instance runs on {instance.journey} version {instance.version}, not "
            f"{journey.name} version {journey.version}"
        )
    if instance.status != "active":
        what = stimulus.detail_type if isinstance(stimulus, CandidateEvent) else "stimulus"
        ended = f"{instance.status} ({instance.end_reason})"
        note = f"{journey.name}: instance {ended}: late {what} ignored"
        return Transition(journey.name, instance, (), (note,))
    if profile is None:
        ghost = Profile(candidate_id=instance.candidate_id)
        run = _Run(journey, instance, ghost, now, policy, [], _cause(stimulus))
        run.finish("exited", "unknown_candidate")
        return run.transition()
    run = _Run(
        journey,
        instance,
        profile,
        now,
        policy,
        _history(profile, history),
        _cause(stimulus),
    )
    if isinstance(stimulus, TimerFired):
        if stimulus.instance_id != instance.instance_id:
            return Transition(journey.name, instance, (), ("timer of another instance",))
        run.on_timer(stimulus)
    elif isinstance(stimulus, CandidateEvent):
        run.on_event(stimulus)
    else:
        run.check_profile_exit()
    return run.transition()


def dispatch(
    registry: JourneyRegistry,
    instances: Sequence[JourneyInstance],
    *,
    candidate_id: str,
    profile: Profile | None,
    stimulus: Stimulus,
    now: datetime,
    policy: ContactPolicy = NO_LIMITS,
) -> list[Transition]:
    """Everything one stimulus does to one candidate's journeys: the running instances move
    (a timer only its own), then journeys whose entry it is start. Sends decided earlier in
    the same call count toward the budget of later ones."""
    history = _history(profile, None)
    transitions: list[Transition] = []
    current = list(instances)
    for index, instance in enumerate(current):
        if instance.status != "active":
            continue
        if isinstance(stimulus, TimerFired) and stimulus.instance_id != instance.instance_id:
            continue
        journey = registry.get(instance.journey, instance.version)
        if journey is None:
            transitions.append(_orphaned(instance, now))
        else:
            transitions.append(
                advance(
                    journey,
                    instance,
                    profile=profile,
                    stimulus=stimulus,
                    now=now,
                    policy=policy,
                    history=history,
                )
            )
        updated = transitions[-1].instance
        if updated is not None:
            current[index] = updated
    if not isinstance(stimulus, TimerFired):
        for journey in registry.current():
            started = start(
                journey,
                candidate_id=candidate_id,
                profile=profile,
                stimulus=stimulus,
                now=now,
                previous=current,
                policy=policy,
                history=history,
            )
            if started is None:
                continue
            transitions.append(started)
            if started.instance is not None:
                current.append(started.instance)
    return transitions


def _orphaned(instance: JourneyInstance, now: datetime) -> Transition:
    """An instance whose journey version is no longer known cannot run on: it ends, sending
    nothing (the version store should make this never happen)."""
    effects: list[Effect] = []
    if instance.waiting is not None:
        effects.append(CancelTimer(instance.instance_id, instance.waiting.timer_id))
    reason = "version_unavailable"
    effects.append(Exit(instance.instance_id, instance.journey, "exited", reason))
    ended = instance.model_copy(
        update={
            "status": "exited",
            "ended_at": now,
            "end_reason": reason,
            "waiting": None,
            "seq": instance.seq + 1,
            "updated_at": now,
        }
    )
    note = f"{instance.journey}: version {instance.version} unavailable: exited"
    return Transition(instance.journey, ended, tuple(effects), (note,))


__all__ = [
    "NEXT",
    "CancelTimer",
    "CandidateEvent",
    "Effect",
    "Exit",
    "JourneyInstance",
    "ProfileChanged",
    "ScheduleTimer",
    "SendMessage",
    "Stimulus",
    "SuppressMessage",
    "TimerFired",
    "Transition",
    "Waiting",
    "advance",
    "dispatch",
    "effect_from_dict",
    "effect_to_dict",
    "entry_matches",
    "instance_id_for",
    "render_payload",
    "start",
    "watched_fields",
]
