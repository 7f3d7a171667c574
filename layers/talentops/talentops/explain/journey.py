"""Explain a journey for one candidate: did they enter it (or would they, now), and what would
its next step do, from the journey engine itself (journeys.engine.start and advance).

Nothing is written: the engine is pure, and its effects are only read here.

- A candidate with an instance in progress: where it stands, then the engine runs it on as
  its timers would (a wait's end, a wait_for's timeout: assuming no awaited event arrives,
  which a step says) until it sends, suppresses a send, or ends.
- Without one: ``start`` with the journey's entry as it would come at ``at``: the entry
  event about the subject the candidate last had that event for (its listing's details, so
  that the entry's conditions on the event's start can hold), or a segment entry's profile
  change. A refusal (entry conditions, re-entry, an exit condition that holds already)
  is ``not_eligible`` / ``not_entered`` with the engine's own words. When entered, it runs on
  as above.

The outcome is the next send's: its message explained by ``explain_send`` (the delivery's
one decision, at the moment the journey would send it), ``defer`` (reason quiet_hours or
frequency_cap) when the contact policy holds it first, ``suppress`` when the contact policy
drops it; ``not_eligible`` with the end reason (a word such as ``no_role_family``,
``applied``, ``completed``) when the journey ends before sending anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..content.rules import condition_fields
from ..delivery.budget import ContactPolicy
from ..journeys.engine import (
    CandidateEvent,
    Effect,
    JourneyInstance,
    ProfileChanged,
    SendMessage,
    Stimulus,
    SuppressMessage,
    TimerFired,
    advance,
    start,
)
from ..journeys.model import Journey
from ..models.state import Profile
from .message import Explanation, Step

MAX_HOPS = 12
NOT_ENTERED = "not_entered"
_WORD = re.compile(r"^[a-z][a-z0-9_]{0,47}$")

ExplainSend = Callable[[SendMessage, datetime], Explanation]


@dataclass(frozen=True)
class EntryFact:
    """What a hypothetical entry event would be about: its subject (id and the payload the
    journey's context keeps, ``{"event": {...}}``) and where that came from, in words."""

    subject_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""


def entry_stimulus(journey: Journey, at: datetime, entry: EntryFact) -> Stimulus:
    """The journey's entry as it would come at ``at``."""
    if journey.entry.event is not None:
        return CandidateEvent(
            detail_type=journey.entry.event,
            event_id=f"explain-{journey.name}",
            observed_at=at,
            subject_id=entry.subject_id,
            payload=dict(entry.payload),
        )
    fields = condition_fields(journey.entry.segment or ())
    named = frozenset(f.removeprefix("candidate.") for f in fields)
    return ProfileChanged(f"explain-{journey.name}", at, named)


def _end_reason(instance: JourneyInstance) -> str:
    reason = instance.end_reason or instance.status
    return reason if _WORD.match(reason) else instance.status


def _notes(notes: Sequence[str], name: str, act: Effect | None) -> list[Step]:
    """The engine's notes as steps, up to the send (the next-send step says it)."""
    out = []
    for note in notes:
        text = note.removeprefix(f"{name}: ")
        if isinstance(act, SendMessage | SuppressMessage) and text.startswith(
            (f"{act.step}: send ", f"{act.step}: {act.template} suppressed")
        ):
            break
        # The entry and a deferral have steps of their own.
        if not text.startswith("entered on ") and " deferred (" not in text:
            out.append(Step("journey", True, text))
    return out


def explain_journey(
    *,
    journey: Journey,
    profile: Profile,
    instances: Sequence[JourneyInstance],
    version_of: Callable[[str], Journey | None],
    at: datetime,
    contact: ContactPolicy,
    entry: EntryFact,
    explain_send: ExplainSend,
) -> Explanation:
    """Whether ``profile`` is in (or would enter) ``journey`` at ``at``, and what its next
    step would do. ``instances``: all of the candidate's journey instances;
    ``version_of(version)``: the journey at that version (an instance finishes on the
    version it started on)."""
    subject: dict[str, Any] = {"journey": journey.name, "version": journey.version}
    mine = sorted((i for i in instances if i.journey == journey.name), key=lambda i: i.started_at)
    active = [i for i in mine if i.status == "active"]
    steps: list[Step] = []

    def done(outcome: Any, reason: str | None, variant: str | None = None) -> Explanation:
        return Explanation(
            candidate_id=profile.candidate_id,
            subject=subject,
            at=at,
            outcome=outcome,
            reason=reason,
            variant=variant,
            steps=steps,
        )

    effects: Sequence[Effect] = ()
    notes: Sequence[str] = ()
    if active:
        current = active[-1]
        runs_on = version_of(current.version)
        subject.update(version=current.version, instance_id=current.instance_id)
        steps.append(
            Step(
                "journey entry",
                True,
                f"entered {current.started_at.isoformat()} (version {current.version}); "
                f"now at step {current.step}",
            )
        )
        if runs_on is None:
            steps.append(
                Step("journey version", False, f"version {current.version} is not known here")
            )
            return done("not_eligible", "version_unavailable")
    else:
        for earlier in mine[-1:]:
            ended = earlier.ended_at.isoformat() if earlier.ended_at else "?"
            steps.append(
                Step(
                    "earlier instance",
                    True,
                    f"entered {earlier.started_at.isoformat()}, {earlier.status} {ended} "
                    f"({earlier.end_reason})",
                )
            )
        runs_on = journey
        stimulus = entry_stimulus(journey, at, entry)
        started = start(
            journey,
            candidate_id=profile.candidate_id,
            profile=profile,
            stimulus=stimulus,
            now=at,
            previous=list(instances),
            policy=contact,
        )
        what = (
            f"{journey.entry.event} at {at.isoformat()}"
            if journey.entry.event
            else f"a change of {', '.join(sorted(getattr(stimulus, 'changed', ())))} "
            f"at {at.isoformat()}"
        )
        where = f" ({entry.why})" if entry.why else ""
        if started is None or started.instance is None:
            why = "; ".join(
                n.removeprefix(f"{journey.name}: ") for n in (started.notes if started else ())
            )
            steps.append(Step("journey entry", False, f"on {what}{where}: {why}"))
            return done("not_eligible", NOT_ENTERED)
        steps.append(Step("journey entry", True, f"would enter on {what}{where}"))
        current, effects, notes = started.instance, started.effects, started.notes
    moment = at
    held: str | None = None
    for _ in range(MAX_HOPS):
        acts = [e for e in effects if isinstance(e, SendMessage | SuppressMessage)]
        steps.extend(_notes(notes, journey.name, acts[0] if acts else None))
        if acts:
            return _next_send(
                acts[0],
                moment=moment,
                held=held,
                steps=steps,
                subject=subject,
                explain_send=explain_send,
                done=done,
            )
        if current.status != "active":
            return done("not_eligible", _end_reason(current))
        waiting = current.waiting
        if waiting is None:
            steps.append(Step("journey", False, f"between steps at {current.step}"))
            return done("not_eligible", "in_progress")
        if waiting.kind == "send":
            held = waiting.held_for or "deferred"
            deferral = next((n for n in reversed(notes) if " deferred (" in n), "")
            steps.append(
                Step(
                    "quiet hours and contact budget",
                    False,
                    deferral.partition("): ")[2] or f"held ({held})",
                )
            )
        if waiting.kind == "events":
            steps.append(
                Step(
                    "journey",
                    True,
                    f"{current.step}: assuming none of {', '.join(waiting.events)} arrives "
                    f"by {waiting.until.isoformat()}",
                )
            )
        moment = max(moment, waiting.until)
        moved = advance(
            runs_on,
            current,
            profile=profile,
            stimulus=TimerFired(current.instance_id, waiting.timer_id),
            now=moment,
            policy=contact,
        )
        assert moved.instance is not None
        current, effects, notes = moved.instance, moved.effects, moved.notes
    steps.append(Step("journey", False, f"no send within {MAX_HOPS} steps"))
    return done("not_eligible", "no_send")


def _next_send(
    act: SendMessage | SuppressMessage,
    *,
    moment: datetime,
    held: str | None,
    steps: list[Step],
    subject: dict[str, Any],
    explain_send: ExplainSend,
    done: Callable[..., Explanation],
) -> Explanation:
    subject.update(step=act.step, message=act.template, send_at=moment.isoformat())
    if isinstance(act, SuppressMessage):
        steps.append(Step("quiet hours and contact budget", False, act.explanation))
        return done("suppress", act.reason)
    steps.append(
        Step("next send", True, f"step {act.step} sends {act.template} at {moment.isoformat()}")
    )
    if act.reasons and held is None:
        steps.append(Step("quiet hours and contact budget", True, act.reasons[-1]))
    found = explain_send(act, moment)
    steps.extend(found.steps)
    subject["purpose"] = found.subject.get("purpose")
    if found.outcome == "send" and held is not None:
        return done("defer", held, found.variant)
    return done(found.outcome, found.reason, found.variant)
