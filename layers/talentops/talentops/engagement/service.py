"""SES's Delivery, Open and Click events become `Message Delivered`, `Message Opened` and
`Message Clicked` on the system's bus, tied to the decision that sent the message.

The configuration set publishes each event with the message's tags; every send carries its
decision id and candidate id as tags (delivery/leases.py), so one read of the decision gives
the message id, the template and the variant. An event that cannot be tied to a sent
message (no tags: not one of ours; a decision that is gone: the candidate was erased, or
never sent) is an orphan: counted (metric `EngagementOrphans`) and logged by kind, never
retried, never published. A click's URL travels without the link token it carried (`t=`
and any other token parameter): the bus and what reads it never hold a credential.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..observability import logger, metrics
from .urls import without_token

if TYPE_CHECKING:  # the fact models load with the first fact (the bounce path makes none)
    from ..models.events import MessageEngagement
    from ..models.ses import SesEventDetail
    from ..models.state import Decision

# SES event type -> the fact it becomes.
ENGAGEMENT_FACTS = {
    "Delivery": "Message Delivered",
    "Open": "Message Opened",
    "Click": "Message Clicked",
}


@dataclass(frozen=True)
class Engagement:
    """What one SES engagement event became: the fact published, or an orphan's reason."""

    kind: str
    detail_type: str | None = None
    detail: MessageEngagement | None = None
    orphan: str | None = None


def engagement_of(
    record: SesEventDetail, decision: Decision | None, *, received_at: datetime
) -> Engagement:
    """The fact an SES Delivery / Open / Click record becomes (pure); `decision` is the one
    its tags name (None when there is none)."""
    kind = record.kind
    detail_type = ENGAGEMENT_FACTS[kind]
    if decision is None:
        return Engagement(kind, orphan="no_decision")
    if decision.outcome != "send" or not decision.message_id or not decision.candidate_id:
        return Engagement(kind, orphan="not_sent")
    at = None
    if kind == "Delivery" and record.delivery is not None:
        at = record.delivery.timestamp
    elif kind == "Open" and record.open is not None:
        at = record.open.timestamp
    elif kind == "Click" and record.click is not None:
        at = record.click.timestamp
    fields = {
        "message_id": decision.message_id,
        "candidate_id": decision.candidate_id,
        "template": decision.template,
        "variant": decision.variant,
        "at": at or received_at,
        "decision_id": decision.decision_id,
    }
    from ..models.events import MessageClicked, MessageEngagement

    if kind == "Click":
        link = record.click.link if record.click is not None else None
        if not link:
            return Engagement(kind, orphan="click_without_link")
        return Engagement(kind, detail_type, MessageClicked(**fields, url=without_token(link)))
    return Engagement(kind, detail_type, MessageEngagement(**fields))


@dataclass
class EngagementService:
    """Reads the decision a record's tags name and publishes the engagement fact."""

    get_decision: Callable[[str, str], Decision | None]
    publish: Callable[[list[tuple[str, MessageEngagement]]], None]
    now: Callable[[], datetime]

    def handle(self, record: SesEventDetail) -> Engagement:
        mail = record.mail
        decision_id = mail.tag("decision_id") if mail else None
        candidate_id = mail.tag("candidate_id") if mail else None
        if not decision_id or not candidate_id:
            found = Engagement(record.kind, orphan="untagged")
        else:
            decision = self.get_decision(candidate_id, decision_id)
            found = engagement_of(record, decision, received_at=self.now())
        if found.orphan is not None or found.detail is None or found.detail_type is None:
            metrics.add_metric(name="EngagementOrphans", unit="Count", value=1)
            logger.info("engagement orphan", kind=record.kind, reason=found.orphan)
            return found
        self.publish([(found.detail_type, found.detail)])
        metrics.add_metric(name=f"Engagement_{record.kind}", unit="Count", value=1)
        logger.info("engagement", kind=record.kind, decision_id=found.detail.decision_id)
        return found
