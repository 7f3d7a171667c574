"""The launch of a campaign: the fan-out over the pool, and the send worker of its pages.

Both run in the campaign worker, off the campaign queue (SQS, partial batch failures):

- ``fanout``: the launch route (or, for a campaign with ``send_at``, a one-time schedule at
  that moment) queues it. It reads the addressable pool page by page (a Scan of the by_email
  index, DynamoDB's 1 MB pages, projecting only the fields the segment reads), keeps the
  candidates of the segment and packs them across pages into full messages of 100 ids; every
  ten messages (one SendMessageBatch) it saves its cursor on the campaign's META item: the
  by_email key of the last candidate queued, conditional on the message count, so that two
  fan-outs of one campaign never count a message twice. A sparse segment (2 % of the pool)
  thus costs its Scan pages and one send and one save per 1,000 candidates, not a small
  message, a send and a save per page. A fan-out that runs short of time queues what it
  read, saves the key of its last page and queues its own continuation; one that dies is
  delivered again by SQS; both go on from the saved cursor, reading again what was read
  after it but not queued. Messages queued whose cursor was not saved are queued again, and
  the durable dedupe (one decision per campaign and candidate) keeps anyone from getting
  the campaign twice.
- ``page``: up to 100 candidate ids. One BatchGetItem of the profiles, then per candidate
  campaigns.preview.decide_recipient (the preview's own function, so the preview's counts
  are what the launch sends; its exclusions read the profile's send ledger, and the
  decision records only for an excluded campaign older than the ledger: one more
  BatchGetItem then), the claim (TalentPoolRepository.claim_decisions: the decision
  record, and for a send the trace on the profile that the contact budget counts), the
  compose (delivery.compose.compose_email) and the SES send, the completion
  (complete_decisions: one transaction for the page's sends), one PutEvents per ten
  outcomes (Message Sent / Suppressed) and one UpdateItem of the campaign's counters.

Pause and cancel (campaigns.service, docs/campaigns.md): the fan-out reads the campaign's
status before each batch it queues (and its saves are conditional on ``launching``), so it
stops queuing within one batch of a pause or a cancel; the resume queues a fan-out that goes
on from the saved cursor. A page reads the status first: cancelled, it is dropped (nobody of
it is sent); paused, its message is parked on the campaign (CampaignRepository.park, a
transaction with the check that the campaign is still paused) and resume queues it again.
A page already sending when the pause comes finishes (at most ``MESSAGE_SIZE`` recipients).
Nobody gets the campaign twice across a pause: the decision id is per campaign and
candidate, so a candidate queued again (a fan-out going on from its cursor re-reads what it
had read but not saved) is a duplicate, not a second send.

SES throttling (Throttling, ThrottlingException, TooManyRequestsException,
MaxSendRateExceeded) is retried in place with capped exponential backoff and full jitter. A
send still throttled after that, or other retryable trouble, or a worker about to run out of
time, stops the page: what was sent is recorded, the claims of everything not sent are
released, and the message fails alone, so that SQS delivers it again; its second delivery
finds the sent candidates decided (duplicates, not sent again) and sends the rest.

A recipient held by quiet hours or the contact budget gets a one-time EventBridge Scheduler
timer (adapters.scheduler.TimerScheduler) whose target is the campaign queue, with a page
message of that candidate alone and ``first_tried_at``: it is decided again then (and may
wait again, within its priority's max_defer, or be suppressed with frequency_cap). Nothing
is claimed for it until then.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..adapters.bus import EventPublisher
from ..adapters.campaigns import (
    CampaignCounts,
    CampaignRecord,
    CampaignRepository,
)
from ..adapters.queue import QueueSender
from ..adapters.scheduler import TimerScheduler, campaign_timer_name
from ..adapters.ses import SesSender
from ..adapters.talent_pool import (
    Claim,
    LoadedProfile,
    TalentPoolRepository,
    decode_key,
    encode_key,
)
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue, MessageSpec
from ..delivery.budget import ContactPolicy
from ..delivery.compose import compose_email
from ..delivery.context import Brand
from ..delivery.leases import LeaseResolver, lease_attributes
from ..delivery.ledger import outdated_for
from ..delivery.service import announcement, undecidable, undeliverable
from ..errors import (
    ConcurrencyError,
    DeliveryError,
    RenderError,
    SendRefusedError,
    TalentOpsError,
)
from ..models.state import Decision, Profile
from ..observability import count, logger
from ..tokens import TokenSigner
from .counting import count_resolved
from .exclusions import Exclusions, load_exclusions, received_for
from .model import Campaign
from .preview import RecipientDecision, campaign_fact, decide_recipient
from .preview_job import PreviewMessage

MESSAGE_SIZE = 100  # candidate ids a page message (one BatchGetItem)
FLUSH_MESSAGES = 10  # full page messages a SendMessageBatch and a save of the cursor
PAGE_SIZE: int | None = None  # profiles a Scan page of the fan-out (None: DynamoDB's 1 MB)
MAX_CLAIM_ROUNDS = 4
# Record sends done every this many (one TransactWriteItems of up to 100 items): a page's
# sends at its end, in one transaction, not four. A worker killed outright part-way leaves
# what it sent unrecorded to the leases' resolver (up to a page now, 25 before); a page that
# stops records what it sent and releases the rest, as before.
COMPLETE_EVERY = MESSAGE_SIZE
# Stop with this much of the invocation left: the fan-out queues its continuation; a page
# releases what it did not send and fails, so that SQS delivers it again.
MIN_SECONDS_LEFT = 15.0
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "MaxSendRateExceeded"}
)


class CampaignMessage(BaseModel):
    """A message of the campaign queue (also the input of a deferral's timer)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    v: int = 1
    kind: Literal["fanout", "page"]
    campaign_id: str = Field(pattern=r"^cmp_[0-9a-f]{16}$")
    page: int = 0
    candidates: list[str] = Field(default_factory=list, max_length=MESSAGE_SIZE)
    # A deferred recipient's retry: when it was first tried (the budget's max_defer counts
    # from there).
    first_tried_at: AwareDatetime | None = None


class _Halted(Exception):
    """The campaign was paused or cancelled while its fan-out ran."""

    def __init__(self, status: str | None):
        super().__init__(status)
        self.status = status or "unknown"


class PageIncompleteError(TalentOpsError):
    """A page stopped before every send (throttled, out of time): what was sent is recorded,
    the rest released; SQS delivers the message again."""

    code = "page_incomplete"


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter: before retry n (0-based) wait a random
    time between 0 and min(cap, base * 2**n) seconds."""

    attempts: int = 6  # sends tried in all, the first included
    base: float = 0.2
    cap: float = 5.0

    def delay(self, retry: int, uniform: Callable[[float, float], float]) -> float:
        return uniform(0.0, min(self.cap, self.base * 2**retry))


def throttling_code(exc: BaseException) -> str | None:
    """The SES throttling code behind ``exc`` (a ClientError, or the DeliveryError that
    adapters.ses made of one), or None when it is not throttling."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            error = seen.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in THROTTLING_CODES:
                return code
            if "maximum sending rate exceeded" in str(error.get("Message", "")).lower():
                return "MaxSendRateExceeded"
            return None
        text = str(seen)
        for code in THROTTLING_CODES:
            if text.endswith(code):
                return code
        seen = seen.__cause__
    return None


@dataclass
class PageReport:
    campaign_id: str
    kind: str
    status: str = "done"
    sent: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    deferred: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    failed: int = 0
    released: int = 0
    queued: int = 0
    pages: int = 0


@dataclass
class _Planned:
    claim: Claim
    to: str | None
    raw: bytes | None


@dataclass(frozen=True)
class _Subject:
    """The campaign a message is about."""

    record: CampaignRecord
    campaign: Campaign
    spec: MessageSpec
    exclusions: Exclusions | None = None
    received: Mapping[str, set[str]] = field(default_factory=dict)  # candidate -> campaigns


@dataclass
class _Fanout:
    """A fan-out's state between saves: the messages saved so far (the save's condition),
    the candidates read but not queued yet (id, by_email key, profiles read up to it), the
    profiles read since the saved cursor and those of them counted by the last save, and
    the Scan pages read since it."""

    campaign_id: str
    messages: int
    pending: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    read: int = 0
    saved_read: int = 0
    pages: int = 0


@dataclass
class _Deferred:
    profile: Profile
    recipient: RecipientDecision


@dataclass
class CampaignWorker:
    campaigns: CampaignRepository
    pool: TalentPoolRepository
    queue: QueueSender
    timers: Callable[[], TimerScheduler]
    sender: SesSender
    publisher: EventPublisher
    catalogue: Catalogue
    consent: ConsentPolicy
    contact: ContactPolicy
    brand: Brand
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]
    freshness: Mapping[str, timedelta] | None = None
    token_ttl: timedelta = timedelta(days=90)
    page_size: int | None = PAGE_SIZE
    message_size: int = MESSAGE_SIZE
    flush_messages: int = FLUSH_MESSAGES
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = random.uniform
    # The content versions recorded on every decision (wiring.content_versions).
    versions: Mapping[str, str] | None = None
    _definitions: dict[str, tuple[CampaignRecord, Campaign]] = field(default_factory=dict)
    _exclusions: dict[str, Exclusions | None] = field(default_factory=dict)

    def process(
        self, message: CampaignMessage, seconds_left: Callable[[], float] | None = None
    ) -> PageReport:
        left = seconds_left or (lambda: 900.0)
        if message.kind == "fanout":
            return self.fanout(message, left)
        return self.page(message, left)

    def _campaign(self, campaign_id: str) -> tuple[CampaignRecord, Campaign] | None:
        """The campaign's definition (immutable once created: cached per process)."""
        found = self._definitions.get(campaign_id)
        if found is None:
            record = self.campaigns.get(campaign_id)
            if record is None:
                return None
            found = (record, Campaign.model_validate(record.definition))
            self._definitions[campaign_id] = found
        return found

    # -- fan-out ----------------------------------------------------------------------------

    def fanout(self, message: CampaignMessage, seconds_left: Callable[[], float]) -> PageReport:
        """Reads the pool from the saved cursor and queues the segment's candidates in full
        messages of ``message_size`` ids, packed across Scan pages (a sparse segment costs a
        Scan page per page, not a queue message and a save per page), ``flush_messages``
        messages a SendMessageBatch and a save. The saved cursor is the by_email key of the
        last candidate queued: ids read after it but not queued yet are read again by a
        fan-out that goes on from it, never skipped."""
        report = PageReport(message.campaign_id, "fanout")
        cid = message.campaign_id
        record = self.campaigns.get(cid)
        if record is None or record.status in ("draft", "launched", "paused", "cancelled"):
            # Paused: the resume queues a fan-out again; cancelled: nothing more is queued.
            report.status = "nothing_to_do" if record is None else f"already_{record.status}"
            logger.info("campaign fan-out: nothing to do", campaign_id=cid, status=report.status)
            return report
        if record.status == "scheduled":
            self.campaigns.set_status(cid, "launching", allowed_from=("scheduled",), now=self.now())
        found = self._definitions.get(cid)
        if found is None:  # the record just read has the definition: no second read
            found = self._definitions[cid] = (record, Campaign.model_validate(record.definition))
        campaign = found[1]
        attributes = campaign.segment_attributes()  # only what the segment reads
        run = _Fanout(cid, messages=record.messages)
        cursor = decode_key(record.cursor)
        batch = self.message_size * self.flush_messages
        try:
            while True:
                if seconds_left() < MIN_SECONDS_LEFT:
                    # What was read is queued, and the cursor saved after the last page read.
                    if run.pending or run.pages:
                        self._checkpoint(run, len(run.pending), cursor, run.read, report)
                    self.queue.send_bodies([message.model_dump_json()])
                    report.status = "continued"
                    logger.info("campaign fan-out continues", campaign_id=cid, pages=report.pages)
                    return report
                page = self.campaigns.pool_scan(
                    start_key=cursor, limit=self.page_size, attributes=attributes
                )
                now = self.now()
                for item in page.items:
                    run.read += 1
                    if campaign.in_segment(item.profile, now)[0]:
                        run.pending.append((item.profile.candidate_id, item.key, run.read))
                run.pages += 1
                report.pages += 1
                cursor = page.last_key
                while len(run.pending) >= batch:
                    _, key, read = run.pending[batch - 1]
                    self._checkpoint(run, batch, key, read, report)
                if cursor is None:
                    self._checkpoint(run, len(run.pending), None, run.read, report)
                    return report
        except _Halted as halted:
            report.status = halted.status
            logger.info("campaign fan-out stopped", campaign_id=cid, status=halted.status)
            return report
        except ConcurrencyError:
            # Another fan-out of this campaign saved these messages first: it goes on. (Or
            # the campaign was paused or cancelled between the check and the save.)
            report.status = "superseded"
            logger.info("campaign fan-out superseded", campaign_id=cid, messages=run.messages)
            return report

    def _checkpoint(
        self,
        run: _Fanout,
        count: int,
        cursor: dict[str, Any] | None,
        scanned_to: int,
        report: PageReport,
    ) -> None:
        """Queue the first ``count`` pending candidates (full messages, the last one maybe
        not), then save ``cursor`` (None: done) and the profiles scanned up to it (the
        ``scanned_to``-th read since the saved cursor). _Halted, queuing nothing, when the
        campaign is no longer launching (paused or cancelled)."""
        status = self.campaigns.status_of(run.campaign_id)
        if status != "launching":
            raise _Halted(status)
        ids = [candidate for candidate, _key, _read in run.pending[:count]]
        bodies = [
            CampaignMessage(
                kind="page",
                campaign_id=run.campaign_id,
                page=run.messages + index,
                candidates=ids[start : start + self.message_size],
            ).model_dump_json()
            for index, start in enumerate(range(0, len(ids), self.message_size))
        ]
        self.queue.send_bodies(bodies)
        self.campaigns.save_progress(
            run.campaign_id,
            expected_messages=run.messages,
            cursor=encode_key(cursor),
            queued=len(ids),
            scanned=scanned_to - run.saved_read,
            messages=len(bodies),
            pages=run.pages,
            now=self.now(),
        )
        run.messages += len(bodies)
        run.saved_read = scanned_to
        run.pages = 0
        del run.pending[:count]
        report.queued += len(ids)
        logger.info("campaign candidates queued", campaign_id=run.campaign_id, candidates=len(ids))

    # -- a page of candidates ---------------------------------------------------------------

    def page(self, message: CampaignMessage, seconds_left: Callable[[], float]) -> PageReport:
        cid = message.campaign_id
        report = PageReport(cid, "page")
        found = self._campaign(cid)
        if found is None:
            report.status = "unknown_campaign"
            logger.warning("a page of an unknown campaign", campaign_id=cid)
            return report
        if not self._may_send(message, report):
            return report
        record, campaign = found
        spec = self.catalogue.message(campaign.content.template)
        counts = CampaignCounts()
        loaded = self.pool.get_profiles(message.candidates)
        counts.missing = len(set(message.candidates) - set(loaded))  # merged or erased since
        todo = [c for c in dict.fromkeys(message.candidates) if c in loaded]
        if cid not in self._exclusions:  # excluded campaigns' launch times never change
            self._exclusions[cid] = load_exclusions(campaign, self.campaigns.get, now=self.now())
        exclusions = self._exclusions[cid]
        received = received_for(exclusions, todo, self.now(), self.pool.get_decisions)
        signer = self.signer()
        planned, duplicates, deferred, left_segment = self._claim(
            message,
            _Subject(record, campaign, spec, exclusions, received),
            loaded=loaded,
            todo=todo,
            signer=signer,
        )
        counts.left_segment = left_segment
        report.duplicates = len(duplicates)
        self._resolve_open(duplicates)
        undecided = _tally_unsent([p.claim.decision for p in planned], counts)
        sent, failed, unsent, stop = self._send(planned, seconds_left)
        counts.sent, counts.failed = len(sent), len(failed) + undecided
        suppressed = [p.claim.decision for p in planned if p.claim.decision.outcome != "send"]
        if stop is None:
            # The message is done: what is counted once per message (a failed delivery
            # counts these on the delivery that finishes it).
            counts.messages_done = 0 if message.first_tried_at else 1
            # A deferred recipient decided now stops waiting (one decided before, by an
            # earlier delivery of the same timer, was counted then).
            retried = len(message.candidates) - len(duplicates) if message.first_tried_at else 0
            counts.waiting = len(deferred) - retried
            for item in deferred:
                reason = item.recipient.defer_reason or "deferred"
                counts.deferred[reason] = counts.deferred.get(reason, 0) + 1
        else:
            counts.left_segment = counts.missing = 0
        self.campaigns.add_counts(cid, counts)
        self._publish([*sent, *suppressed, *failed])
        for decision in [*sent, *suppressed, *failed]:
            count(decision.outcome, decision.reason)
        report.sent, report.failed, report.released = len(sent), len(failed), len(unsent)
        report.suppressed.update(counts.suppressed)
        report.deferred.update(counts.deferred)
        logger.info(
            "campaign page",
            campaign_id=cid,
            page=message.page,
            sent=report.sent,
            suppressed=dict(report.suppressed),
            deferred=dict(report.deferred),
            duplicates=report.duplicates,
            left_segment=counts.left_segment,
            missing=counts.missing,
            failed=report.failed,
            released=report.released,
        )
        if stop is not None:
            report.status = "incomplete"
            raise stop
        return report

    def _may_send(self, message: CampaignMessage, report: PageReport) -> bool:
        """Whether the page goes on: not when the campaign is cancelled (the message is
        dropped) or paused (the message is parked on the campaign; resume queues it again).
        A pause that ends between the read and the park is read again."""
        cid = message.campaign_id
        for _ in range(3):
            status = self.campaigns.status_of(cid)
            if status == "cancelled":
                report.status = "cancelled"
                logger.info("campaign page dropped: cancelled", campaign_id=cid, page=message.page)
                return False
            if status != "paused":
                return True
            body = message.model_dump_json()
            if self.campaigns.park(cid, page=message.page, body=body, now=self.now()):
                report.status = "parked"
                logger.info("campaign page parked: paused", campaign_id=cid, page=message.page)
                return False
        raise ConcurrencyError("the campaign kept changing between paused and not")

    def _resolve_open(self, duplicates: Sequence[Claim]) -> None:
        """Recipients claimed by an earlier delivery that died before recording them: each
        resolved once its lease ran out (counted and announced by the resolver), else left
        in flight."""
        if not duplicates:
            return
        existing = self.pool.get_decisions(
            [(str(c.decision.candidate_id), c.decision.decision_id) for c in duplicates]
        )
        resolver = LeaseResolver(
            repo=self.pool,
            sender=self.sender,
            publisher=self.publisher,
            policy=self.consent,
            sender_address=self.brand.sender_address,
            now=self.now,
            observers=[count_resolved(lambda: self.campaigns)],
        )
        for decision in existing.values():
            if decision.status != "decided" or decision.outcome != "send":
                continue
            claim = self.pool.open_claim(str(decision.candidate_id), decision.decision_id)
            if claim is not None and resolver.resolve(claim) is None:
                logger.info("claim in flight", decision_id=decision.decision_id)

    def _decide(
        self, message: CampaignMessage, subject: _Subject, profile: Profile, now: datetime
    ) -> RecipientDecision | None:
        return decide_recipient(
            campaign=subject.campaign,
            campaign_id=subject.record.campaign_id,
            created_at=subject.record.created_at,
            profile=profile,
            spec=subject.spec,
            consent=self.consent,
            contact=self.contact,
            now=now,
            first_tried_at=message.first_tried_at,
            freshness=self.freshness,
            versions=self.versions,
            exclusions=subject.exclusions,
            received=subject.received.get(profile.candidate_id, ()),
        )

    def _claim(
        self,
        message: CampaignMessage,
        subject: _Subject,
        *,
        loaded: dict[str, LoadedProfile],
        todo: list[str],
        signer: TokenSigner,
    ) -> tuple[list[_Planned], list[Claim], list[_Deferred], int]:
        """Decide every candidate; schedule the deferred ones' timers; claim the rest (a
        candidate whose profile changed between the read and the claim is read and decided
        again)."""
        planned: list[_Planned] = []
        duplicates: list[Claim] = []
        deferred: list[_Deferred] = []
        left_segment = 0
        try:
            for _round in range(MAX_CLAIM_ROUNDS):
                now = self.now()
                plans: list[_Planned] = []
                waiting: list[_Deferred] = []
                for candidate_id in todo:
                    current = loaded[candidate_id]
                    try:
                        recipient = self._decide(message, subject, current.profile, now)
                        if recipient is None:
                            left_segment += 1  # the profile changed since the fan-out read it
                            continue
                        if recipient.action == "defer":
                            waiting.append(_Deferred(current.profile, recipient))
                            continue
                        plans.append(self._plan(current, recipient, signer))
                    except Exception as exc:  # one candidate's data: failed, the rest go on
                        plans.append(self._undecidable(subject, current, now, exc))
                # Timers before claims: a failure here leaves nothing claimed.
                self._schedule(message, waiting, now)
                deferred += waiting
                result = self.pool.claim_decisions([p.claim for p in plans])
                by_id = {p.claim.decision.decision_id: p for p in plans}
                planned += [by_id[c.decision.decision_id] for c in result.claimed]
                duplicates += result.duplicates
                if not result.conflicts:
                    return planned, duplicates, deferred, left_segment
                todo = [str(c.decision.candidate_id) for c in result.conflicts]
                loaded.update(self.pool.get_profiles(todo))
                todo = [c for c in todo if c in loaded]
            raise ConcurrencyError("profiles kept changing while claiming a campaign page")
        except Exception:
            # Claims of earlier rounds would otherwise stay, unsent, and the message's next
            # delivery would take them for duplicates.
            if planned:
                self.pool.release_claims([p.claim.decision for p in planned])
            raise

    @staticmethod
    def _undecidable(
        subject: _Subject, loaded: LoadedProfile, now: datetime, exc: Exception
    ) -> _Planned:
        candidate_id = loaded.profile.candidate_id
        logger.warning(
            "a candidate could not be decided",
            candidate_id=candidate_id,
            error_type=type(exc).__name__,
        )
        fact = campaign_fact(
            subject.campaign, subject.record.campaign_id, candidate_id, subject.record.created_at
        )
        failed = undecidable(
            fact,
            subject.campaign.content.template,
            subject.spec.purpose,
            candidate_id=candidate_id,
            now=now,
            exc=exc,
        )
        return _Planned(Claim(failed, None, loaded.profile.version, loaded.alert_seq), None, None)

    def _plan(
        self, loaded: LoadedProfile, recipient: RecipientDecision, signer: TokenSigner
    ) -> _Planned:
        profile = loaded.profile
        decision, raw = recipient.decision, None
        if recipient.action == "send" and recipient.variant is not None:
            try:
                raw = compose_email(
                    catalogue=self.catalogue,
                    brand=self.brand,
                    signer=signer,
                    token_ttl=self.token_ttl,
                    decision=decision,
                    variant=recipient.variant,
                    profile=profile,
                    page_url=None,
                    payload=lambda _links: {},
                )
            except RenderError as exc:
                logger.warning("render failed", template=decision.template, error=str(exc))
                decision = decision.render_failed(exc)
        sent = decision.send_trace()
        lease = lease_attributes(decision.decision_id, self.now(), raw) if raw else None
        budget = self.contact.budget
        prune = outdated_for(profile.recent, self.now(), budget.window if budget else None)
        claim = Claim(decision, sent, profile.version, loaded.alert_seq, lease, prune)
        return _Planned(claim, profile.email, raw)

    def _schedule(
        self, message: CampaignMessage, deferred: Sequence[_Deferred], now: datetime
    ) -> None:
        """A one-time timer per deferred recipient, to the campaign queue. Its name derives
        from the decision and the time, so a message delivered again creates none twice."""
        if not deferred:
            return
        timers = self.timers()
        for item in deferred:
            decision, at = item.recipient.decision, item.recipient.deferred_until
            assert at is not None
            body = CampaignMessage(
                kind="page",
                campaign_id=message.campaign_id,
                page=message.page,
                candidates=[item.profile.candidate_id],
                first_tried_at=message.first_tried_at or now,
            )
            # Named by the candidate too: erasure finds and deletes it (adapters.scheduler).
            name = campaign_timer_name(item.profile.candidate_id, decision.decision_id, at)
            timers.schedule(name, at, body.model_dump(mode="json"), now=now)

    def _send(
        self, planned: Sequence[_Planned], seconds_left: Callable[[], float]
    ) -> tuple[list[Decision], list[Decision], list[Decision], PageIncompleteError | None]:
        """Send the claimed sends, recording them every COMPLETE_EVERY; on a stop (throttled
        past the backoff, retryable trouble, out of time) or any exception, record what was
        sent and release the claims of the rest. Returns (sent, failed, released, stop)."""
        sends = [p for p in planned if p.claim.decision.outcome == "send"]
        sent: list[Decision] = []
        failed: list[Decision] = []
        pending: list[Decision] = []
        unsent: list[Decision] = []
        stop: PageIncompleteError | None = None
        kept: set[str] = set()  # claims left to their lease (SES may have the message)
        index = 0
        try:
            for index, plan in enumerate(sends):  # noqa: B007 (read after the loop)
                decision = plan.claim.decision
                if seconds_left() < MIN_SECONDS_LEFT:
                    stop = PageIncompleteError("the worker is running out of time")
                    break
                try:
                    self._send_one(plan, seconds_left)
                except SendRefusedError as exc:
                    # Refused for good: recorded failed (its budget room given back) and
                    # announced as suppressed undeliverable; the page goes on.
                    logger.warning(
                        "campaign send refused", decision_id=decision.decision_id, code=exc.ses_code
                    )
                    failed.append(undeliverable(decision, exc.ses_code))
                    self.pool.fail_decisions([failed[-1]])
                except DeliveryError as exc:
                    if getattr(exc, "ambiguous", False):
                        kept.add(decision.decision_id)  # SES may have it: the lease resolves
                    stop = PageIncompleteError(f"send stopped: {exc}")
                    break
                else:
                    sent.append(decision.model_copy(update={"status": "sent"}))
                    pending.append(sent[-1])
                if len(pending) >= COMPLETE_EVERY:
                    self.pool.complete_decisions(pending)
                    pending = []
            else:
                index = len(sends)
        except Exception as exc:  # anything else: record, release, fail only this message
            logger.exception("campaign page stopped", error_type=type(exc).__name__)
            stop = PageIncompleteError(f"send stopped: {type(exc).__name__}")
            stop.__cause__ = exc
        # Not a ``finally``: a worker killed outright (its timeout) records and releases
        # nothing; its claims' leases run out and are resolved (delivery.leases).
        done = {d.decision_id for d in [*sent, *failed]} | kept
        unsent = [
            p.claim.decision for p in sends[index:] if p.claim.decision.decision_id not in done
        ]
        if pending:
            self.pool.complete_decisions(pending)
        if unsent:
            self.pool.release_claims(unsent)
        return sent, failed, unsent, stop

    def _send_one(self, plan: _Planned, seconds_left: Callable[[], float]) -> None:
        assert plan.raw is not None and plan.to is not None
        for attempt in range(self.backoff.attempts):
            decision = plan.claim.decision
            try:
                self.sender.send_raw(
                    sender=self.brand.sender_address,
                    to=plan.to,
                    raw=plan.raw,
                    decision_id=decision.decision_id,
                    candidate_id=decision.candidate_id,
                )
                return
            except (DeliveryError, ClientError) as exc:
                code = throttling_code(exc)
                if code is None:
                    if isinstance(exc, ClientError):
                        raise DeliveryError(f"SES refused the send: {exc}") from exc
                    raise
                if attempt + 1 >= self.backoff.attempts:
                    error = DeliveryError(f"SES still throttling after {attempt + 1} tries: {code}")
                    error.retryable = True  # type: ignore[attr-defined]
                    raise error from exc
                delay = self.backoff.delay(attempt, self.uniform)
                if seconds_left() - delay < MIN_SECONDS_LEFT:
                    error = DeliveryError(f"SES throttling ({code}) and no time left to wait")
                    error.retryable = True  # type: ignore[attr-defined]
                    raise error from exc
                logger.info("SES throttling: backing off", code=code, attempt=attempt, delay=delay)
                self.sleep(delay)

    def _publish(self, decisions: Sequence[Decision]) -> None:
        entries = [announcement(d) for d in decisions]
        if entries:
            self.publisher.publish(entries)


def parse_message(body: str | bytes | Mapping[str, Any]) -> CampaignMessage | PreviewMessage:
    """A message of the campaign queue, or of the preview queue (``kind`` preview)."""
    if isinstance(body, Mapping):
        data: Any = body
    else:
        try:
            data = json.loads(body)
        except ValueError:
            return CampaignMessage.model_validate_json(body)  # raises, naming the problem
    if isinstance(data, Mapping) and data.get("kind") == "preview":
        return PreviewMessage.model_validate(dict(data))
    if isinstance(body, Mapping):
        return CampaignMessage.model_validate(dict(body))
    return CampaignMessage.model_validate_json(body)


def _tally_unsent(decisions: Sequence[Decision], counts: CampaignCounts) -> int:
    """Count the page's decisions that send nothing: the held out apart (they would have
    been sent), the suppressed by reason; returns how many could not be decided (counted
    failed)."""
    undecided = 0
    for decision in decisions:
        if decision.status == "failed":
            undecided += 1
        elif decision.reason == "holdout":
            counts.held_out += 1
        elif decision.outcome != "send":
            reason = decision.reason or "unknown"
            counts.suppressed[reason] = counts.suppressed.get(reason, 0) + 1
    return undecided
