"""Who a campaign leaves out (``exclude``, docs/campaigns.md "Exclusions"): the recipients of
other campaigns, and whoever received a message of a purpose within some days. An excluded
candidate of the segment is decided ``suppress`` with the reason ``excluded`` (by
campaigns.preview.decide_recipient, for the preview, the launch and the explanations alike).

Where it is read, cheapest first:

- The send ledger on the profile (``recent``, delivery.ledger): a trace per message sent,
  keyed by its decision id, with its purpose and time, kept for the ledger's window (the
  budget's, the job alert cap's or ``LEDGER_WINDOW_DAYS``, the longest). The preview and the
  launch read the profile anyway: the ledger costs nothing more. A purpose's exclusion reads
  only it (a campaign may not exclude for longer than the ledger keeps: refused at create).
  A campaign's decision id derives from the campaign and the candidate, so "received
  campaign X" is "X's decision id is in the ledger" while X's sends are in the window.
- The decision records (pk=CAND#<id>, sk=DECISION#<decision id>): the durable truth, for
  an excluded campaign that may have sent before the ledger's window, i.e. one launched
  longer ago than the window. Only then are they read: one BatchGetItem for a page of
  candidates (100 ids) per such campaign, at most. A record counts when it is a send not
  failed (sent, or claimed and in flight).

A failed send removes its trace and its decision is ``failed``: not a recipient. A
candidate's own decision of this campaign (a re-launch, a deferred recipient decided again)
is never an exclusion.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..adapters.campaigns import CampaignRecord
from ..delivery.decide import TriggerFact, decision_id
from ..models.state import Decision, Profile
from .counting import CAMPAIGN_TRIGGER
from .model import Campaign

EXCLUDED = "excluded"
# (candidate id, decision id) pairs -> the decision records found, by decision id.
DecisionReader = Callable[[Sequence[tuple[str, str]]], Mapping[str, Decision]]


def campaign_decision_id(
    campaign_id: str, template: str, created_at: datetime, candidate_id: str
) -> str:
    """The id of campaign ``campaign_id``'s decision for a candidate (campaigns.preview.
    campaign_fact's, without the campaign's definition)."""
    fact = TriggerFact(
        detail_type=CAMPAIGN_TRIGGER,
        event_id=campaign_id,
        candidate_key=f"id:{candidate_id}",
        observed_at=created_at,
        subject_id=campaign_id,
        payload={},
    )
    return decision_id(fact, template, candidate_id)


@dataclass(frozen=True)
class ExcludedCampaign:
    """An excluded campaign as its META item says. ``sends_since``: no send of it is older
    (its launch; for one still a draft when read, the moment it was read)."""

    campaign_id: str
    template: str
    created_at: datetime
    sends_since: datetime

    def decision_id(self, candidate_id: str) -> str:
        return campaign_decision_id(self.campaign_id, self.template, self.created_at, candidate_id)

    def in_ledger(self, now: datetime, window: timedelta) -> bool:
        """Whether every send of it is still in the ledger's window at ``now``."""
        return self.sends_since > now - window


@dataclass(frozen=True)
class Exclusions:
    campaigns: tuple[ExcludedCampaign, ...] = ()
    purposes: Mapping[str, int] = field(default_factory=dict)  # purpose -> days
    window: timedelta = timedelta(days=7)  # the ledger's

    def needs_records(self, now: datetime) -> bool:
        """Whether an excluded campaign may have sent before the ledger's window."""
        return any(not c.in_ledger(now, self.window) for c in self.campaigns)

    def record_keys(self, candidate_ids: Iterable[str], now: datetime) -> list[tuple[str, str]]:
        """The decision records to read for these candidates: those of the excluded
        campaigns whose sends may have left the ledger (none, most of the time)."""
        old = [c for c in self.campaigns if not c.in_ledger(now, self.window)]
        return [(cid, c.decision_id(cid)) for cid in candidate_ids for c in old]

    def received(self, records: Mapping[str, Decision]) -> dict[str, set[str]]:
        """Candidate id -> the excluded campaigns their decision records say they got (a
        send, not failed: sent, or claimed and in flight)."""
        out: dict[str, set[str]] = {}
        for key, decision in records.items():
            candidate = decision.candidate_id
            if not candidate or decision.outcome != "send" or decision.status == "failed":
                continue
            for campaign in self.campaigns:
                if campaign.decision_id(candidate) == key:
                    out.setdefault(candidate, set()).add(campaign.campaign_id)
        return out

    def check(
        self,
        profile: Profile,
        now: datetime,
        *,
        own_decision: str,
        received: Collection[str] = (),
    ) -> str | None:
        """Why ``profile`` is excluded (a reason for the decision), or None. ``received``:
        the excluded campaigns the candidate's decision records show (record_keys)."""
        for campaign in self.campaigns:
            trace = profile.recent.get(campaign.decision_id(profile.candidate_id))
            if trace is not None:
                return (
                    f"excluded: received campaign {campaign.campaign_id} on "
                    f"{trace.at.date().isoformat()}"
                )
            if campaign.campaign_id in received:
                return f"excluded: received campaign {campaign.campaign_id}"
        for key, trace in sorted(profile.recent.items(), key=lambda kv: kv[1].at, reverse=True):
            days = self.purposes.get(trace.purpose)
            if days is None or key == own_decision:
                continue
            if now - timedelta(days=days) < trace.at <= now:
                return (
                    f"excluded: received a {trace.purpose} message on "
                    f"{trace.at.date().isoformat()}, within {days} days"
                )
        return None


def load_exclusions(
    campaign: Campaign,
    get: Callable[[str], CampaignRecord | None],
    *,
    now: datetime,
    window: timedelta | None = None,
) -> Exclusions | None:
    """The campaign's exclusions with the excluded campaigns read (a GetItem each); None
    when it excludes nothing. ``window``: the ledger's (None: this deployment's)."""
    if window is None:
        from ..delivery.ledger import configured_window

        window = configured_window()
    exclude = campaign.exclude
    if exclude is None or not (exclude.campaigns or exclude.purposes):
        return None
    found = []
    for other in exclude.campaigns:
        record = get(other)
        if record is None:
            continue  # checked at create; campaigns are never deleted
        launched = record.launched_at
        since = datetime.fromisoformat(launched) if launched else now
        template = str((record.definition.get("content") or {}).get("template", ""))
        found.append(ExcludedCampaign(other, template, record.created_at, since))
    return Exclusions(tuple(found), dict(exclude.purposes), window)


def received_for(
    exclusions: Exclusions | None,
    candidate_ids: Iterable[str],
    now: datetime,
    read: DecisionReader | None,
) -> dict[str, set[str]]:
    """Candidate id -> excluded campaigns received, from the decision records: read only for
    excluded campaigns launched longer ago than the ledger keeps (one batch read)."""
    if exclusions is None or read is None or not exclusions.needs_records(now):
        return {}
    keys = exclusions.record_keys(candidate_ids, now)
    if not keys:
        return {}
    return exclusions.received(read(keys))
