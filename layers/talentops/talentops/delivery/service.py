"""Triggered messages: resolve, decide, render, claim, send, record.

Requests per sent message: one read (the profile), one transaction (the decision record,
which is the durable dedupe, plus the send trace on the profile), one SES send, the
completion (status sent), one PutEvents. A suppressed trigger costs the read, the decision
write and the PutEvents. A journey plans its send (``plan_send``) and writes it in the
transaction of its instance, then ``deliver`` and ``announce``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..adapters.bus import EventPublisher
from ..adapters.pool.decisions import DecisionParts
from ..adapters.ses import SesSender
from ..adapters.talent_pool import TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue
from ..errors import (
    ConcurrencyError,
    DeliveryError,
    DuplicateError,
    RenderError,
    SendRefusedError,
)
from ..models.events import (
    CandidateRef,
    ExperimentArm,
    MessageSent,
    MessageSuppressed,
    Trigger,
)
from ..models.state import Decision, DecisionInputs, Profile
from ..observability import count, logger
from ..tokens import TokenSigner
from .budget import ContactPolicy
from .compose import compose_email
from .context import Brand
from .decide import FrequencyCap, Outcome, TriggerFact, behaviour_kind, decide, decision_id
from .holdouts import HoldoutRef
from .leases import LeaseResolver, lease_attributes
from .ledger import outdated_for

MAX_DECIDE_ROUNDS = 4


@dataclass
class Planned:
    """A decision taken and its message composed, not yet written (``plan_send``,
    ``plan_suppressed``): ``parts`` is its write as parts of the caller's transaction; ``to``
    the address the message goes to."""

    decision: Decision
    raw: bytes | None
    to: str | None
    parts: DecisionParts
    held_back: bool = False  # held back before the decision (record_suppressed's kind)


@dataclass
class DeliveryService:
    repo: TalentPoolRepository
    sender: SesSender
    publisher: EventPublisher
    catalogue: Catalogue
    policy: ConsentPolicy
    brand: Brand
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]
    token_ttl: timedelta = timedelta(days=90)
    caps: Mapping[str, FrequencyCap] | None = None
    # The content versions recorded on every decision (wiring.content_versions).
    versions: Mapping[str, str] | None = None

    def handle_trigger(
        self,
        fact: TriggerFact,
        candidate: CandidateRef,
        *,
        resolved: tuple[Profile | None] | None = None,
    ) -> list[Decision]:
        """Every message of the catalogue that this trigger causes, for its candidate (each
        decision also notes the trigger on the profile's behaviours). ``resolved``: the
        candidate's profile when the caller has read it already."""
        templates = self.catalogue.for_trigger(fact.detail_type)
        if not templates:
            logger.info("no message for trigger", detail_type=fact.detail_type)
            return []
        profile = resolved[0] if resolved is not None else self.repo.resolve(candidate)
        decisions = []
        for template in templates:
            spec = self.catalogue.message(template)

            def attempt(
                current: Profile | None, _round: int, template: str = template, spec: Any = spec
            ) -> Decision:
                outcome = self._decide(fact, current, template, spec)
                return self._carry_out(fact, outcome, current, behaviour_of(fact))

            decision, profile = self._on_fresh_reads(profile, attempt)
            decisions.append(decision)
        return decisions

    def _decide(
        self,
        fact: TriggerFact,
        profile: Profile | None,
        template: str,
        spec: Any,
        holdouts: Sequence[HoldoutRef] = (),
    ) -> Outcome:
        return decide(
            fact=fact,
            profile=profile,
            template=template,
            spec=spec,
            policy=self.policy,
            now=self.now(),
            caps=self.caps,
            versions=self.versions,
            holdouts=holdouts,
        )

    def _on_fresh_reads(
        self,
        profile: Profile | None,
        attempt: Callable[[Profile | None, int], Decision],
    ) -> tuple[Decision, Profile | None]:
        """Decide and carry out on ``profile``; when another send changed the profile's
        traces since it was read (the send counter moved), read it again and decide again,
        so that two senders can never both take the last room of the budget. Returns the
        decision and the profile as last read."""
        for round_ in range(MAX_DECIDE_ROUNDS):
            try:
                return attempt(profile, round_), profile
            except ConcurrencyError:
                if profile is None:
                    raise
                logger.info("the profile's sends changed: deciding again", round=round_)
                profile = self.repo.get_profile(profile.candidate_id)
        raise ConcurrencyError("the profile's sends kept changing while deciding")

    def send_planned(
        self,
        *,
        template: str,
        decision_id: str,
        trigger: Mapping[str, str],
        payload: Mapping[str, Any],
        profile: Profile | None,
        observed_at: datetime,
        reasons: Sequence[str] = (),
        budget: ContactPolicy | None = None,
        priority: str | None = None,
        holdouts: Sequence[HoldoutRef] = (),
    ) -> Decision:
        """A message that a journey decided to send now: the one decision still runs at the
        moment of sending (suppression, consent, freshness, variant). ``decision_id`` is the
        caller's durable dedupe key (the same journey step, the same id). ``budget`` and
        ``priority``: the contact budget the caller checked; when another send took the
        profile's room meanwhile (its send counter moved), the profile is read again and the
        budget asked again: over it, the message is suppressed ``frequency_cap``.
        ``holdouts``: the step's (the catalogue message's own apply too)."""
        spec = self.catalogue.message(template)

        def attempt(current: Profile | None, round_: int) -> Decision:
            fact = _planned_fact(trigger, current, observed_at, payload)
            outcome = self._decide(fact, current, template, spec, holdouts)
            decision = outcome.decision.model_copy(
                update={
                    "decision_id": decision_id,
                    "message_id": f"m_{decision_id}"
                    if outcome.decision.outcome == "send"
                    else None,
                    "reasons": [*reasons, *outcome.decision.reasons],
                }
            )
            variant = outcome.variant
            if round_ and variant is not None and budget is not None and priority:
                assert current is not None
                verdict = replace(budget, quiet_hours=None).check(
                    priority=priority,
                    history=current.recent.values(),
                    timezone=current.value("timezone"),
                    now=self.now(),
                )
                if not verdict.allowed:
                    decision = decision.suppressed(
                        "frequency_cap", [*decision.reasons, verdict.explanation]
                    )
                    variant = None
            window = budget.budget.window if budget is not None and budget.budget else None
            return self._carry_out(fact, Outcome(decision, variant), current, None, window)

        return self._on_fresh_reads(profile, attempt)[0]

    def plan_send(
        self,
        *,
        template: str,
        decision_id: str,
        trigger: Mapping[str, str],
        payload: Mapping[str, Any],
        profile: Profile,
        observed_at: datetime,
        reasons: Sequence[str] = (),
        budget: ContactPolicy | None = None,
        holdouts: Sequence[HoldoutRef] = (),
    ) -> Planned:
        """``send_planned``'s decision, rendering and claim, not yet written: the caller
        writes ``parts`` in its own transaction (a journey's instance with it), then calls
        ``deliver`` and ``announce``. A race on the profile's send counter makes that write
        fail (ConcurrencyError): the caller reads again and plans again."""
        spec = self.catalogue.message(template)
        fact = _planned_fact(trigger, profile, observed_at, payload)
        outcome = self._decide(fact, profile, template, spec, holdouts)
        decision = outcome.decision.model_copy(
            update={
                "decision_id": decision_id,
                "message_id": f"m_{decision_id}" if outcome.decision.outcome == "send" else None,
                "reasons": [*reasons, *outcome.decision.reasons],
            }
        )
        window = budget.budget.window if budget is not None and budget.budget else None
        decision, raw = self._render(fact, Outcome(decision, outcome.variant), profile)
        sent = decision.send_trace()
        parts = self.repo.decision_parts(
            decision,
            sent=sent,
            send_seq=profile.alert_seq,
            lease=lease_attributes(decision.decision_id, self.now(), raw)
            if raw is not None
            else None,
            prune=self._outdated(profile, window) if sent is not None else (),
        )
        return Planned(decision=decision, raw=raw, to=profile.email, parts=parts)

    def plan_suppressed(
        self,
        *,
        template: str,
        decision_id: str,
        trigger: Mapping[str, str],
        candidate_id: str,
        reason: str,
        reasons: Sequence[str],
    ) -> Planned:
        """``record_suppressed``'s record, not yet written (as ``plan_send``)."""
        decision = self._held_back(
            template,
            decision_id,
            trigger,
            candidate_id=candidate_id,
            reason=reason,
            reasons=reasons,
        )
        parts = self.repo.decision_parts(decision, sent=None)
        return Planned(decision=decision, raw=None, to=None, parts=parts, held_back=True)

    def deliver(self, planned: Planned) -> Decision:
        """Send a planned decision whose claim is written: the decision as it stands after
        SES answered (status ``sent``, not yet completed: the caller completes it), recorded
        failed when SES refused it for good. A failure SES did not take: the claim is undone
        and the error raised, so that the retry sends (the caller keeps what takes it there:
        a journey's outbox); one SES may have taken keeps its claim (its lease)."""
        if planned.raw is None:
            return planned.decision
        assert planned.to
        return self._send(planned.decision, planned.raw, planned.to)

    def _send(self, decision: Decision, raw: bytes, to: str) -> Decision:
        """SES's answer to a claimed send: the decision ``sent`` (not yet completed), or
        recorded failed when SES refused it for good. A failure SES did not take undoes the
        claim and raises, so that the retry sends; one SES may have taken keeps its claim
        (its lease resolves it)."""
        try:
            self.sender.send_raw(
                sender=self.brand.sender_address,
                to=to,
                raw=raw,
                decision_id=decision.decision_id,
                candidate_id=decision.candidate_id,
            )
        except SendRefusedError as exc:
            failed = undeliverable(decision, exc.ses_code)
            self.repo.fail_decisions([failed])
            return failed
        except DeliveryError as exc:
            if not getattr(exc, "ambiguous", False):
                self.repo.release_decision(decision)
            raise
        return decision.model_copy(update={"status": "sent"})

    def announce(self, decision: Decision, *, held_back: bool = False) -> None:
        """Publish, count and log a decision carried out: by ``deliver`` (its caller
        announces), ``_carry_out`` or ``record_suppressed`` (``held_back``)."""
        self._publish(decision)
        count(decision.outcome, decision.reason)
        if held_back:
            logger.info(
                "decision",
                outcome="suppress",
                reason=decision.reason,
                template=decision.template,
                decision_id=decision.decision_id,
            )
            return
        logger.info(
            "decision",
            outcome=decision.outcome,
            reason=decision.reason,
            template=decision.template,
            variant=decision.variant,
            decision_id=decision.decision_id,
        )

    def record_suppressed(
        self,
        *,
        template: str,
        decision_id: str,
        trigger: Mapping[str, str],
        candidate_id: str,
        reason: str,
        reasons: Sequence[str],
    ) -> Decision:
        """A message held back before the decision (the contact budget, quiet hours past
        its deadline): recorded and announced like any suppression."""
        decision = self._held_back(
            template,
            decision_id,
            trigger,
            candidate_id=candidate_id,
            reason=reason,
            reasons=reasons,
        )
        try:
            self.repo.record_decision(decision, sent=None, behaviour=None)
        except DuplicateError:
            return decision
        self.announce(decision, held_back=True)
        return decision

    def _carry_out(
        self,
        fact: TriggerFact,
        outcome: Outcome,
        profile: Profile | None,
        behaviour: tuple[str, dict[str, object]] | None,
        window: timedelta | None = None,
    ) -> Decision:
        """Claim the decision (its record, the send's trace on the profile with the ledger's
        outdated traces removed, the behaviour, one transaction), send, announce.
        ``window``: a budget window the caller reads the ledger through, if longer than the
        configured ones."""
        decision, raw = self._render(fact, outcome, profile)
        if decision.candidate_id is None:
            self._publish(decision)
            return decision
        sent = decision.send_trace()
        try:
            self.repo.record_decision(
                decision,
                sent=sent,
                behaviour=behaviour,
                send_seq=profile.alert_seq if profile is not None else None,
                lease=lease_attributes(decision.decision_id, self.now(), raw)
                if raw is not None
                else None,
                prune=self._outdated(profile, window) if sent is not None else (),
            )
        except DuplicateError as exc:
            return self._duplicate(fact, decision, getattr(exc, "item", None))
        if raw is not None:
            assert profile is not None and profile.email
            decision = self._send(decision, raw, profile.email)
            if decision.status == "sent":
                self.repo.complete_decision(decision)  # the lease and the message go
        self.announce(decision)
        return decision

    def _held_back(
        self,
        template: str,
        decision_id: str,
        trigger: Mapping[str, str],
        *,
        candidate_id: str,
        reason: str,
        reasons: Sequence[str],
    ) -> Decision:
        spec = self.catalogue.message(template)
        return Decision(
            decision_id=decision_id,
            candidate_id=candidate_id,
            trigger=dict(trigger),
            template=template,
            purpose=spec.purpose,
            decided_at=self.now(),
            outcome="suppress",
            reason=reason,
            status="suppressed",
            reasons=list(reasons),
            inputs=DecisionInputs(content=dict(self.versions or {})),
        )

    def _render(
        self, fact: TriggerFact, outcome: Outcome, profile: Profile | None
    ) -> tuple[Decision, bytes | None]:
        """The message of a send, composed; a render that fails turns the decision into a
        suppression (render_error)."""
        decision = outcome.decision
        if outcome.variant is None:
            return decision, None
        try:
            return decision, self._compose(fact, decision, outcome, profile)
        except RenderError as exc:
            logger.warning(
                "render failed",
                template=decision.template,
                variant=decision.variant,
                error=str(exc),
            )
            return decision.render_failed(exc), None

    def _outdated(self, profile: Profile | None, window: timedelta | None) -> tuple[str, ...]:
        if profile is None:
            return ()
        caps = [cap.window for cap in (self.caps or {}).values()]
        return outdated_for(profile.recent, self.now(), window, *caps)

    def _compose(
        self, fact: TriggerFact, decision: Decision, outcome: Outcome, profile: Profile | None
    ) -> bytes:
        assert outcome.variant is not None and profile is not None
        event = fact.payload.get("event") or {}
        return compose_email(
            catalogue=self.catalogue,
            brand=self.brand,
            signer=self.signer(),
            token_ttl=self.token_ttl,
            decision=decision,
            variant=outcome.variant,
            profile=profile,
            page_url=event.get("url"),
            payload=lambda links: fact.payload,
        )

    def resolver(self, observers: Sequence[Callable[[Decision], None]] = ()) -> LeaseResolver:
        return LeaseResolver(
            repo=self.repo,
            sender=self.sender,
            publisher=self.publisher,
            policy=self.policy,
            sender_address=self.brand.sender_address,
            now=self.now,
            observers=observers,
        )

    def _duplicate(
        self, fact: TriggerFact, decision: Decision, item: dict[str, Any] | None = None
    ) -> Decision:
        """``item``: the record the claim met, when its failed write returned it."""
        assert decision.candidate_id is not None
        existing, claim = self.repo.decision_or_claim(
            decision.candidate_id, decision.decision_id, item
        )
        if claim is not None:
            # Claimed, never recorded sent: its sender died, or still runs (its lease).
            resolved = self.resolver().resolve(claim)
            if resolved is not None:
                return resolved
            logger.info("claim in flight", decision_id=decision.decision_id)
            return claim.decision
        if existing is not None and existing.trigger.get("event_id") == fact.event_id:
            # EventBridge redelivered the same envelope: re-announce what was decided.
            self._publish(existing)
            return existing
        duplicate = decision.suppressed(
            "duplicate",
            [f"this fact was already decided as {existing.decision_id if existing else '?'}"],
        )
        self._publish(duplicate)
        count(duplicate.outcome, duplicate.reason)
        logger.info(
            "decision",
            outcome="suppress",
            reason="duplicate",
            template=decision.template,
            decision_id=decision.decision_id,
        )
        return duplicate

    def _publish(self, decision: Decision) -> None:
        self.publisher.publish([announcement(decision)])


def undecidable(
    fact: TriggerFact,
    template: str,
    purpose: str,
    *,
    candidate_id: str,
    now: datetime,
    exc: Exception,
) -> Decision:
    """A candidate whose data could not be decided or rendered (an exception in one record of
    a batch): recorded ``failed``, reason ``decision_error``, with the kind of error (never its
    message, which may carry the data); the rest of the batch goes on."""
    return Decision(
        decision_id=decision_id(fact, template, candidate_id),
        candidate_id=candidate_id,
        trigger=fact.trigger,
        template=template,
        purpose=purpose,
        decided_at=now,
        outcome="suppress",
        reason="decision_error",
        status="failed",
        reasons=[f"this candidate could not be decided: {type(exc).__name__}"],
    )


def undeliverable(decision: Decision, ses_code: str) -> Decision:
    """A send SES refused for good: the decision ``failed``, suppressed ``undeliverable``
    (what `Message Suppressed` says), with SES's code among the reasons."""
    failed = decision.suppressed(
        "undeliverable", [*decision.reasons, f"SES refused the send: {ses_code}"]
    )
    return failed.model_copy(update={"status": "failed"})


def announcement(decision: Decision) -> tuple[str, MessageSent | MessageSuppressed]:
    """The event that announces a decision: `Message Sent` or `Message Suppressed`."""
    trigger = Trigger.model_validate(decision.trigger)
    purpose: Any = decision.purpose
    experiments = (
        [ExperimentArm(experiment=a.experiment, arm=a.arm) for a in decision.experiments]
        if decision.experiments
        else None
    )
    if decision.outcome == "send":
        assert decision.candidate_id and decision.message_id and decision.variant
        return "Message Sent", MessageSent(
            candidate_id=decision.candidate_id,
            message_id=decision.message_id,
            purpose=purpose,
            template=decision.template,
            variant=decision.variant,
            trigger=trigger,
            experiments=experiments,
        )
    return "Message Suppressed", MessageSuppressed(
        candidate_id=decision.candidate_id,
        purpose=purpose,
        reason=decision.reason or "unknown",
        trigger=trigger,
        template=decision.template,
        experiments=experiments,
    )


def _planned_fact(
    trigger: Mapping[str, str],
    profile: Profile | None,
    observed_at: datetime,
    payload: Mapping[str, Any],
) -> TriggerFact:
    subject = payload.get("event") or payload.get("job") or {}
    return TriggerFact(
        detail_type=trigger["detail_type"],
        event_id=trigger["event_id"],
        candidate_key=f"id:{profile.candidate_id}" if profile else "id:unknown",
        observed_at=observed_at,
        subject_id=subject.get("id") if isinstance(subject, Mapping) else None,
        payload=payload,
    )


def behaviour_of(fact: TriggerFact) -> tuple[str, dict[str, object]]:
    """The behaviour a candidate event records on the profile: its kind and when, about what."""
    return behaviour_kind(fact.detail_type), {
        "at": fact.observed_at.isoformat(),
        "subject_id": fact.subject_id,
        "event_id": fact.event_id,
    }
