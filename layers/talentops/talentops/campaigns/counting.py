"""Counting what the lease reconciler resolved for a campaign (its own module, so that the
send_reconciler function imports it without the launch's sending machinery)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..models.state import Decision

if TYPE_CHECKING:
    from ..adapters.campaigns import CampaignRepository

# The trigger of a campaign's decisions (campaigns.preview decides them).
CAMPAIGN_TRIGGER = "Campaign Launched"


def count_resolved(campaigns: Callable[[], CampaignRepository]) -> Callable[[Decision], None]:
    """Counts a campaign recipient whose claim was resolved after its worker died (the
    worker never counted it): sent, failed or suppressed by reason. ``campaigns`` gives the
    repository, asked when a campaign's claim is first resolved (the reconciler's usual
    run resolves none, and its cold start then imports no campaign code)."""
    made: list[CampaignRepository] = []

    def repository() -> CampaignRepository:
        if not made:
            made.append(campaigns())
        return made[0]

    def observe(decision: Decision) -> None:
        if decision.trigger.get("detail_type") != CAMPAIGN_TRIGGER:
            return
        from ..adapters.campaigns import CampaignCounts

        counts = CampaignCounts()
        if decision.status == "sent":
            counts.sent = 1
        elif decision.status == "failed":
            counts.failed = 1
        else:
            counts.suppressed = {decision.reason or "unknown": 1}
        repository().add_counts(decision.trigger["event_id"], counts)

    return observe
