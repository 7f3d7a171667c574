"""Explain a campaign for one candidate: the preview's and the launch's own decision
(campaigns.preview.decide_recipient), with every check it makes as a step.

The outcome is decide_recipient's: ``not_eligible`` / ``not_in_segment`` outside the
segment (the segment step says which condition failed); ``suppress`` ``excluded`` when an
exclusion of the campaign holds (the exclusions step says which); ``suppress`` with decide's
reason or the contact policy's (``frequency_cap``); ``defer`` with ``quiet_hours`` or
``frequency_cap`` (the budget has room again later: the campaign sends then); ``send``
with the variant. The steps: the segment (Campaign.in_segment), then the checks of the one
decision (explain.message.message_steps on the campaign's restricted message), then quiet
hours and the contact budget (the ContactPolicy verdict for a campaign's priority).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..campaigns.exclusions import EXCLUDED, Exclusions
from ..campaigns.model import Campaign, restricted_spec
from ..campaigns.preview import campaign_fact, decide_recipient
from ..consent.policy import ConsentPolicy
from ..content.catalogue import MessageSpec
from ..delivery.budget import ContactPolicy, Priority
from ..models.state import Profile
from .message import Explanation, Step, message_steps

NOT_IN_SEGMENT = "not_in_segment"


def explain_campaign(
    *,
    campaign: Campaign,
    campaign_id: str,
    created_at: datetime,
    profile: Profile,
    spec: MessageSpec,
    consent: ConsentPolicy,
    contact: ContactPolicy,
    at: datetime,
    freshness: Mapping[str, timedelta] | None = None,
    exclusions: Exclusions | None = None,
    received: Collection[str] = (),
) -> Explanation:
    """What the campaign does to ``profile`` if decided at ``at``, and every step."""
    subject: dict[str, Any] = {
        "campaign": campaign_id,
        "name": campaign.name,
        "message": campaign.content.template,
        "purpose": campaign.purpose,
    }
    recipient = decide_recipient(
        campaign=campaign,
        campaign_id=campaign_id,
        created_at=created_at,
        profile=profile,
        spec=spec,
        consent=consent,
        contact=contact,
        now=at,
        freshness=freshness,
        exclusions=exclusions,
        received=received,
    )
    inside, why = campaign.in_segment(profile, at)
    segment = Step("segment", inside, "; ".join(why))
    if recipient is not None and recipient.decision.reason == EXCLUDED:
        return Explanation(
            candidate_id=profile.candidate_id,
            subject=subject,
            at=at,
            outcome="suppress",
            reason=EXCLUDED,
            variant=None,
            steps=[segment, Step("exclusions", False, recipient.decision.reasons[-1])],
        )
    if recipient is None:
        return Explanation(
            candidate_id=profile.candidate_id,
            subject=subject,
            at=at,
            outcome="not_eligible",
            reason=NOT_IN_SEGMENT,
            variant=None,
            steps=[segment],
        )
    fact = campaign_fact(campaign, campaign_id, profile.candidate_id, created_at)
    steps = [
        segment,
        *([Step("exclusions", True, "no exclusion holds")] if exclusions is not None else []),
        *message_steps(
            profile=profile,
            spec=restricted_spec(campaign, spec),
            payload=fact.payload,
            policy=consent,
            now=at,
            caps=None,
            freshness=freshness,
        ),
    ]
    verdict = contact.check(
        priority=Priority.campaign,
        history=profile.recent.values(),
        timezone=profile.value("timezone"),
        now=at,
    )
    why_contact = verdict.explanation
    if verdict.action == "defer":
        why_contact = f"{why_contact}; the campaign sends at {verdict.at.isoformat()}"
    steps.append(Step("quiet hours and contact budget", verdict.allowed, why_contact))
    decision = recipient.decision
    if recipient.action == "send":
        chosen = [r for r in decision.reasons if r.startswith(("variant ", "not "))]
        steps.append(
            Step("variant", True, "; ".join(chosen) or f"variant {decision.variant} chosen")
        )
    subject_out = dict(subject)
    if recipient.deferred_until is not None:
        subject_out["deferred_until"] = recipient.deferred_until.isoformat()
    return Explanation(
        candidate_id=profile.candidate_id,
        subject=subject_out,
        at=at,
        outcome=recipient.action,
        reason=recipient.defer_reason if recipient.action == "defer" else decision.reason,
        variant=decision.variant if recipient.will_send else None,
        steps=steps,
    )
