"""What a campaign does to one candidate, and what it would do to the pool, without sending.

``decide_recipient`` is the one per-candidate decision of a campaign, for the preview and for
the launch alike, so that the preview's counts are what the launch sends: the segment, then
the campaign's exclusions (campaigns.exclusions: suppressed ``excluded``), the one decision
of the system (delivery.decide: suppression, consent, freshness, variant), then the contact
policy (quiet hours and the budget shared with journeys). Its decision id
derives from the campaign and the candidate only, so a campaign sends once per candidate
however often it is launched.

``aggregate_preview`` folds (profile, decision) pairs into counts by variant and by reason,
and keeps a few samples (a sample of each variant first), rendered by a callable the caller
passes (rendering needs links and tokens, which are not this module's business).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ..consent.policy import ConsentPolicy
from ..content.catalogue import MessageSpec, Variant
from ..delivery.budget import ContactPolicy, Priority
from ..delivery.decide import Outcome, TriggerFact, apply_holdouts, decide, holdouts_of
from ..models.state import Decision, Profile
from .counting import CAMPAIGN_TRIGGER
from .exclusions import EXCLUDED, Exclusions
from .model import Campaign, restricted_spec


def campaign_fact(
    campaign: Campaign, campaign_id: str, candidate_id: str, created_at: datetime
) -> TriggerFact:
    """The fact a campaign is to a candidate: its id is the campaign's, its time the
    campaign's creation; so the decision id is one per campaign and candidate."""
    return TriggerFact(
        detail_type=CAMPAIGN_TRIGGER,
        event_id=campaign_id,
        candidate_key=f"id:{candidate_id}",
        observed_at=created_at,
        subject_id=campaign_id,
        payload={"campaign": {"id": campaign_id, "name": campaign.name}},
    )


@dataclass(frozen=True)
class RecipientDecision:
    """``send`` now; ``defer`` (quiet hours or budget: send at ``deferred_until``, then decide
    again); or ``suppress`` (``decision.reason`` says why)."""

    decision: Decision
    variant: Variant | None
    action: Literal["send", "defer", "suppress"]
    deferred_until: datetime | None = None
    defer_reason: str | None = None

    @property
    def will_send(self) -> bool:
        return self.action in ("send", "defer")


def decide_recipient(
    *,
    campaign: Campaign,
    campaign_id: str,
    created_at: datetime,
    profile: Profile,
    spec: MessageSpec,
    consent: ConsentPolicy,
    contact: ContactPolicy,
    now: datetime,
    first_tried_at: datetime | None = None,
    freshness: Mapping[str, timedelta] | None = None,
    versions: Mapping[str, str] | None = None,
    exclusions: Exclusions | None = None,
    received: Collection[str] = (),
) -> RecipientDecision | None:
    """None when the candidate is not in the segment; else what the campaign does to them.
    ``now``: the moment of sending (the preview passes ``send_at`` when there is one, so that
    quiet hours are judged at the hour the campaign goes out). ``first_tried_at``: when a
    deferred recipient was first tried (the budget's max_defer counts from it).

    Holdouts (the catalogue message's, then the campaign's) come after the contact policy,
    so that only candidates who would be sent it (now or after a wait) are held out:
    suppressed with reason ``holdout``, never deferred, no room of the budget taken.
    ``exclusions``: the campaign's (campaigns.exclusions.load_exclusions); ``received``: the
    excluded campaigns the candidate's decision records show (campaigns.exclusions.
    received_for). An excluded candidate of the segment is suppressed ``excluded``, whatever
    else would hold them back."""
    inside, why = campaign.in_segment(profile, now)
    if not inside:
        return None
    outcome = decide(
        fact=campaign_fact(campaign, campaign_id, profile.candidate_id, created_at),
        profile=profile,
        template=campaign.content.template,
        spec=restricted_spec(campaign, spec),
        policy=consent,
        now=now,
        freshness=freshness,
        versions=versions,
        holdouts=None,
    )
    if exclusions is not None:
        own = outcome.decision.decision_id
        excluded = exclusions.check(profile, now, own_decision=own, received=received)
        if excluded is not None:
            held = outcome.decision.suppressed(EXCLUDED, [*why, excluded])
            return RecipientDecision(held, None, "suppress")
    decision = outcome.decision.model_copy(update={"reasons": [*why, *outcome.decision.reasons]})
    if decision.outcome != "send":
        return RecipientDecision(decision, None, "suppress")
    verdict = contact.check(
        priority=Priority.campaign,
        history=profile.recent.values(),
        timezone=profile.value("timezone"),
        now=now,
        first_tried_at=first_tried_at,
    )
    reasons = [*decision.reasons, verdict.explanation]
    if verdict.action == "suppress":
        held = decision.suppressed(verdict.reason or "frequency_cap", reasons)
        return RecipientDecision(held, None, "suppress")
    decision = decision.model_copy(update={"reasons": reasons})
    holdouts = holdouts_of(spec, campaign.content.template, campaign.holdouts())
    if holdouts:
        outcome = apply_holdouts(Outcome(decision, outcome.variant), holdouts)
        decision = outcome.decision
        if decision.outcome != "send":
            return RecipientDecision(decision, None, "suppress")
    if verdict.action == "defer":
        return RecipientDecision(
            decision, outcome.variant, "defer", verdict.at, verdict.reason or "deferred"
        )
    return RecipientDecision(decision, outcome.variant, "send")


Render = Callable[[Profile, RecipientDecision], Mapping[str, Any]]


@dataclass
class CampaignPreview:
    scanned: int = 0  # profiles looked at
    in_segment: int = 0
    would_send: int = 0  # now or after a deferral: what the launch sends
    held_out: int = 0  # would be sent, but held out (a holdout): not among would_send
    by_variant: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)  # reason -> candidates
    deferred: Counter[str] = field(default_factory=Counter)  # reason -> candidates (sent later)
    samples: list[dict[str, Any]] = field(default_factory=list)
    held_back: list[dict[str, Any]] = field(default_factory=list)  # an example per reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "in_segment": self.in_segment,
            "would_send": self.would_send,
            "held_out": self.held_out,
            "by_variant": dict(sorted(self.by_variant.items())),
            "suppressed": dict(sorted(self.suppressed.items())),
            "deferred": dict(sorted(self.deferred.items())),
            "samples": self.samples,
            "held_back": self.held_back,
        }


def aggregate_preview(
    pairs: Iterable[tuple[Profile, RecipientDecision | None]],
    *,
    samples: int = 3,
    render: Render | None = None,
) -> CampaignPreview:
    """Counts by variant and by suppression reason (the held out apart: ``held_out``), and up
    to ``samples`` samples (one of each variant before a second of any), each rendered by
    ``render`` when given. A pair whose decision is None is a profile outside the segment.
    Reads ``pairs`` once, keeping only the few profiles it may sample."""
    preview = CampaignPreview()
    candidates: dict[str, list[tuple[Profile, RecipientDecision]]] = {}
    for profile, recipient in pairs:
        preview.scanned += 1
        if recipient is None:
            continue
        preview.in_segment += 1
        decision = recipient.decision
        if decision.reason == "holdout":
            preview.held_out += 1
            continue
        if not recipient.will_send:
            reason = decision.reason or "unknown"
            if reason not in preview.suppressed:
                preview.held_back.append(
                    {
                        "candidate_id": decision.candidate_id,
                        "reason": reason,
                        "reasons": list(decision.reasons),
                    }
                )
            preview.suppressed[reason] += 1
            continue
        variant = decision.variant or "?"
        preview.would_send += 1
        preview.by_variant[variant] += 1
        if recipient.action == "defer":
            preview.deferred[recipient.defer_reason or "deferred"] += 1
        kept = candidates.setdefault(variant, [])
        if len(kept) < samples:
            kept.append((profile, recipient))
    chosen: list[tuple[Profile, RecipientDecision]] = []
    rounds = max((len(v) for v in candidates.values()), default=0)
    for index in range(rounds):
        for kept in candidates.values():
            if index < len(kept) and len(chosen) < samples:
                chosen.append(kept[index])
    for profile, recipient in chosen:
        sample: dict[str, Any] = {
            "candidate_id": recipient.decision.candidate_id,
            "variant": recipient.decision.variant,
            "action": recipient.action,
            "reasons": list(recipient.decision.reasons),
        }
        if recipient.deferred_until is not None:
            sample["deferred_until"] = recipient.deferred_until.isoformat()
        if render is not None:
            sample.update(render(profile, recipient))
        preview.samples.append(sample)
    return preview


def merge_previews(parts: Iterable[Mapping[str, Any]], *, samples: int = 3) -> dict[str, Any]:
    """One preview of the pool from the previews of its parts (the segments of a parallel
    Scan, each ``CampaignPreview.as_dict()``), in the order given: counts added up, the first
    example of each reason held back, and up to ``samples`` samples, one of each variant
    (in the order variants first appear) before a second of any."""
    merged = CampaignPreview()
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        merged.scanned += int(part.get("scanned", 0))
        merged.in_segment += int(part.get("in_segment", 0))
        merged.would_send += int(part.get("would_send", 0))
        merged.held_out += int(part.get("held_out", 0))
        merged.by_variant.update(part.get("by_variant") or {})
        merged.suppressed.update(part.get("suppressed") or {})
        merged.deferred.update(part.get("deferred") or {})
        seen = {h["reason"] for h in merged.held_back}
        for held in part.get("held_back") or []:
            if held.get("reason") not in seen:
                merged.held_back.append(dict(held))
                seen.add(held.get("reason"))
        for sample in part.get("samples") or []:
            by_variant.setdefault(str(sample.get("variant")), []).append(dict(sample))
    rounds = max((len(v) for v in by_variant.values()), default=0)
    for index in range(rounds):
        for kept in by_variant.values():
            if index < len(kept) and len(merged.samples) < samples:
                merged.samples.append(kept[index])
    return merged.as_dict()
