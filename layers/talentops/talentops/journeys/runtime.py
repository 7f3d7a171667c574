"""Journeys at work: the pure engine (engine.py) with the candidate's state in DynamoDB,
timers in EventBridge Scheduler and sends through the one decision of the system.

One stimulus (a candidate event, a profile change, a timer) for one candidate:

1. read the profile and the candidate's journey instances (one Query; by email or ref the
   profile first, and the instances only when the profile's summary of them says that one
   may hear the event: ``needs_instances``);
2. carry out what an earlier attempt left in an instance's outbox (a crash between the write
   and the effects loses nothing; an event no instance hears leaves it to the retry, the
   instance's timer or the next event it hears);
3. ``dispatch``: the running instances move, journeys whose entry this is start;
4. decide the first send of each changed instance's step (the one decision: consent,
   suppression, freshness, variant; the message composed), then write the instance and that
   decision in one transaction: the instance conditional on the ``seq`` read, the decision's
   record and claim (its lease and message), its trace on the profile conditional on the
   send counter (a concurrent stimulus or sender that got there first: read the profile and
   the instances again and run again; the engine is deterministic and its effects
   idempotent). The instance's outbox keeps the step's effects, the send among them until
   its completion;
5. carry out the effects: the decided send first, to SES (a send SES did not take undoes its
   claim, and the retry finds it in the outbox; anything failing once SES took it completes
   it first), then the rest in their order: timers are one-time schedules named by their
   timer id (creating one twice is a no-op), any further send is a decision whose id derives
   from the step's dedupe key (sending twice is a duplicate); then the send is announced and
   its completion clears the outbox in the same request (its own UpdateItem when no send
   completes).

A candidate event that no journey follows for its subject (no instance about that event or
job listens to it) falls back to the catalogue's ``triggers``: the attended / no-show
follow-ups of an event the candidate did not register for through us.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.journeys import CandidateGoneError, JourneyRepository, StoredInstance
from ..adapters.listings import ListingsRepository
from ..adapters.pool.decisions import DecidedBeforeError
from ..adapters.scheduler import TimerScheduler
from ..adapters.talent_pool import TalentPoolRepository
from ..delivery.budget import ContactPolicy
from ..delivery.decide import TriggerFact, behaviour_kind, decision_id
from ..delivery.holdouts import HoldoutRef
from ..delivery.service import DeliveryService, Planned, behaviour_of
from ..errors import ConcurrencyError
from ..job_alerts.matching import fits
from ..listings.service import listed_job_fields
from ..models.events import CandidateRef
from ..models.state import Decision, Profile
from ..observability import count_journey, logger
from .engine import (
    CancelTimer,
    CandidateEvent,
    Effect,
    Exit,
    JourneyInstance,
    ProfileChanged,
    ScheduleTimer,
    SendMessage,
    Stimulus,
    SuppressMessage,
    TimerFired,
    Transition,
    dispatch,
    effect_from_dict,
    effect_to_dict,
    listens_of,
    needs_instances,
    render_payload,
    watched_fields,
)
from .loader import JourneyRegistry
from .model import Journey, WaitForStep

MAX_ATTEMPTS = 4
SIMILAR_JOBS = 3
JOB_LISTINGS_READ = 100
UNKNOWN_JOB = "the job is not among the listings (no Job Opened stored it): nothing to show"


def journey_decision_id(dedupe_key: str) -> str:
    """The decision id of a journey's send: one per step of an instance, however often the
    transition is computed or its effects carried out."""
    return hashlib.sha256(f"journey|{dedupe_key}".encode()).hexdigest()[:32]


@dataclass
class Outcome:
    """What one stimulus did: the transitions (with their notes, the why) and the decisions
    of the catalogue fallback, if it ran."""

    transitions: list[Transition] = field(default_factory=list)
    fallback: bool = False
    decisions: list[Decision] = field(default_factory=list)
    behaviour_noted: bool = False  # an instance's write noted the event on the profile

    def summary(self) -> dict[str, Any]:
        return {
            "decisions": [
                {
                    "template": d.template,
                    "outcome": d.outcome,
                    "reason": d.reason,
                    "variant": d.variant,
                }
                for d in self.decisions
            ],
            "journeys": [
                {
                    "journey": t.journey,
                    "instance_id": t.instance.instance_id if t.instance else None,
                    "status": t.instance.status if t.instance else "not_entered",
                    "step": t.instance.step if t.instance else None,
                    "effects": [type(e).__name__ for e in t.effects],
                }
                for t in self.transitions
            ],
            "fallback": self.fallback,
        }


@dataclass
class JourneyRuntime:
    pool: TalentPoolRepository
    store: JourneyRepository
    registry: JourneyRegistry
    timers: TimerScheduler
    delivery: DeliveryService
    contact: ContactPolicy
    listings: ListingsRepository
    now: Callable[[], datetime]
    job_band: int = 1
    _remembered: set[tuple[str, str]] = field(default_factory=set)

    # -- stimuli ----------------------------------------------------------------------------

    def on_candidate_event(self, fact: TriggerFact, candidate: CandidateRef) -> Outcome:
        profile, preloaded = self._load(candidate)
        if profile is None:
            # Nobody to follow: the catalogue's triggers record unknown_candidate, if any.
            decisions = self.delivery.handle_trigger(fact, candidate, resolved=(None,))
            return Outcome(fallback=True, decisions=decisions)
        profile, behaviour = self._with_behaviour(profile, fact)
        outcome = Outcome()
        instances = self._run(
            profile, CandidateEvent.from_fact(fact), outcome, behaviour, preloaded
        )
        if fact.subject_id and not self._followed(instances, fact):
            decisions = self.delivery.handle_trigger(fact, candidate, resolved=(profile,))
            outcome.fallback = True
            outcome.decisions.extend(decisions)
            if decisions:
                behaviour = None  # each decision record noted it on the profile
        if behaviour is not None and not outcome.behaviour_noted:
            self.pool.record_behaviour(profile.candidate_id, *behaviour)
        return outcome

    def on_timer(self, candidate_id: str, instance_id: str, timer_id: str) -> Outcome:
        # By id, or the survivor of an identity merge (which moved the instance there).
        profile, preloaded = self._load(CandidateRef(id=candidate_id))
        if profile is None:
            logger.info("timer for a candidate no longer held", timer_id=timer_id)
            return Outcome()
        outcome = Outcome()
        self._run(profile, TimerFired(instance_id, timer_id), outcome, preloaded=preloaded)
        return outcome

    def on_profile_changed(
        self, candidate_id: str, changed: Iterable[str], event_id: str, observed_at: datetime
    ) -> Outcome:
        if not watched_fields(self.registry.current()) & set(changed):
            # No journey enters on a segment or exits on the profile through a field that
            # changed: nothing to read (an import of a whole pool costs no read here).
            return Outcome()
        profile = self.pool.get_profile(candidate_id)
        if profile is None:
            return Outcome()
        stimulus = ProfileChanged(event_id, observed_at, frozenset(changed))
        outcome = Outcome()
        self._run(profile, stimulus, outcome)
        return outcome

    def _load(self, candidate: CandidateRef) -> tuple[Profile | None, list[StoredInstance] | None]:
        """The candidate's profile, and its journey instances when they came in the same
        read: by id, one Query reads both (else, an id merged into another, the survivor by
        its alias); by ref or email, the profile (its count of instances says whether they
        need a read)."""
        if candidate.id:
            profile, stored = self.store.candidate(candidate.id)
            if profile is not None:
                return profile, stored
        return self.pool.resolve(candidate), None

    # -- the cycle ------------------------------------------------------------------------

    def _run(
        self,
        profile: Profile,
        stimulus: Stimulus,
        outcome: Outcome,
        behaviour: tuple[str, dict[str, Any]] | None = None,
        preloaded: list[StoredInstance] | None = None,
    ) -> list[JourneyInstance]:
        """Every instance of the candidate as it is afterwards; the transitions and the
        decisions taken go on ``outcome``. ``behaviour``: what the event notes on the profile,
        written with the first instance written (``outcome.behaviour_noted``)."""
        candidate_id = profile.candidate_id
        for attempt in range(MAX_ATTEMPTS):
            # Instances the stimulus cannot matter to are not read (``_may_matter``); a write
            # that then fails reads them after all, with the profile (its send counter may
            # have moved). ``preloaded``: read with the profile.
            if attempt == 0:
                stored = preloaded if preloaded is not None else []
                if preloaded is None and self._may_matter(profile, stimulus):
                    stored = self.store.instances(candidate_id)
            else:
                reread, stored = self.store.candidate(candidate_id)
                if reread is None:
                    logger.info("candidate erased while their journeys moved: nothing to do")
                    return []
                profile = _noted(reread, behaviour)
            for item in stored:
                if item.outbox:
                    outcome.decisions += self._carry_out(
                        profile, item.data["instance_id"], item.seq, item.outbox
                    )
            instances = [JourneyInstance.model_validate(s.data) for s in stored]
            self._know_versions(instances)
            transitions = dispatch(
                self.registry,
                instances,
                candidate_id=candidate_id,
                profile=profile,
                stimulus=stimulus,
                now=self.now(),
                policy=self.contact,
            )
            try:
                self._write(profile, stored, transitions, behaviour, outcome)
            except CandidateGoneError:
                logger.info("candidate erased while their journeys moved: nothing to do")
                return []
            except ConcurrencyError:
                logger.info("journey instance moved on meanwhile: running again")
                continue
            for transition in transitions:
                logger.info(
                    "journey",
                    journey=transition.journey,
                    instance_id=transition.instance.instance_id if transition.instance else None,
                    notes=list(transition.notes),
                )
            outcome.transitions = transitions
            after = {i.instance_id: i for i in instances}
            after.update({t.instance.instance_id: t.instance for t in transitions if t.instance})
            return list(after.values())
        raise ConcurrencyError(f"journeys of {candidate_id} kept moving under this stimulus")

    def _may_matter(self, profile: Profile, stimulus: Stimulus) -> bool:
        """Whether the candidate's stored instances may matter to ``stimulus``: not when the
        profile counts none (the count moves in the write that creates one), nor, for a
        candidate event, when none of them listens to it (``needs_instances``; the list is
        written beside the count, and trusted only beside a known count)."""
        if profile.journey_items == 0:
            return False
        if profile.journey_items is not None and isinstance(stimulus, CandidateEvent):
            return needs_instances(self.registry.current(), profile.journey_listens, stimulus)
        return True

    def _listens(self, instance: JourneyInstance) -> frozenset[str]:
        """What a new instance listens to (``listens_of``), for the profile's summary."""
        journey = self._version(instance)
        if journey is None:  # a new instance started on a version of the registry
            raise RuntimeError(f"{instance.journey} version {instance.version} is not known")
        return listens_of(journey, instance)

    def _write(
        self,
        profile: Profile,
        stored: list[StoredInstance],
        transitions: list[Transition],
        behaviour: tuple[str, dict[str, Any]] | None,
        outcome: Outcome,
    ) -> None:
        """Write each changed instance and carry out its effects. The transition's first
        decision (a send or a suppression) is decided before the write and written in the
        same transaction (its record and claim, its trace on the profile): the instance's
        outbox keeps the effects (a suppression the transaction holds in full aside), and the
        completion of the send, written once SES accepted it, clears it."""
        candidate_id = profile.candidate_id
        before = {s.data["instance_id"]: s for s in stored}
        for transition in transitions:
            instance = transition.instance
            if instance is None:
                continue
            previous = before.get(instance.instance_id)
            data = instance.model_dump(mode="json")
            if previous is not None and previous.data == data and not transition.effects:
                continue  # nothing changed (a late event noted, a stray timer)
            version = self._unremembered(instance) if previous is None else None
            listens = self._listens(instance) if previous is None else frozenset()
            effects = [effect_to_dict(e) for e in transition.effects]
            folded = self._fold(profile, transition.effects)
            outbox = _outbox(effects, folded)
            noted = None if outcome.behaviour_noted else behaviour
            try:
                self.store.save(
                    candidate_id,
                    instance.instance_id,
                    data,
                    instance.seq,
                    expected_seq=previous.seq if previous is not None else None,
                    outbox=outbox,
                    ended=instance.status != "active",
                    behaviour=noted,
                    decision=folded.planned.parts
                    if folded is not None and folded.planned is not None
                    else None,
                    version=version,
                    listens=listens,
                )
            except DecidedBeforeError:
                # Decided before (by an earlier attempt's outbox): the instance alone, and the
                # send through the one decision, which finds the record.
                assert folded is not None
                folded, outbox = None, effects
                self.store.save(
                    candidate_id,
                    instance.instance_id,
                    data,
                    instance.seq,
                    expected_seq=previous.seq if previous is not None else None,
                    outbox=outbox,
                    ended=instance.status != "active",
                    behaviour=noted,
                    version=version,
                    listens=listens,
                )
            if version is not None:
                self._remembered.add((version.name, version.version))
            if behaviour is not None:
                outcome.behaviour_noted = True
            if folded is None:
                outcome.decisions += self._carry_out(
                    profile, instance.instance_id, instance.seq, outbox
                )
            else:
                outcome.decisions += self._after_commit(
                    profile,
                    instance.instance_id,
                    instance.seq,
                    effects,
                    folded=folded,
                    outbox=bool(outbox),
                )

    def _fold(self, profile: Profile, effects: Sequence[Effect]) -> _Folded | None:
        """The first decision among a transition's effects, decided now so that it is
        written with the instance; None when there is none."""
        for index, effect in enumerate(effects):
            if isinstance(effect, SendMessage | SuppressMessage):
                return _Folded(index, self._plan(profile, effect))
        return None

    def _plan(self, profile: Profile, effect: SendMessage | SuppressMessage) -> Planned | None:
        """What ``_effect`` decides for a send or a suppression, not yet written; None when
        the catalogue's follow-up answered it already (nothing to write)."""
        asked = self._asked(profile, effect)
        if asked is None:
            return None
        send, args = asked
        return self.delivery.plan_send(**args) if send else self.delivery.plan_suppressed(**args)

    def _asked(
        self, profile: Profile, effect: SendMessage | SuppressMessage
    ) -> tuple[bool, dict[str, Any]] | None:
        """The decision a send or a suppression step asks for, planned (``_plan``) or carried
        out at once (``_effect``): whether it is a send, and the arguments the delivery
        service's calls for it share. A send about a job the pool does not know is held back
        (``unknown_job``). None when the catalogue's follow-up answered it already."""
        asked: dict[str, Any] = {
            "template": effect.template,
            "decision_id": journey_decision_id(effect.dedupe_key),
            "trigger": effect.trigger,
        }
        step = f"journey {effect.journey} step {effect.step}"
        if isinstance(effect, SuppressMessage):
            return False, {
                **asked,
                "candidate_id": profile.candidate_id,
                "reason": effect.reason,
                "reasons": [step, effect.explanation],
            }
        if self._answered(profile, effect):
            return None
        context: dict[str, Any] = render_payload(effect.payload)
        if isinstance(context.get("job"), Mapping) and not self._known_job(profile, context):
            return False, {
                **asked,
                "candidate_id": profile.candidate_id,
                "reason": "unknown_job",
                "reasons": [step, UNKNOWN_JOB],
            }
        return True, {
            **asked,
            "payload": context,
            "profile": profile,
            "observed_at": self.now(),
            "reasons": effect.reasons,
            "budget": self.contact,
            "holdouts": [HoldoutRef(effect.holdout, effect.holdout_share)]
            if effect.holdout is not None and effect.holdout_share is not None
            else (),
        }

    def _after_commit(
        self,
        profile: Profile,
        instance_id: str,
        seq: int,
        effects: list[dict[str, Any]],
        *,
        folded: _Folded,
        outbox: bool,
    ) -> list[Decision]:
        """The effects of a transition whose first decision was written with it. That
        decision goes first: a send to SES (one SES did not take is released, and the retry
        finds it in the outbox, which holds a send until its completion), a suppression
        announced. Then the other effects in their order, the send announced, and its
        completion written with the outbox cleared (``outbox``: it holds anything), in one
        request. Anything failing once SES took the send completes it before the error goes
        on: the retry carries out the outbox again, where the send meets its record and is
        announced again, never sent again."""
        decisions: list[Decision] = []
        planned = folded.planned
        settled = self.delivery.deliver(planned) if planned is not None else None
        if settled is not None:
            decisions.append(settled)
            if settled.status != "sent":
                assert planned is not None
                self.delivery.announce(settled, held_back=planned.held_back)
        try:
            for index, raw in enumerate(effects):
                if index != folded.index:
                    decision = self._effect(profile, effect_from_dict(raw))
                    if decision is not None:
                        decisions.append(decision)
            if settled is not None and settled.status == "sent":
                self.delivery.announce(settled)
        except Exception:
            if settled is not None and settled.status == "sent":
                self.pool.complete_decision(settled)  # the outbox stays for the retry
            raise
        if settled is not None and settled.status == "sent":
            if outbox:
                self.store.complete_send(settled, instance_id, seq)
            else:
                self.pool.complete_decision(settled)
        elif outbox:
            self.store.clear_outbox(profile.candidate_id, instance_id, seq)
        return decisions

    def _carry_out(
        self, profile: Profile, instance_id: str, seq: int, outbox: list[dict[str, Any]]
    ) -> list[Decision]:
        decisions = []
        for raw in outbox:
            decision = self._effect(profile, effect_from_dict(raw))
            if decision is not None:
                decisions.append(decision)
        if outbox:
            self.store.clear_outbox(profile.candidate_id, instance_id, seq)
        return decisions

    def _effect(self, profile: Profile, effect: Effect) -> Decision | None:
        now = self.now()
        if isinstance(effect, ScheduleTimer):
            payload = {
                "candidate_id": profile.candidate_id,
                "instance_id": effect.instance_id,
                "timer_id": effect.timer_id,
            }
            self.timers.schedule(effect.timer_id, effect.at, payload, now=now)
            count_journey("JourneyTimersScheduled")
        elif isinstance(effect, CancelTimer):
            self.timers.cancel(effect.timer_id)
        elif isinstance(effect, SendMessage | SuppressMessage):
            asked = self._asked(profile, effect)
            if asked is None:
                return None
            send, args = asked
            if send and isinstance(effect, SendMessage):
                return self.delivery.send_planned(**args, priority=effect.priority)
            return self.delivery.record_suppressed(**args)
        elif isinstance(effect, Exit):
            count_journey("JourneysCompleted" if effect.status == "completed" else "JourneysExited")
            logger.info(
                "journey ended", journey=effect.journey, status=effect.status, reason=effect.reason
            )
        return None

    # -- helpers --------------------------------------------------------------------------

    def _with_behaviour(
        self, profile: Profile, fact: TriggerFact
    ) -> tuple[Profile, tuple[str, dict[str, Any]] | None]:
        """The profile with the event among its behaviours (newest fact wins), so that
        journeys' conditions (applied recently) see it; and the behaviour to store, None
        when the profile holds a newer one."""
        kind, value = behaviour_of(fact)
        held = profile.behaviours.get(kind) or {}
        held_at = _parse(held.get("at"))
        if held_at is not None and held_at >= fact.observed_at:
            return profile, None
        updated = profile.model_copy(update={"behaviours": {**profile.behaviours, kind: value}})
        return updated, (kind, value)

    def _followed(self, instances: list[JourneyInstance], fact: TriggerFact) -> bool:
        """Whether a journey instance about this fact's subject listens to its detail-type
        (as its entry, a wait or an exit): then the journey answers it, not the catalogue."""
        for instance in instances:
            if instance.subject_id != fact.subject_id:
                continue
            journey = self._version(instance)
            if journey is None or fact.detail_type in _listened(journey):
                return True  # a journey about this subject, whatever it was, owns it
        return False

    def _version(self, instance: JourneyInstance) -> Journey | None:
        journey = self.registry.get(instance.journey, instance.version)
        if journey is None:
            journey = self.store.load_version(instance.journey, instance.version)
            if journey is not None:
                self.registry.remember(journey)
        return journey

    def _know_versions(self, instances: list[JourneyInstance]) -> None:
        for instance in instances:
            if instance.status == "active":
                self._version(instance)

    def _unremembered(self, instance: JourneyInstance) -> Journey | None:
        """The version a new instance runs, when this process has not kept it yet: written
        with the instance (a timer or an event that finds the instance later reads it from
        there, once the registry has moved on)."""
        key = (instance.journey, instance.version)
        if key in self._remembered:
            return None
        return self.registry.get(*key)

    def _answered(self, profile: Profile, effect: SendMessage) -> bool:
        answered = self._answered_by_catalogue(profile, effect)
        if answered is not None:
            logger.info(
                "journey send already answered by the catalogue follow-up",
                template=effect.template,
                decision_id=answered.decision_id,
            )
        return answered is not None

    def _answered_by_catalogue(self, profile: Profile, effect: SendMessage) -> Decision | None:
        """The catalogue's direct follow-up for the same subject, if it was decided: an
        outcome that arrived before the registration (no journey followed it then) got its
        follow-up; the journey started since must not send a second one."""
        spec = self.delivery.catalogue.message(effect.template)
        subject = effect.payload.get("event") or effect.payload.get("job") or {}
        subject_id = subject.get("id") if isinstance(subject, Mapping) else None
        if not spec.triggers or not subject_id:
            return None
        for detail_type in spec.triggers:
            held = profile.behaviours.get(behaviour_kind(detail_type)) or {}
            at = _parse(held.get("at"))
            if held.get("subject_id") != subject_id or at is None:
                continue
            if held.get("event_id") == effect.trigger.get("event_id"):
                continue  # the outcome this journey answers now: no catalogue follow-up ran

            fact = TriggerFact(
                detail_type=detail_type,
                event_id=str(held.get("event_id") or ""),
                candidate_key=f"id:{profile.candidate_id}",
                observed_at=at,
                subject_id=subject_id,
            )
            found = self.pool.get_decision(
                profile.candidate_id, decision_id(fact, effect.template, profile.candidate_id)
            )
            if found is not None:
                return found
        return None

    def _known_job(self, profile: Profile, context: dict[str, Any]) -> bool:
        """The job a send is about, as the listings hold it (the jobs `Job Opened` stored),
        in place of whatever the event that started the journey said about it (a tracking
        call's title or URL is never shown); and ``jobs.similar``, the open jobs that fit the
        candidate now (the job alerts' rule), not that one. False when the listings do not
        know the job. One Query of the newest jobs; a GetItem only when the job is older."""
        job_id = str(context["job"].get("id") or "")
        recent = self.listings.recent_jobs(JOB_LISTINGS_READ)
        listed = next((j for j in recent if j.get("id") == job_id), None)
        if listed is None and job_id:
            listed = self.listings.get_job(job_id)
        if listed is None:
            return False
        context["job"] = listed_job_fields(listed)
        found = []
        for job in recent:
            if job.get("id") == job_id or not job.get("role_family"):
                continue
            if not fits(job, profile, self.job_band)[0]:
                continue
            found.append(listed_job_fields(job))
            if len(found) == SIMILAR_JOBS:
                break
        context["jobs"] = {"similar": found}
        return True


@dataclass(frozen=True)
class _Folded:
    """A transition's first decision, planned before its write: its place among the
    effects, and the plan (None: the catalogue answered it, nothing to write)."""

    index: int
    planned: Planned | None


def _outbox(effects: list[dict[str, Any]], folded: _Folded | None) -> list[dict[str, Any]]:
    """What an instance's outbox keeps of its transition's effects: all but a decision the
    transaction wrote in full (a suppression, or a send the catalogue answered). A send
    stays until its completion clears it, so that a retry finds it (and announces it)."""
    if folded is None or (folded.planned is not None and folded.planned.raw is not None):
        return effects
    return [e for i, e in enumerate(effects) if i != folded.index]


def _noted(profile: Profile, behaviour: tuple[str, dict[str, Any]] | None) -> Profile:
    """The profile with the event's behaviour on it, as ``_with_behaviour`` made it."""
    if behaviour is None:
        return profile
    kind, value = behaviour
    return profile.model_copy(update={"behaviours": {**profile.behaviours, kind: value}})


def _listened(journey: Any) -> set[str]:
    types = {journey.entry.event} if journey.entry.event else set()
    types |= {e.event for e in journey.exits if e.event}
    for step in journey.steps:
        if isinstance(step, WaitForStep):
            types |= {on.event for on in step.wait_for.events}
    return types


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
