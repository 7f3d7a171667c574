"""SES feedback: hard bounces and complaints put the address on the suppression list;
Delivery, Open and Click events become engagement facts (engagement/service.py).

SES publishes the events of the configuration set to EventBridge (the default bus; source
``aws.ses``, detail-types ``Email Bounced`` and ``Email Complaint Received``), with the SES
event record as ``detail``. A permanent bounce or a complaint suppresses every recipient it
names: the hash of the address goes on the list, and every profile that holds the address is
marked ``suppressed`` at once (decide() reads the flag, so the next trigger is stopped).
Transient and undetermined bounces are ignored (SES retries them; a soft bounce says nothing
lasting about the address), and so is a complaint whose feedback type is ``not-spam``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.privacy import PrivacyRepository
from ..adapters.suppression import SuppressionRepository
from ..engagement.service import ENGAGEMENT_FACTS
from ..models.ses import (
    SesBounce,
    SesComplaint,
    SesEventDetail,
    SesRecipient,
    parse_ses_detail,
)
from ..models.values import normalize_email
from ..observability import logger, metrics


@dataclass(frozen=True)
class Feedback:
    """What one SES event asks for: ``kind`` is "bounce", "complaint" or "ignore"."""

    kind: str
    reason: str
    addresses: tuple[str, ...] = ()


def parse_ses_event(detail: Mapping[str, Any] | SesEventDetail) -> Feedback:
    """Read an SES event record (the EventBridge ``detail``; the SNS shape works too). A
    record that does not fit models/ses.py is an InvalidEventError."""
    record = parse_ses_detail(detail)
    event_type = record.kind
    if event_type == "Bounce":
        bounce = record.bounce or SesBounce()
        bounce_type = bounce.bounce_type or "Undetermined"
        sub_type = bounce.bounce_sub_type or "General"
        if bounce_type != "Permanent":
            return Feedback("ignore", f"soft bounce ({bounce_type}/{sub_type})")
        addresses = _recipients(bounce.bounced_recipients)
        return Feedback("bounce", f"bounce:{sub_type}", addresses)
    if event_type == "Complaint":
        complaint = record.complaint or SesComplaint()
        feedback_type = complaint.complaint_feedback_type or "abuse"
        if feedback_type == "not-spam":
            return Feedback("ignore", "complaint feedback type not-spam")
        addresses = _recipients(complaint.complained_recipients)
        return Feedback("complaint", f"complaint:{feedback_type}", addresses)
    return Feedback("ignore", f"event type {event_type[:64] or 'missing'} is not feedback")


def _recipients(recipients: Sequence[SesRecipient]) -> tuple[str, ...]:
    out: list[str] = []
    for recipient in recipients:
        address = recipient.email_address
        if "@" in address:
            # "Name <addr>" is allowed in SES records; keep the address only.
            address = address.rsplit("<", 1)[-1].rstrip(">")
            out.append(normalize_email(address))
    return tuple(dict.fromkeys(out))


@dataclass
class FeedbackResult:
    kind: str
    addresses: int = 0
    profiles: list[str] = field(default_factory=list)


@dataclass
class FeedbackService:
    suppression: SuppressionRepository
    privacy: PrivacyRepository
    now: Callable[[], datetime]
    # Where SES's Send events are recorded: the talent pool (a claim's acceptance); built
    # from the environment when not given.
    sends: Any = None
    # What turns Delivery / Open / Click into engagement facts (engagement/service.py);
    # built from the environment when not given.
    engagement: Any = None

    def handle(self, detail: Mapping[str, Any] | SesEventDetail) -> FeedbackResult:
        record = parse_ses_detail(detail)
        if record.kind == "Send":
            return self._accepted(record)
        if record.kind in ENGAGEMENT_FACTS:
            return self._engaged(record)
        feedback = parse_ses_event(detail)
        if feedback.kind == "ignore":
            logger.info("ses feedback ignored", reason=feedback.reason)
            return FeedbackResult("ignore")
        result = FeedbackResult(feedback.kind, len(feedback.addresses))
        for address in feedback.addresses:
            # The list first: an ingest racing with this reads it when it sets the address.
            self.suppression.suppress(
                address, kind=feedback.kind, at=self.now(), reason=feedback.reason
            )
            for candidate_id in sorted(self.privacy.candidates_with_address(address)):
                if self.privacy.mark_suppressed(candidate_id):
                    result.profiles.append(candidate_id)
        metrics.add_metric(
            name=f"Suppressed_{feedback.kind}", unit="Count", value=len(feedback.addresses)
        )
        logger.info(
            "address suppressed",
            kind=feedback.kind,
            reason=feedback.reason,
            addresses=len(feedback.addresses),
            candidate_ids=result.profiles,
        )
        return result

    def _engaged(self, record: SesEventDetail) -> FeedbackResult:
        engagement = self.engagement
        if engagement is None:
            from ..wiring import engagement_service

            engagement = engagement_service()
        found = engagement.handle(record)
        return FeedbackResult("orphan" if found.orphan else record.kind.lower())

    def _accepted(self, record: SesEventDetail) -> FeedbackResult:
        """SES accepted a message: noted on its claim while the claim is open, so that a
        claim whose sender died before recording the send is recorded sent, not sent again
        (delivery/leases.py). A send recorded by its sender already changes nothing."""
        mail = record.mail
        decision_id = mail.tag("decision_id") if mail else None
        candidate_id = mail.tag("candidate_id") if mail else None
        if mail is None or not decision_id or not candidate_id:
            logger.info("ses send event without a decision id: ignored")
            return FeedbackResult("ignore")
        sends = self.sends
        if sends is None:
            from ..wiring import repository

            sends = repository()
        noted = sends.record_accepted(candidate_id, decision_id, mail.message_id or "accepted")
        logger.info("ses send event", decision_id=decision_id, noted_on_open_claim=noted)
        return FeedbackResult("send")
