"""Triggered messages: resolve, decide, render, claim, send, record.

Requests per sent message: one read (the profile), one transaction (the decision record,
which is the durable dedupe, plus the send trace on the profile), one SES send, one
PutEvents. A suppressed trigger costs the read, the decision write and the PutEvents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..adapters.bus import EventPublisher
from ..adapters.ses import SesSender
from ..adapters.talent_pool import TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue
from ..errors import DeliveryError, DuplicateError, RenderError
from ..models.events import CandidateRef, MessageSent, MessageSuppressed, Trigger
from ..models.state import Decision, SentRecord
from ..observability import count, logger
from ..tokens import TokenSigner
from .compose import compose_email
from .context import Brand
from .decide import FrequencyCap, Outcome, TriggerFact, decide


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

    def handle_trigger(self, fact: TriggerFact, candidate: CandidateRef) -> list[Decision]:
        """Every message of the catalogue that this trigger causes, for its candidate."""
        templates = self.catalogue.for_trigger(fact.detail_type)
        if not templates:
            logger.info("no message for trigger", detail_type=fact.detail_type)
            return []
        profile = self.repo.resolve(candidate)
        decisions = []
        for template in templates:
            spec = self.catalogue.message(template)
            outcome = decide(
                fact=fact,
                profile=profile,
                template=template,
                spec=spec,
                policy=self.policy,
                now=self.now(),
                caps=self.caps,
            )
            decisions.append(self._carry_out(fact, outcome, profile))
        return decisions

    def _carry_out(self, fact: TriggerFact, outcome: Outcome, profile) -> Decision:  # type: ignore[no-untyped-def]
        decision = outcome.decision
        raw: bytes | None = None
        if outcome.variant is not None:
            try:
                raw = self._compose(fact, decision, outcome, profile)
            except RenderError as exc:
                logger.warning(
                    "render failed",
                    template=decision.template,
                    variant=decision.variant,
                    error=str(exc),
                )
                decision = decision.model_copy(
                    update={
                        "outcome": "suppress",
                        "reason": "render_error",
                        "status": "suppressed",
                        "message_id": None,
                        "reasons": [*decision.reasons, f"render error: {exc}"],
                    }
                )
        if decision.candidate_id is None:
            self._publish(decision)
            return decision
        behaviour = _behaviour(fact)
        sent = None
        if decision.outcome == "send":
            sent = SentRecord(
                at=decision.decided_at, purpose=decision.purpose, template=decision.template
            )
        try:
            self.repo.record_decision(decision, sent=sent, behaviour=behaviour)
        except DuplicateError:
            return self._duplicate(fact, decision)
        if raw is not None:
            try:
                self.sender.send_raw(sender=self.brand.sender_address, to=profile.email, raw=raw)
            except DeliveryError:
                # Undo the claim so that Lambda's retry can send; then let it retry.
                self.repo.release_decision(decision)
                raise
            decision = decision.model_copy(update={"status": "sent"})
        self._publish(decision)
        count(decision.outcome, decision.reason)
        logger.info(
            "decision",
            outcome=decision.outcome,
            reason=decision.reason,
            template=decision.template,
            variant=decision.variant,
            decision_id=decision.decision_id,
        )
        return decision

    def _compose(self, fact: TriggerFact, decision: Decision, outcome: Outcome, profile) -> bytes:  # type: ignore[no-untyped-def]
        assert outcome.variant is not None
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

    def _duplicate(self, fact: TriggerFact, decision: Decision) -> Decision:
        assert decision.candidate_id is not None
        existing = self.repo.get_decision(decision.candidate_id, decision.decision_id)
        if existing is not None and existing.trigger.get("event_id") == fact.event_id:
            # EventBridge redelivered the same envelope: re-announce what was decided.
            self._publish(existing)
            return existing
        duplicate = decision.model_copy(
            update={
                "outcome": "suppress",
                "reason": "duplicate",
                "status": "suppressed",
                "variant": None,
                "message_id": None,
                "reasons": [
                    f"this fact was already decided as {existing.decision_id if existing else '?'}"
                ],
            }
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


def announcement(decision: Decision) -> tuple[str, MessageSent | MessageSuppressed]:
    """The event that announces a decision: `Message Sent` or `Message Suppressed`."""
    trigger = Trigger.model_validate(decision.trigger)
    purpose: Any = decision.purpose
    if decision.outcome == "send":
        assert decision.candidate_id and decision.message_id and decision.variant
        return "Message Sent", MessageSent(
            candidate_id=decision.candidate_id,
            message_id=decision.message_id,
            purpose=purpose,
            template=decision.template,
            variant=decision.variant,
            trigger=trigger,
        )
    return "Message Suppressed", MessageSuppressed(
        candidate_id=decision.candidate_id,
        purpose=purpose,
        reason=decision.reason or "unknown",
        trigger=trigger,
        template=decision.template,
    )


def _behaviour(fact: TriggerFact) -> tuple[str, dict[str, object]]:
    kind = fact.detail_type.removeprefix("Candidate ").lower().replace(" ", "_").replace("-", "_")
    return kind, {
        "at": fact.observed_at.isoformat(),
        "subject_id": fact.subject_id,
        "event_id": fact.event_id,
    }
