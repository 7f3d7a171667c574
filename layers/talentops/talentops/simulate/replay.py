"""Simulate a content change on what happened: the recorded triggers of a time range replayed
through the pure decision and journey logic, with the recorded inputs, once with the current
content and once with the changed content; the difference says who would gain or lose which
message or variant, and why. Pure: it reads the events and decisions given and sends and
writes nothing.

- The events are an event log (the local stack's, or an EventBridge archive's replay): the
  candidate events and ``Job Opened`` of the range are the triggers.
- The decisions are the recorded decisions of those triggers (their ``trigger.event_id``);
  their ``inputs`` (delivery/inputs.py) are the profile as each decision read it. A
  candidate's profile for a message no recorded decision read is the union of what their
  recorded decisions read (a field none read is not known to the replay).
- For each trigger and candidate, the messages a content sends are: the catalogue's for the
  trigger, and each journey's that enters on it, run on through its timers as the journey
  engine would (assuming no awaited event arrives; re-entry rules see no earlier instance),
  and the recorded ones the replay cannot reach again (a job alert's matching, a campaign's
  segment: replayed when the message is still in the content). Each is decided by the one
  decision function, at the recorded decision's time (or the trigger's, the journey send's).
- The current content's replay is compared with what happened too (``reproduced``): a
  recorded suppression after the decision (the contact budget, a duplicate, ...) counts as
  reproduced when the decision would send (explain/decision.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..delivery.inputs import payload_at, profile_at
from ..explain.decision import AFTER_DECIDE
from ..explain.message import Explanation, explain_message
from ..journeys.engine import (
    CandidateEvent,
    JourneyInstance,
    SendMessage,
    TimerFired,
    advance,
    render_payload,
    start,
)
from ..models.events import OWN_SOURCE
from ..models.state import Decision, Profile
from .content import Content

MAX_HOPS = 12
EXAMPLES_PER_KIND = 3
NOT_SENT = "not_sent"  # the content does not send the message for this trigger at all
REMOVED = "message_removed"  # the message is not in the content


def parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def triggers_in(
    events: Iterable[Mapping[str, Any]], start: datetime | None, end: datetime | None
) -> tuple[int, list[Mapping[str, Any]]]:
    """How many events the range holds, and its triggers: the events of others (not the
    system's own announcements) that are about a candidate or a job."""
    count, found = 0, []
    for event in events:
        at = parse_time(event.get("time"))
        if at is None or (start is not None and at < start) or (end is not None and at >= end):
            continue
        count += 1
        detail = event.get("detail")
        if event.get("source") == OWN_SOURCE or not isinstance(detail, Mapping):
            continue
        if "candidate" in detail or "job" in detail:
            found.append(event)
    return count, found


def trigger_payload(event: Mapping[str, Any]) -> dict[str, Any]:
    """What a message's rules and templates read of its trigger: its event or job."""
    detail = event.get("detail") or {}
    return {k: dict(detail[k]) for k in ("event", "job") if isinstance(detail.get(k), Mapping)}


@dataclass(frozen=True)
class Verdict:
    outcome: str  # send, suppress, or not_sent
    reason: str | None
    variant: str | None
    explanation: Explanation | None = None

    @property
    def sends(self) -> bool:
        return self.outcome == "send"

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "outcome": self.outcome,
            "reason": self.reason,
            "variant": self.variant,
        }
        if self.explanation is not None:
            found["at"] = self.explanation.at.isoformat()
            found["steps"] = [s.as_dict() for s in self.explanation.steps]
        return found


@dataclass(frozen=True)
class Planned:
    """A message a content would decide for a trigger: when, and the subject it is about."""

    template: str
    at: datetime
    payload: Mapping[str, Any]
    via: str  # catalogue, journey <name>, recorded


@dataclass(frozen=True)
class Case:
    candidate_id: str
    trigger: Mapping[str, str]
    template: str
    recorded: Decision | None
    before: Verdict
    after: Verdict

    @property
    def change(self) -> str | None:
        b, a = self.before, self.after
        if b.sends and a.sends:
            return "variant_changed" if b.variant != a.variant else None
        if b.sends:
            return "lost"
        if a.sends:
            return "gained"
        return "reason_changed" if b.reason != a.reason else None

    def change_reason(self) -> str:
        b, a = self.before, self.after
        kind = self.change
        if kind == "lost":
            return a.reason or a.outcome
        if kind == "gained":
            return b.reason or b.outcome
        if kind == "variant_changed":
            return f"{b.variant} -> {a.variant}"
        return f"{b.reason or b.outcome} -> {a.reason or a.outcome}"

    def example(self) -> dict[str, Any]:
        return {
            "candidate_id": self.candidate_id,
            "trigger": dict(self.trigger),
            "message": self.template,
            "change": self.change,
            "why": self.change_reason(),
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


@dataclass
class Report:
    start: datetime | None
    end: datetime | None
    events: int = 0
    triggers: int = 0
    unresolved: int = 0  # triggers no recorded decision names a candidate for
    cases: list[Case] = field(default_factory=list)
    current: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, str] = field(default_factory=dict)
    reproduced: int = 0
    not_reproduced: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differences(self) -> list[Case]:
        return [c for c in self.cases if c.change is not None]

    def as_dict(self, examples: int = EXAMPLES_PER_KIND) -> dict[str, Any]:
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        by_message: dict[str, Counter[str]] = defaultdict(Counter)
        shown: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for case in self.differences:
            kind = case.change or ""
            by_kind[kind][case.change_reason()] += 1
            by_message[case.template][kind] += 1
            if len(shown[kind]) < examples:
                shown[kind].append(case.example())
        return {
            "range": {
                "from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None,
            },
            "events": self.events,
            "triggers": self.triggers,
            "unresolved_triggers": self.unresolved,
            "decisions_replayed": len(self.cases),
            "content": {"current": dict(self.current), "changed": dict(self.changed)},
            "reproduced": {
                "matched": self.reproduced,
                "differ": len(self.not_reproduced),
                "examples": self.not_reproduced[:examples],
            },
            "differences": len(self.differences),
            "gained": dict(by_kind["gained"].most_common()),
            "lost": dict(by_kind["lost"].most_common()),
            "variant_changed": dict(by_kind["variant_changed"].most_common()),
            "reason_changed": dict(by_kind["reason_changed"].most_common()),
            "by_message": {name: dict(counts) for name, counts in sorted(by_message.items())},
            "examples": {kind: cases for kind, cases in shown.items()},
        }


def known_profiles(decisions: Sequence[Decision]) -> dict[str, Profile]:
    """Each candidate's profile as far as their recorded decisions read it (the latest
    reading of each field wins)."""
    profiles: dict[str, Profile] = {}
    for decision in sorted(decisions, key=lambda d: d.decided_at):
        if decision.candidate_id is None or decision.inputs is None:
            continue
        base = profiles.get(decision.candidate_id) or Profile(candidate_id=decision.candidate_id)
        merged, _ = profile_at(base, decision.inputs, decision.purpose, decision.decided_at)
        # The cap's count belongs to its decision, not to the candidate's profile.
        profiles[decision.candidate_id] = merged.model_copy(update={"recent": base.recent})
    return profiles


def journey_sends(
    content: Content, event: Mapping[str, Any], profile: Profile, at: datetime
) -> list[Planned]:
    """The messages each journey entering on ``event`` would send the candidate, as its engine
    runs on through its timers (no awaited event assumed to arrive)."""
    detail = event.get("detail") or {}
    payload = trigger_payload(event)
    subject = payload.get("event") or payload.get("job") or {}
    planned: list[Planned] = []
    for journey in content.journeys:
        if journey.entry.event != event.get("detail-type"):
            continue
        stimulus = CandidateEvent(
            detail_type=str(event.get("detail-type")),
            event_id=str(event.get("id")),
            observed_at=parse_time(detail.get("observed_at")) or at,
            subject_id=str(subject["id"]) if subject.get("id") is not None else None,
            payload=payload,
        )
        started = start(
            journey,
            candidate_id=profile.candidate_id,
            profile=profile,
            stimulus=stimulus,
            now=at,
            policy=content.contact,
        )
        if started is None or started.instance is None:
            continue
        current: JourneyInstance = started.instance
        effects, moment = started.effects, at
        for _ in range(MAX_HOPS):
            for effect in effects:
                if isinstance(effect, SendMessage):
                    planned.append(
                        Planned(
                            effect.template,
                            moment,
                            render_payload(effect.payload),
                            f"journey {journey.name}",
                        )
                    )
            waiting = current.waiting
            if current.status != "active" or waiting is None:
                break
            moment = max(moment, waiting.until)
            moved = advance(
                journey,
                current,
                profile=profile,
                stimulus=TimerFired(current.instance_id, waiting.timer_id),
                now=moment,
                policy=content.contact,
            )
            if moved.instance is None:
                break
            current, effects = moved.instance, moved.effects
    return planned


def planned_for(
    content: Content,
    event: Mapping[str, Any],
    profile: Profile,
    at: datetime,
    recorded: Mapping[str, Decision],
) -> dict[str, Planned]:
    """The messages ``content`` decides for the trigger: the catalogue's, the journeys', and
    the recorded ones it cannot reach again (still in the content)."""
    found: dict[str, Planned] = {}
    payload = trigger_payload(event)
    for template in content.catalogue.for_trigger(str(event.get("detail-type"))):
        found.setdefault(template, Planned(template, at, payload, "catalogue"))
    for plan in journey_sends(content, event, profile, at):
        found.setdefault(plan.template, plan)
    for template, decision in recorded.items():
        if (
            template not in found
            and template in content.catalogue.messages
            and not _reachable_by_replay(decision, event)
        ):
            found[template] = Planned(template, decision.decided_at, payload, "recorded")
    return found


def _reachable_by_replay(decision: Decision, event: Mapping[str, Any]) -> bool:
    """A decision the replay re-derives from its trigger (the catalogue's or a journey's for
    a candidate event), as against one it carries (a job alert's, a campaign's)."""
    return "candidate" in (event.get("detail") or {}) and decision.template != "job_alert"


def _sends_on(content: Content, event: Mapping[str, Any]) -> bool:
    detail_type = str(event.get("detail-type"))
    return bool(content.catalogue.for_trigger(detail_type)) or any(
        j.entry.event == detail_type for j in content.journeys
    )


def judge(
    content: Content,
    plan: Planned | None,
    template: str,
    profile: Profile,
    recorded: Decision | None,
) -> Verdict:
    if plan is None:
        reason = REMOVED if template not in content.catalogue.messages else NOT_SENT
        return Verdict(NOT_SENT, reason, None)
    spec = content.catalogue.message(template)
    at = plan.at
    payload = dict(plan.payload)
    if recorded is not None and recorded.inputs is not None:
        profile, _ = profile_at(profile, recorded.inputs, recorded.purpose, recorded.decided_at)
        at = recorded.decided_at
        payload = {**payload_at(recorded.inputs), **payload}
    found = explain_message(
        profile=profile,
        template=template,
        spec=spec,
        policy=content.consent,
        at=at,
        caps=content.caps(template),
        freshness=content.freshness,
        payload=payload,
    )
    outcome = "send" if found.outcome == "send" else "suppress"
    return Verdict(outcome, found.reason, found.variant, found)


def _happened(decision: Decision, verdict: Verdict) -> bool:
    if (verdict.outcome, verdict.reason, verdict.variant) == (
        decision.outcome,
        decision.reason,
        decision.variant,
    ):
        return True
    return verdict.sends and decision.reason in AFTER_DECIDE


def simulate(
    *,
    events: Iterable[Mapping[str, Any]],
    decisions: Sequence[Decision],
    current: Content,
    changed: Content,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Report:
    """The recorded triggers of [start, end) replayed with ``current`` and with ``changed``."""
    count, triggers = triggers_in(events, start, end)
    report = Report(
        start,
        end,
        events=count,
        triggers=len(triggers),
        current=current.versions.as_dict(),
        changed=changed.versions.as_dict(),
    )
    mine = [d for d in decisions if d.kind == "message" and d.candidate_id]
    profiles = known_profiles(mine)
    by_trigger: dict[str, dict[str, dict[str, Decision]]] = defaultdict(lambda: defaultdict(dict))
    for decision in mine:
        event_id = decision.trigger.get("event_id", "")
        by_trigger[event_id][str(decision.candidate_id)][decision.template] = decision
    for event in triggers:
        candidates = by_trigger.get(str(event.get("id")), {})
        if not candidates:
            # Unresolved when some content would message someone for it (no recorded
            # decision says whom); else it is no message's trigger (a profile update).
            if _sends_on(current, event) or _sends_on(changed, event):
                report.unresolved += 1
            continue
        at = parse_time(event.get("time"))
        assert at is not None
        trigger = {"detail_type": str(event.get("detail-type")), "event_id": str(event.get("id"))}
        for candidate_id, recorded in sorted(candidates.items()):
            profile = profiles.get(candidate_id) or Profile(candidate_id=candidate_id)
            before = planned_for(current, event, profile, at, recorded)
            after = planned_for(changed, event, profile, at, recorded)
            for template in sorted({*before, *after, *recorded}):
                done = recorded.get(template)
                case = Case(
                    candidate_id,
                    trigger,
                    template,
                    done,
                    judge(current, before.get(template), template, profile, done),
                    judge(changed, after.get(template), template, profile, done),
                )
                report.cases.append(case)
                if done is not None:
                    if _happened(done, case.before):
                        report.reproduced += 1
                    else:
                        report.not_reproduced.append(
                            {
                                "candidate_id": candidate_id,
                                "message": template,
                                "recorded": {
                                    "outcome": done.outcome,
                                    "reason": done.reason,
                                    "variant": done.variant,
                                },
                                "replayed": case.before.as_dict(),
                            }
                        )
    return report
