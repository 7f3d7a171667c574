"""The preview of a campaign as a job: no request's duration depends on the pool's size.

``POST /admin/campaigns/{id}/preview`` (campaigns.service.CampaignService.start_preview)
makes a new run the campaign's preview on its META item (conditional: two calls at once
start one) and puts one message per segment of a parallel Scan on the preview queue
(CampaignPreviewQueue). The campaign worker takes each (``PreviewWorker.segment``): it
reads its segment of the addressable pool page by page (by_email index, projecting only
what decisions read), decides every profile with campaigns.preview.decide_recipient (the
launch's own function) at the run's moment, folds them with aggregate_preview, and saves
the profiles it has scanned on META after each page (``GET .../preview`` shows their sum).
At the end it stores what it found as a part and adds itself to the segments done; the
segment that completes the set merges the parts (merge_previews), stores the result, marks
the preview done and removes the parts. A segment short of time stores a part of what it
read and queues its own continuation from its cursor.

When a preview is valid: for the campaign's definition (its fingerprint: the id derives
from it and a definition never changes, but the stored result names it all the same) and
for ``PREVIEW_FRESH`` (10 minutes) from the moment it started reading the pool: after that
the pool, consent and the contact budget may have moved, quiet hours too, and POST computes
it again. A run that has not finished ``PREVIEW_STALLED`` (15 minutes) after it started (a
segment in the dead-letter queue) is replaced by the next POST. A message of a run that is
no longer the campaign's preview does nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..adapters.campaigns import CampaignRepository, PreviewState
from ..adapters.talent_pool import decode_key, encode_key
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue
from ..delivery.budget import ContactPolicy
from ..delivery.compose import compose_email
from ..delivery.context import Brand
from ..errors import RenderError
from ..models.state import Profile
from ..observability import logger
from ..tokens import TokenSigner
from .exclusions import DecisionReader, load_exclusions, received_for
from .model import Campaign
from .preview import RecipientDecision, aggregate_preview, decide_recipient

PREVIEW_FRESH = timedelta(minutes=10)
PREVIEW_STALLED = timedelta(minutes=15)
PREVIEW_KEEP = timedelta(days=1)  # the preview's items expire (TTL) after this
PREVIEW_SEGMENTS = 16  # segments of the parallel Scan: messages on the preview queue
MIN_SECONDS_LEFT = 10.0  # a segment with less left stores what it read and goes on
RUN_ID = r"^prv_[0-9a-f]{16}$"


class PreviewMessage(BaseModel):
    """A message of the preview queue: one segment of a preview's parallel Scan (``chunk``
    > 0: its continuation from ``cursor``, ``scanned`` profiles read before it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    v: int = 1
    kind: Literal["preview"] = "preview"
    campaign_id: str = Field(pattern=r"^cmp_[0-9a-f]{16}$")
    run: str = Field(pattern=RUN_ID)
    segment: int = Field(ge=0)
    segments: int = Field(ge=1, le=1000)
    at: AwareDatetime
    chunk: int = Field(default=0, ge=0)
    cursor: str | None = Field(default=None, max_length=4096)
    scanned: int = Field(default=0, ge=0)


def new_run() -> str:
    return f"prv_{secrets.token_hex(8)}"


def preview_moment(campaign: Campaign, now: datetime) -> datetime:
    """The moment a preview decides for: the campaign's send_at when it is to come, else
    now (quiet hours are judged at the hour the campaign goes out)."""
    return max(campaign.send_at, now) if campaign.send_at else now


def is_fresh(state: PreviewState, now: datetime) -> bool:
    return now - state.started_at < PREVIEW_FRESH


def is_stalled(state: PreviewState, now: datetime) -> bool:
    return state.state != "done" and now - state.started_at >= PREVIEW_STALLED


def running_view(campaign_id: str, state: PreviewState) -> dict[str, Any]:
    """``GET .../preview`` while the preview runs."""
    return {
        "campaign_id": campaign_id,
        "preview": "running",
        "scanned": state.scanned,
        "segments": state.segments,
        "segments_done": len(state.done),
        "started_at": state.started_at.isoformat(),
    }


def done_view(state: PreviewState, result: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """``GET .../preview`` when it is done: the preview, its moment and until when it
    holds (``stale``: past that; POST computes it again)."""
    return {
        **result,
        "preview": "done",
        "computed_at": state.started_at.isoformat(),
        "fresh_until": (state.started_at + PREVIEW_FRESH).isoformat(),
        "stale": not is_fresh(state, now),
    }


Render = Callable[[Profile, RecipientDecision], dict[str, Any]]


def sample_renderer(
    catalogue: Catalogue, brand: Brand, signer: TokenSigner, token_ttl: timedelta
) -> Render:
    """Renders a sample as the launch renders its email (subject, text, HTML); ``signer``
    holds a throwaway key, so that the sample's links look real and open nothing."""
    from .service import rendered_parts

    def render(profile: Profile, recipient: RecipientDecision) -> dict[str, Any]:
        assert recipient.variant is not None
        try:
            raw = compose_email(
                catalogue=catalogue,
                brand=brand,
                signer=signer,
                token_ttl=token_ttl,
                decision=recipient.decision,
                variant=recipient.variant,
                profile=profile,
                page_url=None,
                payload=lambda _links: {},
            )
        except RenderError as exc:
            return {"render_error": str(exc)}
        return rendered_parts(raw)

    return render


@dataclass
class PreviewReport:
    campaign_id: str
    status: str = "done"  # done | continued | merged | superseded | unknown_campaign
    scanned: int = 0
    pages: int = 0


@dataclass
class PreviewWorker:
    campaigns: CampaignRepository
    catalogue: Catalogue
    consent: ConsentPolicy
    contact: ContactPolicy
    brand: Brand
    now: Callable[[], datetime]
    queue: Callable[[], Any]  # the preview queue's QueueSender
    freshness: Mapping[str, timedelta] | None = None
    token_ttl: timedelta = timedelta(days=90)
    samples: int = 3
    page_size: int | None = None  # profiles a Scan page (None: DynamoDB's 1 MB)
    # Decision records (campaigns.exclusions): read only for an excluded campaign launched
    # longer ago than the send ledger keeps.
    decisions: DecisionReader | None = None
    _signer: TokenSigner = field(default_factory=lambda: TokenSigner(secrets.token_bytes(32)))

    def segment(
        self, message: PreviewMessage, seconds_left: Callable[[], float] | None = None
    ) -> PreviewReport:
        left = seconds_left or (lambda: 900.0)
        cid = message.campaign_id
        report = PreviewReport(cid)
        record = self.campaigns.get(cid)
        if record is None:
            report.status = "unknown_campaign"
            return report
        if record.preview is None or record.preview.run != message.run:
            report.status = "superseded"
            logger.info("a preview message of an older run", campaign_id=cid)
            return report
        campaign = Campaign.model_validate(record.definition)
        spec = self.catalogue.message(campaign.content.template)
        cursor = decode_key(message.cursor)
        scanned = message.scanned
        state: dict[str, Any] = {"cursor": cursor, "finished": False, "superseded": False}

        exclusions = load_exclusions(campaign, self.campaigns.get, now=self.now())

        def pairs() -> Iterator[tuple[Profile, RecipientDecision | None]]:
            nonlocal scanned
            while True:
                page = self.campaigns.pool_scan(
                    start_key=state["cursor"],
                    segment=message.segment,
                    segments=message.segments,
                    limit=self.page_size,
                )
                received: dict[str, set[str]] = {}
                if exclusions is not None and exclusions.needs_records(self.now()):
                    inside = [
                        i.profile.candidate_id
                        for i in page.items
                        if campaign.in_segment(i.profile, message.at)[0]
                    ]
                    received = received_for(exclusions, inside, self.now(), self.decisions)
                for item in page.items:
                    yield (
                        item.profile,
                        decide_recipient(
                            campaign=campaign,
                            campaign_id=cid,
                            created_at=record.created_at,
                            profile=item.profile,
                            spec=spec,
                            consent=self.consent,
                            contact=self.contact,
                            now=message.at,
                            freshness=self.freshness,
                            exclusions=exclusions,
                            received=received.get(item.profile.candidate_id, ()),
                        ),
                    )
                scanned += len(page.items)
                report.pages += 1
                state["cursor"] = page.last_key
                if page.last_key is None:
                    state["finished"] = True
                    return
                if not self.campaigns.preview_progress(cid, message.run, message.segment, scanned):
                    state["superseded"] = True  # a newer run replaced this one: stop
                    return
                if left() < MIN_SECONDS_LEFT:
                    return

        render = sample_renderer(self.catalogue, self.brand, self._signer, self.token_ttl)
        part = aggregate_preview(pairs(), samples=self.samples, render=render).as_dict()
        report.scanned = scanned - message.scanned
        if state["superseded"]:
            report.status = "superseded"
            return report
        finished = bool(state["finished"])
        now = self.now()
        after = self.campaigns.finish_preview_part(
            cid,
            message.run,
            segment=message.segment,
            chunk=message.chunk,
            part=part,
            scanned=scanned,
            last=finished,
            expires_at=now + PREVIEW_KEEP,
        )
        if after is None:
            report.status = "superseded"
            return report
        if not finished:
            follow = message.model_copy(
                update={
                    "chunk": message.chunk + 1,
                    "cursor": encode_key(state["cursor"]),
                    "scanned": scanned,
                }
            )
            self.queue().send_bodies([follow.model_dump_json()])
            report.status = "continued"
            return report
        if len(after.done) >= after.segments:
            self._merge(cid, record.fingerprint, after, now)
            report.status = "merged"
        logger.info(
            "preview segment done",
            campaign_id=cid,
            segment=message.segment,
            scanned=scanned,
            status=report.status,
        )
        return report

    def _merge(
        self, campaign_id: str, fingerprint: str, state: PreviewState, now: datetime
    ) -> None:
        from .preview import merge_previews

        parts = self.campaigns.preview_parts(campaign_id, state.run)
        merged = merge_previews([p for _, p in parts], samples=self.samples)
        result = {
            "campaign_id": campaign_id,
            "fingerprint": fingerprint,
            "decided_at": state.at.isoformat(),
            **merged,
        }
        self.campaigns.save_preview(
            campaign_id,
            state.run,
            result,
            parts=[sk for sk, _ in parts],
            now=now,
            expires_at=now + PREVIEW_KEEP,
        )
        logger.info("preview done", campaign_id=campaign_id, scanned=merged["scanned"])


def parse_preview_message(body: str | bytes | Mapping[str, Any]) -> PreviewMessage:
    if isinstance(body, Mapping):
        return PreviewMessage.model_validate(dict(body))
    return PreviewMessage.model_validate_json(body)
