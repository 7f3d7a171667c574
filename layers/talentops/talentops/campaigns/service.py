"""Campaigns as operations use them (docs/campaigns.md): create,
preview, launch, status.

- create: the definition validated against the catalogue (CampaignError: every problem with
  its path); its id derives from its fingerprint, so a create sent again (a client retry)
  finds the campaign it made instead of making a second one that would send again.
- preview: a job (campaigns.preview_job): start_preview answers at once, the preview fresh
  and done, or running (a new run's segments queued unless one runs); preview_status is
  the run's progress (profiles scanned) or its result. The job decides every candidate with
  campaigns.preview.decide_recipient, the launch's own function, at the moment the campaign
  will go out (``send_at``, or now), and sends nothing; samples are rendered as the launch
  renders them, with a throwaway token key.
- launch: queues the fan-out (campaigns.launch) or, with a ``send_at`` to come, schedules it
  then; once launched, launching again resumes a fan-out that stopped and otherwise does
  nothing. Every candidate's decision has one id per campaign, so however often a campaign
  is launched it sends once per candidate.
- status: the META item's counters.
- list: the campaigns newest first (a Query of the campaigns_by_created index), optionally
  of one status, a page at a time with an opaque ``next`` token (campaigns.listing).
- control: cancel (never starts, or stops queuing; what was sent stays sent and counted),
  pause and resume (the fan-out and the pages stop taking recipients; resume goes on from
  the fan-out's cursor and queues again the pages parked meanwhile). A transition that makes
  no sense is a CampaignStateError (409).
"""

from __future__ import annotations

import email
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy as email_policy
from typing import Any

from ..adapters.campaigns import CampaignExistsError, CampaignRecord, CampaignRepository
from ..adapters.queue import QueueSender
from ..adapters.scheduler import TimerScheduler
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue
from ..delivery.budget import ContactPolicy
from ..delivery.context import Brand
from ..errors import TalentOpsError
from ..observability import logger
from .launch import CampaignMessage
from .listing import ListQuery, campaign_summary, keeps, next_token
from .model import Campaign, CampaignError, SegmentResolver, validate_campaign
from .preview_job import (
    PREVIEW_SEGMENTS,
    PreviewMessage,
    done_view,
    is_fresh,
    is_stalled,
    new_run,
    preview_moment,
    running_view,
)

CAMPAIGN_ID = r"^cmp_[0-9a-f]{16}$"


class UnknownCampaignError(TalentOpsError):
    code = "unknown_campaign"


class NoPreviewError(TalentOpsError):
    code = "no_preview"


class CampaignStateError(TalentOpsError):
    """The campaign's status does not allow this (cancel a sent one, resume one not
    paused...): 409."""

    code = "invalid_transition"

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


# What each control verb may start from (the view's status: "sent" is a launched campaign
# whose work is all done).
PAUSABLE = ("scheduled", "launching", "launched")


def campaign_id_of(campaign: Campaign) -> str:
    return f"cmp_{campaign.fingerprint()}"


def launch_timer_name(campaign_id: str) -> str:
    return f"campaign-launch-{campaign_id}"


@dataclass
class CampaignService:
    campaigns: CampaignRepository
    catalogue: Catalogue
    consent: ConsentPolicy
    contact: ContactPolicy
    brand: Brand
    now: Callable[[], datetime]
    queue: Callable[[], QueueSender]
    timers: Callable[[], TimerScheduler]
    preview_queue: Callable[[], QueueSender] | None = None
    preview_segments: int = PREVIEW_SEGMENTS
    freshness: Mapping[str, timedelta] | None = None
    token_ttl: timedelta = timedelta(days=90)
    # Resolves a definition's segment_ref (campaigns.segments.SegmentService.resolve).
    segments: SegmentResolver | None = None

    # -- create -----------------------------------------------------------------------------

    def create(self, data: Any) -> tuple[dict[str, Any], bool]:
        """The campaign's view and whether it is new. CampaignError names each problem."""
        from ..delivery.ledger import configured_window

        campaign = validate_campaign(
            data,
            messages=self.catalogue.messages,
            segments=self.segments,
            window=configured_window(),
        )
        self._check_excluded(campaign)
        campaign_id = campaign_id_of(campaign)
        definition = json.dumps(campaign.model_dump(mode="json", exclude_none=True))
        try:
            record = self.campaigns.create(
                campaign_id,
                definition=definition,
                fingerprint=campaign.fingerprint(),
                created_at=self.now(),
            )
            created = True
        except CampaignExistsError:
            record = self._record(campaign_id)
            created = False
        logger.info("campaign created", campaign_id=campaign_id, new=created)
        return self.view(record), created

    def _check_excluded(self, campaign: Campaign) -> None:
        """Every campaign excluded exists (one GetItem each, at most 20)."""
        from ..journeys.source import Problem

        excluded = campaign.exclude.campaigns if campaign.exclude else ()
        problems = [
            Problem("campaign", None, f"exclude.campaigns[{index}]", "no campaign has this id")
            for index, other in enumerate(excluded)
            if self.campaigns.get(other) is None
        ]
        if problems:
            raise CampaignError(problems)

    def _record(self, campaign_id: str) -> CampaignRecord:
        record = self.campaigns.get(campaign_id)
        if record is None:
            raise UnknownCampaignError(f"no campaign has the id {campaign_id[:40]!r}")
        return record

    # -- preview (a job: campaigns.preview_job) ----------------------------------------------

    def start_preview(self, campaign_id: str) -> tuple[int, dict[str, Any]]:
        """(200, the preview) when the last one of this definition is done and fresh; else
        (202, running) with a run started (its segments queued) unless one is running."""
        record = self._record(campaign_id)
        state = record.preview
        now = self.now()
        if state is not None and state.state == "done" and is_fresh(state, now):
            result = self.campaigns.preview_result(record.campaign_id, state.run)
            if result is not None and result.get("fingerprint") == record.fingerprint:
                return 200, done_view(state, result, now)
        if state is not None and state.state == "running" and not is_stalled(state, now):
            return 202, running_view(record.campaign_id, state)
        campaign = Campaign.model_validate(record.definition)
        at = preview_moment(campaign, now)
        run = new_run()
        started = self.campaigns.start_preview(
            record.campaign_id,
            run=run,
            replaces=state.run if state else None,
            started_at=now,
            at=at,
            segments=self.preview_segments,
        )
        if started:
            bodies = [
                PreviewMessage(
                    campaign_id=record.campaign_id,
                    run=run,
                    segment=segment,
                    segments=self.preview_segments,
                    at=at,
                ).model_dump_json()
                for segment in range(self.preview_segments)
            ]
            assert self.preview_queue is not None, "no preview queue configured"
            self.preview_queue().send_bodies(bodies)
            logger.info("campaign preview started", campaign_id=record.campaign_id)
        # Started here, or by another call at the same moment: running either way.
        latest = self._record(record.campaign_id).preview
        assert latest is not None
        return 202, running_view(record.campaign_id, latest)

    def preview_status(self, campaign_id: str) -> tuple[int, dict[str, Any]]:
        """(202, running with the profiles scanned) or (200, the preview); NoPreviewError
        when none was started (or its result expired)."""
        record = self._record(campaign_id)
        state = record.preview
        if state is None:
            raise NoPreviewError("no preview of this campaign: POST .../preview starts one")
        if state.state != "done":
            return 202, running_view(record.campaign_id, state)
        result = self.campaigns.preview_result(record.campaign_id, state.run)
        if result is None:
            raise NoPreviewError("the last preview has expired: POST .../preview computes it")
        return 200, done_view(state, result, self.now())

    # -- launch -----------------------------------------------------------------------------

    def launch(self, campaign_id: str) -> dict[str, Any]:
        record = self._record(campaign_id)
        campaign = Campaign.model_validate(record.definition)
        now = self.now()
        fanout = CampaignMessage(kind="fanout", campaign_id=record.campaign_id)
        if record.status in ("paused", "cancelled"):
            hint = "resume it" if record.status == "paused" else "create a new one"
            raise CampaignStateError(
                f"the campaign is {record.status}: it cannot be launched ({hint})", record.status
            )
        if record.status == "draft":
            if campaign.send_at is not None and campaign.send_at > now:
                if self.campaigns.set_status(
                    record.campaign_id, "scheduled", allowed_from=("draft",), now=now
                ):
                    self._schedule(record.campaign_id, campaign.send_at, fanout, now)
                    action = "scheduled"
                else:
                    action = "already_launched"
            elif self.campaigns.set_status(
                record.campaign_id, "launching", allowed_from=("draft",), now=now
            ):
                self.queue().send_bodies([fanout.model_dump_json()])
                action = "started"
            else:
                action = "already_launched"
        elif record.status == "scheduled":
            # The timer may be missing if the first launch died after the status change;
            # creating it again is a no-op when it exists.
            assert campaign.send_at is not None
            self._schedule(record.campaign_id, campaign.send_at, fanout, now)
            action = "scheduled"
        elif record.status == "launching":
            # A fan-out that stopped (or died) goes on from its saved cursor; one that is
            # still running stays the only one to count each page (conditional progress).
            self.queue().send_bodies([fanout.model_dump_json()])
            action = "resumed"
        else:
            action = "already_launched"
        logger.info("campaign launch", campaign_id=record.campaign_id, action=action)
        return {**self.view(self._record(record.campaign_id)), "launch": action}

    def _schedule(
        self, campaign_id: str, at: datetime, message: CampaignMessage, now: datetime
    ) -> None:
        self.timers().schedule(
            launch_timer_name(campaign_id), at, message.model_dump(mode="json"), now=now
        )

    # -- control: cancel, pause, resume ------------------------------------------------------

    def cancel(self, campaign_id: str) -> dict[str, Any]:
        """Cancelled: a scheduled campaign never starts (its launch timer is deleted, and the
        fan-out checks the status anyway); a running one stops queuing, its pages still
        queued are dropped; what was sent stays sent and counted. Cancelling a cancelled
        campaign changes nothing (200); a sent one is a CampaignStateError."""
        record = self._record(campaign_id)
        now = self.now()
        changed = False
        if record.status != "cancelled":
            changed = self.campaigns.set_status(
                record.campaign_id,
                "cancelled",
                allowed_from=("draft", "scheduled", "launching", "launched", "paused"),
                now=now,
                unless_done=True,
            )
            if not changed:
                latest = self._record(record.campaign_id)
                status = campaign_view(latest)["status"]
                if status != "cancelled":
                    raise CampaignStateError(
                        f"the campaign is {status}: there is nothing left to cancel", status
                    )
        if changed:
            if record.status == "scheduled" or record.paused_from == "scheduled":
                self.timers().cancel(launch_timer_name(record.campaign_id))
            parked = self.campaigns.parked(record.campaign_id)
            self.campaigns.remove_parked(record.campaign_id, [sk for sk, _ in parked])
        logger.info("campaign cancelled", campaign_id=record.campaign_id, changed=changed)
        return {**self.view(self._record(record.campaign_id)), "changed": changed}

    def pause(self, campaign_id: str) -> dict[str, Any]:
        """Paused: the fan-out stops queuing at its next batch, the pages that arrive are
        parked on the campaign (resume queues them again). Pausing a paused campaign changes
        nothing (200); a draft, sent or cancelled one is a CampaignStateError."""
        record = self._record(campaign_id)
        status = campaign_view(record)["status"]
        changed = False
        if status != "paused":
            if status not in PAUSABLE:
                raise CampaignStateError(
                    f"the campaign is {status}: only a scheduled or running campaign can be paused",
                    status,
                )
            changed = self.campaigns.set_status(
                record.campaign_id,
                "paused",
                allowed_from=(record.status,),
                now=self.now(),
                paused_from=record.status,
                unless_done=True,
            )
            if not changed:  # moved meanwhile (launched, sent, cancelled...): say which
                return self.pause(record.campaign_id)
        logger.info("campaign paused", campaign_id=record.campaign_id, changed=changed)
        return {**self.view(self._record(record.campaign_id)), "changed": changed}

    def resume(self, campaign_id: str) -> dict[str, Any]:
        """Back to the status it was paused in, and on from where it was: a fan-out queued
        again (it goes on from its saved cursor), the parked pages queued again; a scheduled
        campaign whose send_at passed while paused starts now. A campaign that is not paused
        is a CampaignStateError."""
        record = self._record(campaign_id)
        if record.status != "paused":
            status = campaign_view(record)["status"]
            raise CampaignStateError(f"the campaign is {status}, not paused", status)
        now = self.now()
        back = record.paused_from or "launching"
        campaign = Campaign.model_validate(record.definition)
        due = back == "scheduled" and (campaign.send_at is None or campaign.send_at <= now)
        target = "launching" if due else back
        if not self.campaigns.set_status(
            record.campaign_id, target, allowed_from=("paused",), now=now
        ):
            return self.resume(record.campaign_id)  # cancelled or resumed meanwhile
        fanout = CampaignMessage(kind="fanout", campaign_id=record.campaign_id)
        if target == "launching":
            self.queue().send_bodies([fanout.model_dump_json()])
        elif target == "scheduled":
            assert campaign.send_at is not None
            self._schedule(record.campaign_id, campaign.send_at, fanout, now)
        parked = self.campaigns.parked(record.campaign_id)
        if parked:
            # Queued before removed: a failure between the two queues a page twice, and
            # the decision ids keep anyone from getting it twice.
            self.queue().send_bodies([body for _sk, body in parked])
            self.campaigns.remove_parked(record.campaign_id, [sk for sk, _ in parked])
        logger.info(
            "campaign resumed", campaign_id=record.campaign_id, status=target, requeued=len(parked)
        )
        view = self.view(self._record(record.campaign_id))
        return {**view, "changed": True, "requeued": len(parked)}

    # -- list -------------------------------------------------------------------------------

    def list_campaigns(self, query: ListQuery) -> dict[str, Any]:
        """``{"campaigns": [summaries], "next": token or None}``, newest first."""
        records, position = self.campaigns.list_campaigns(
            before=query.after,
            limit=query.limit,
            keep=lambda record: keeps(query.status, campaign_view(record)["status"]),
        )
        return {
            "campaigns": [campaign_summary(campaign_view(r)) for r in records],
            "next": next_token(position, query.status) if position else None,
        }

    # -- status -----------------------------------------------------------------------------

    def status(self, campaign_id: str) -> dict[str, Any]:
        return self.view(self._record(campaign_id))

    def view(self, record: CampaignRecord) -> dict[str, Any]:
        return campaign_view(record)


def campaign_view(record: CampaignRecord) -> dict[str, Any]:
    """The campaign as GET /admin/campaigns/{id} shows it."""
    definition = record.definition
    counts = record.counts
    suppressed = dict(sorted(counts.get("suppressed", {}).items()))
    deferred = dict(sorted(counts.get("deferred", {}).items()))
    messages_done = int(counts.get("messages_done", 0))
    waiting = max(0, int(counts.get("waiting", 0)))
    status = record.status
    if status == "launched" and messages_done >= record.messages and waiting == 0:
        status = "sent"
    return {
        "campaign_id": record.campaign_id,
        "name": definition.get("name"),
        "purpose": definition.get("purpose"),
        "template": (definition.get("content") or {}).get("template"),
        "definition": definition,
        "fingerprint": record.fingerprint,
        "created_at": record.created_at.isoformat(),
        "launched_at": record.launched_at,
        "send_at": definition.get("send_at"),
        "status": status,
        "status_at": record.status_at,
        "paused_from": record.paused_from,
        "counts": {
            "queued": record.queued,
            "sent": int(counts.get("sent", 0)),
            "held_out": int(counts.get("held_out", 0)),
            "suppressed": suppressed,
            "suppressed_total": sum(suppressed.values()),
            "deferred": deferred,
            "deferred_total": sum(deferred.values()),
            "waiting": waiting,
            "failed": int(counts.get("failed", 0)),
            "left_segment": int(counts.get("left_segment", 0)),
            "missing": int(counts.get("missing", 0)),
        },
        "progress": {
            "profiles_scanned": record.scanned,
            "pages": record.pages,
            "messages": record.messages,
            "messages_done": messages_done,
            "fanout_done": record.status == "launched",
        },
    }


def rendered_parts(raw: bytes) -> dict[str, Any]:
    """Subject, text and HTML of a built MIME message, as they would arrive."""
    message = email.message_from_bytes(raw, policy=email_policy.default)
    out: dict[str, Any] = {"subject": str(message["Subject"])}
    for kind in ("plain", "html"):
        part = message.get_body((kind,))  # type: ignore[attr-defined]
        out["text" if kind == "plain" else "html"] = part.get_content() if part else None
    return out
