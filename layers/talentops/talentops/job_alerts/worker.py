"""The send worker: one SQS message (a job and up to 100 candidate ids) into job alerts.

Per message, besides one SES send per recipient: one BatchGetItem of the profiles, a
TransactWriteItems per 50 sends (or 100 suppressions) to claim the decisions, a
BatchWriteItem per 25 sends to record them sent, a PutEvents per 10 outcomes. That is about
0.17 requests per recipient (docs/talent-pool.md has the arithmetic, bench/ the measurement).

The decision is delivery.decide.decide(), the one decision function, with the catalogue's
``job_alert`` message: consent, the weekly cap (the profile's send traces), freshness, and
the variant. The claim is the durable dedupe of triggered messages (DECISION#<decision id>,
decision_id(fact, template, candidate)) and puts the send trace on the profile, conditional
on the profile's version and send counter, so that concurrent fan-outs of two jobs cannot
both spend a candidate's last alert of the week. A send that fails releases its claim and
fails the message, so that SQS delivers it again; the candidates already alerted are then
duplicates and are not alerted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..adapters.bus import EventPublisher
from ..adapters.ses import SesSender
from ..adapters.talent_pool import Claim, LoadedProfile, TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue, MessageSpec, Variant
from ..delivery.budget import ContactPolicy, Priority, SendVerdict
from ..delivery.compose import compose_email
from ..delivery.context import Brand
from ..delivery.decide import FrequencyCap, decide
from ..delivery.leases import LeaseResolver, lease_attributes
from ..delivery.ledger import outdated_for
from ..delivery.service import announcement, undecidable, undeliverable
from ..errors import ConcurrencyError, DeliveryError, RenderError, SendRefusedError
from ..models.state import Decision, Profile
from ..observability import count, logger
from ..talent_pool.policy import JobAlertPolicy
from ..tokens import TokenSigner
from .matching import fits
from .messages import TEMPLATE, AlertBatch

MAX_CLAIM_ROUNDS = 4


@dataclass
class BatchReport:
    job_id: str
    sent: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0  # decided before: announced again (same fan-out) or suppressed
    no_longer_fit: int = 0
    missing: int = 0
    failed: int = 0
    decisions: list[Decision] = field(default_factory=list)


def job_alert_verdict(contact: ContactPolicy, profile: Profile, now: datetime) -> SendVerdict:
    """The contact budget's verdict on a job alert to ``profile`` at ``now``: anything but
    ``send`` suppresses the alert (frequency_cap); job alerts do not wait. The worker and
    the explanations (explain/service.py) ask this same question."""
    return contact.check(
        priority=Priority.job_alerts,
        history=profile.recent.values(),
        timezone=profile.value("timezone"),
        now=now,
    )


@dataclass
class _Planned:
    claim: Claim
    to: str | None
    raw: bytes | None


@dataclass
class JobAlertWorker:
    repo: TalentPoolRepository
    sender: SesSender
    publisher: EventPublisher
    catalogue: Catalogue
    policy: ConsentPolicy
    brand: Brand
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]
    alerts: JobAlertPolicy
    freshness: Mapping[str, timedelta]
    cap: FrequencyCap
    token_ttl: timedelta = timedelta(days=90)
    template: str = TEMPLATE
    # The contact budget shared with journeys and campaigns (docs/journeys.md): a job alert
    # sends only while the candidate's budgeted messages are under the job-alert ceiling.
    # Job alerts do not wait (for the budget or the night): over the budget, suppressed.
    contact: ContactPolicy | None = None
    # The content versions recorded on every decision (wiring.content_versions).
    versions: Mapping[str, str] | None = None

    def process(self, batch: AlertBatch) -> BatchReport:
        """Alert the candidates of one message. DeliveryError when some sends failed (their
        claims are released; the message is to be delivered again)."""
        report = BatchReport(job_id=str(batch.job["id"]))
        planned, duplicates = self._claim(batch, report)
        outcomes, failed = self._send(planned)
        again = self._duplicates(batch, duplicates)
        self._publish([*outcomes, *again])
        self._tally(report, outcomes, failed)
        report.duplicates = len(again)
        logger.info(
            "job alert batch",
            job_id=report.job_id,
            page=batch.page,
            sent=report.sent,
            suppressed=dict(report.suppressed),
            duplicates=report.duplicates,
            no_longer_fit=report.no_longer_fit,
            missing=report.missing,
            failed=report.failed,
        )
        if failed:
            raise DeliveryError(f"{len(failed)} job alert sends failed; their claims were released")
        return report

    def _claim(self, batch: AlertBatch, report: BatchReport) -> tuple[list[_Planned], list[Claim]]:
        """Read, decide and claim every candidate of the batch; a candidate whose profile
        changed between the read and the claim is read and decided again."""
        loaded = self.repo.get_profiles(batch.candidates)
        report.missing = len(set(batch.candidates) - set(loaded))  # merged or erased since
        todo = [c for c in dict.fromkeys(batch.candidates) if c in loaded]
        signer = self.signer()
        planned: list[_Planned] = []
        duplicates: list[Claim] = []
        for _round in range(MAX_CLAIM_ROUNDS):
            plans = self._plan(batch, [loaded[c] for c in todo], signer, report)
            result = self.repo.claim_decisions([p.claim for p in plans])
            by_id = {p.claim.decision.decision_id: p for p in plans}
            planned += [by_id[c.decision.decision_id] for c in result.claimed]
            duplicates += result.duplicates
            if not result.conflicts:
                return planned, duplicates
            todo = [str(c.decision.candidate_id) for c in result.conflicts]
            loaded.update(self.repo.get_profiles(todo))
            todo = [c for c in todo if c in loaded]
        raise ConcurrencyError("profiles kept changing while claiming job alerts")

    def _send(self, planned: Sequence[_Planned]) -> tuple[list[Decision], list[Decision]]:
        """Send the claimed alerts, record them sent, release the claims of failed sends."""
        outcomes: list[Decision] = []
        completed: list[Decision] = []
        refused: list[Decision] = []
        failed: list[Decision] = []
        kept: list[Decision] = []
        for plan in planned:
            decision = plan.claim.decision
            if decision.outcome != "send":
                outcomes.append(decision)
                continue
            assert plan.raw is not None and plan.to is not None
            try:
                self.sender.send_raw(
                    sender=self.brand.sender_address,
                    to=plan.to,
                    raw=plan.raw,
                    decision_id=decision.decision_id,
                    candidate_id=decision.candidate_id,
                )
            except SendRefusedError as exc:
                # Refused for good: recorded failed and announced; the batch goes on.
                logger.warning(
                    "job alert send refused", decision_id=decision.decision_id, code=exc.ses_code
                )
                refused.append(undeliverable(decision, exc.ses_code))
                continue
            except DeliveryError as exc:
                logger.warning("job alert send failed", decision_id=decision.decision_id)
                if getattr(exc, "ambiguous", False):
                    kept.append(decision)  # SES may have taken it: its lease resolves it
                else:
                    failed.append(decision)
                continue
            completed.append(decision.model_copy(update={"status": "sent"}))
        if completed:
            self.repo.complete_decisions(completed)
        if refused:
            self.repo.fail_decisions(refused)
        if failed:
            self.repo.release_claims(failed)
        return outcomes + completed + refused, failed + kept

    @staticmethod
    def _tally(
        report: BatchReport, outcomes: Sequence[Decision], failed: Sequence[Decision]
    ) -> None:
        for decision in outcomes:
            count(decision.outcome, decision.reason)
            if decision.outcome == "send":
                report.sent += 1
            else:
                report.suppressed[decision.reason or "unknown"] += 1
        report.failed = len(failed)
        report.decisions = list(outcomes)

    # -- steps -------------------------------------------------------------------------------

    def _plan(
        self,
        batch: AlertBatch,
        profiles: Sequence[LoadedProfile],
        signer: TokenSigner,
        report: BatchReport,
    ) -> list[_Planned]:
        spec = self.catalogue.message(self.template)
        now = self.now()
        plans: list[_Planned] = []
        for loaded in profiles:
            try:
                plan = self._plan_one(batch, loaded, spec, now=now, signer=signer, report=report)
            except Exception as exc:  # one candidate's data: recorded failed, the rest go on
                candidate_id = loaded.profile.candidate_id
                logger.warning(
                    "a candidate could not be decided",
                    candidate_id=candidate_id,
                    error_type=type(exc).__name__,
                )
                failed = undecidable(
                    batch.fact(candidate_id),
                    self.template,
                    spec.purpose,
                    candidate_id=candidate_id,
                    now=now,
                    exc=exc,
                )
                claim = Claim(failed, None, loaded.profile.version, loaded.alert_seq)
                plan = _Planned(claim, None, None)
            if plan is not None:
                plans.append(plan)
        return plans

    def _plan_one(
        self,
        batch: AlertBatch,
        loaded: LoadedProfile,
        spec: MessageSpec,
        *,
        now: datetime,
        signer: TokenSigner,
        report: BatchReport,
    ) -> _Planned | None:
        profile = loaded.profile
        ok, why = fits(batch.job, profile, self.alerts.seniority_band)
        if not ok:
            # The index lags the profile (or the profile changed since the page was
            # read): not part of the matching pool any more.
            report.no_longer_fit += 1
            logger.debug("no longer fits", candidate_id=profile.candidate_id, why=why)
            return None
        outcome = decide(
            fact=batch.fact(profile.candidate_id),
            profile=profile,
            template=self.template,
            spec=spec,
            policy=self.policy,
            now=now,
            caps={spec.purpose: self.cap},
            freshness=self.freshness,
            versions=self.versions,
        )
        decision, raw = outcome.decision, None
        if outcome.variant is not None and self.contact is not None:
            decision = self._within_budget(decision, profile, now)
        if outcome.variant is not None and decision.outcome == "send":
            try:
                raw = self._compose(batch.job, decision, outcome.variant, profile, signer)
            except RenderError as exc:
                logger.warning("render failed", template=self.template, error=str(exc))
                decision = decision.render_failed(exc)
        sent = decision.send_trace()
        lease = lease_attributes(decision.decision_id, now, raw) if raw else None
        budget = self.contact.budget if self.contact is not None else None
        window = budget.window if budget else None
        prune = outdated_for(profile.recent, now, self.cap.window, window)
        claim = Claim(decision, sent, profile.version, loaded.alert_seq, lease, prune)
        return _Planned(claim, profile.email, raw)

    def _within_budget(self, decision: Decision, profile: Profile, now: datetime) -> Decision:
        assert self.contact is not None
        verdict = job_alert_verdict(self.contact, profile, now)
        if verdict.allowed:
            return decision.model_copy(update={"reasons": [*decision.reasons, verdict.explanation]})
        return decision.suppressed("frequency_cap", [*decision.reasons, verdict.explanation])

    def _compose(
        self,
        job: Mapping[str, Any],
        decision: Decision,
        variant: Variant,
        profile: Profile,
        signer: TokenSigner,
    ) -> bytes:
        # The job's own page (with the candidate's link token when it is on the careers
        # site) takes the place of an event page in the links.
        return compose_email(
            catalogue=self.catalogue,
            brand=self.brand,
            signer=signer,
            token_ttl=self.token_ttl,
            decision=decision,
            variant=variant,
            profile=profile,
            page_url=job.get("url") or None,
            payload=lambda links: {
                "job": {**job, "link": links.event if job.get("url") else links.jobs}
            },
        )

    def _duplicates(self, batch: AlertBatch, claims: Sequence[Claim]) -> list[Decision]:
        """Candidates decided before for this job. A redelivery of this message (same
        fan-out): what was decided is announced again, since the first delivery may have
        died before announcing it. Anything else: suppressed as a duplicate."""
        if not claims:
            return []
        existing = self.repo.get_decisions(
            [(str(c.decision.candidate_id), c.decision.decision_id) for c in claims]
        )
        out = []
        for claim in claims:
            before = existing.get(claim.decision.decision_id)
            if before is not None and before.status == "decided" and before.outcome == "send":
                # Claimed, never recorded: resolved once its lease ran out (announced by
                # the resolver), else in flight; never announced as sent from here.
                self._resolve(str(before.candidate_id), before.decision_id)
                continue
            if before is not None and before.trigger.get("event_id") == batch.event_id:
                out.append(before)
                continue
            out.append(
                claim.decision.suppressed(
                    "duplicate", ["this job was already decided for this candidate"]
                )
            )
        return out

    def _resolve(self, candidate_id: str, decision_id: str) -> None:
        claim = self.repo.open_claim(candidate_id, decision_id)
        if claim is None:
            return
        resolver = LeaseResolver(
            repo=self.repo,
            sender=self.sender,
            publisher=self.publisher,
            policy=self.policy,
            sender_address=self.brand.sender_address,
            now=self.now,
        )
        if resolver.resolve(claim) is None:
            logger.info("claim in flight", decision_id=decision_id)

    def _publish(self, decisions: Sequence[Decision]) -> None:
        entries = [announcement(d) for d in decisions]
        if entries:
            self.publisher.publish(entries)
